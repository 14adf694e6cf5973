//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Result;
use crate::store::Upkeep;
use async_trait::async_trait;

#[async_trait]
impl Upkeep for PgStore {
    async fn end_idle_parts(&self, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64> {
        todo!("postgres")
    }
    async fn expire_heartbeats(&self, cutoff: i64, now: i64) -> Result<u64> {
        todo!("postgres")
    }
    async fn compact_parts(&self, limit: u32) -> Result<u64> {
        todo!("postgres")
    }
    async fn sessions_to_score(&self, limit: u32) -> Result<Vec<i64>> {
        todo!("postgres")
    }
    async fn session_to_score(&self, session_key: i64) -> Result<Option<SessionSamples>> {
        todo!("postgres")
    }
    async fn save_quality(
        &self,
        session_key: i64,
        assessment: &Assessment,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()> {
        todo!("postgres")
    }
}
