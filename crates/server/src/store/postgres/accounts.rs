//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Accounts;
use crate::store::Result;
use async_trait::async_trait;

#[async_trait]
impl Accounts for PgStore {
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()> {
        todo!("postgres")
    }
    async fn account_exists(&self, account: &AccountId) -> Result<bool> {
        todo!("postgres")
    }
    async fn insert_key(&self, key: &ApiKey) -> Result<()> {
        todo!("postgres")
    }
    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>> {
        todo!("postgres")
    }
    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        todo!("postgres")
    }
    async fn delete_key(&self, secret_id: &str) -> Result<bool> {
        todo!("postgres")
    }
    async fn insert_console_session(&self, session: &ConsoleSession, now: i64) -> Result<()> {
        todo!("postgres")
    }
    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>> {
        todo!("postgres")
    }
    async fn delete_console_session(&self, token_hash: &str) -> Result<bool> {
        todo!("postgres")
    }
}
