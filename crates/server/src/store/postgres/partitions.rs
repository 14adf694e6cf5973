//! TODO(pg): weekly partitions of `chunks`.
#![allow(unused_variables, dead_code)]
use crate::store::Result;
use deadpool_postgres::GenericClient;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A partition of `chunks` holds the chunks whose first sample lies in one week (UTC, from the
/// epoch): `chunks_w<week>`, `[week * WEEK, (week + 1) * WEEK)`.
pub const WEEK: i64 = 7 * 86_400;

/// The weeks whose partition this process knows to exist.
#[derive(Clone, Default)]
pub struct Partitions {
    known: Arc<Mutex<HashSet<i64>>>,
}

impl Partitions {
    /// Makes sure the partitions for chunks starting at these times exist (creating the missing
    /// ones, safely when several nodes do it at once). Run outside the transaction that inserts.
    pub async fn ensure(
        &self,
        c: &impl GenericClient,
        start_times: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        todo!("postgres")
    }
}
