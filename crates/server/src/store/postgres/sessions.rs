//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Result;
use crate::store::Sessions;
use async_trait::async_trait;

#[async_trait]
impl Sessions for PgStore {
    async fn report_context(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        peer_device_id: &str,
        session_id: &str,
    ) -> Result<ReportContext> {
        todo!("postgres")
    }
    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
        todo!("postgres")
    }
    async fn session_samples(
        &self,
        account: &AccountId,
        session_id: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Option<SessionSamples>> {
        todo!("postgres")
    }
    async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>)> {
        todo!("postgres")
    }
    async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<FleetOverviewRow> {
        todo!("postgres")
    }
}
