//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Policies;
use crate::store::Result;
use async_trait::async_trait;

#[async_trait]
impl Policies for PgStore {
    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_id: &str,
    ) -> Result<Vec<String>> {
        todo!("postgres")
    }
    async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        edit: &PolicyEdit,
        now: i64,
    ) -> Result<Option<PolicyChange>> {
        todo!("postgres")
    }
    async fn list_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> Result<(u64, Vec<PolicyEntry>)> {
        todo!("postgres")
    }
    async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_ids: &[String],
    ) -> Result<Vec<String>> {
        todo!("postgres")
    }
}
