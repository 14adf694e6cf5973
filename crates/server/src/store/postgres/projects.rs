//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Projects;
use crate::store::Result;
use async_trait::async_trait;

#[async_trait]
impl Projects for PgStore {
    async fn insert_project(&self, project: &Project) -> Result<()> {
        todo!("postgres")
    }
    async fn project(&self, account: &AccountId, project_id: &str) -> Result<Option<Project>> {
        todo!("postgres")
    }
    async fn list_projects(&self, account: &AccountId, page: Page) -> Result<(u64, Vec<Project>)> {
        todo!("postgres")
    }
    async fn update_project(
        &self,
        account: &AccountId,
        project_id: &str,
        changes: &ProjectChanges,
        now: i64,
    ) -> Result<bool> {
        todo!("postgres")
    }
    async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: &SecMode,
        now: i64,
    ) -> Result<bool> {
        todo!("postgres")
    }
    async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        callback: &Callback,
        now: i64,
    ) -> Result<bool> {
        todo!("postgres")
    }
    async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool> {
        todo!("postgres")
    }
    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>> {
        todo!("postgres")
    }
}
