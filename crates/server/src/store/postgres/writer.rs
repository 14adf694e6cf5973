//! TODO(pg): implement group commit.
#![allow(unused_variables, dead_code)]
use super::partitions::Partitions;
use crate::model::sessions::{Append, AppendOutcome, AppendRejection};
use crate::store::Result;
use deadpool_postgres::Pool;

/// Connections the writer commits batches on, in parallel.
pub const WRITERS: usize = 4;

type Reply = std::result::Result<AppendOutcome, AppendRejection>;

pub struct Writer {}

impl Writer {
    pub fn start(pool: Pool, partitions: Partitions) -> Writer {
        Writer {}
    }

    pub async fn append(&self, append: Append) -> Result<Reply> {
        todo!("postgres")
    }
}
