//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::sessions::SessionFacts;
use crate::model::usage::{Grain, Totals};
use crate::model::AccountId;
use crate::store::{Result, Rollups};
use async_trait::async_trait;
use tokio_postgres::Client;

/// Records the UTC offset whose local days the rollups count, recounting them if it changed;
/// true if it did.
pub async fn set_day_offset(c: &mut Client, offset: i64) -> Result<bool> {
    todo!("postgres")
}

#[async_trait]
impl Rollups for PgStore {
    async fn session_facts(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionFacts>> {
        todo!("postgres")
    }
    async fn session_totals(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>> {
        todo!("postgres")
    }
    async fn active_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<(i64, i64)>> {
        todo!("postgres")
    }
    async fn session_spans(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        grain: Grain,
        limit: usize,
    ) -> Result<Vec<(i64, i64)>> {
        todo!("postgres")
    }
}
