//! The weekly partitions of `chunks` (by the absolute time of a chunk's first sample), so that
//! retention drops whole partitions instead of deleting rows, and a read of one part's chunks
//! visits the weeks of that part only.
//!
//! A partition is made before the transaction that inserts into it (the writer ensures the weeks of
//! a batch first): creating one locks `chunks`, which must not wait inside a batch holding row
//! locks. Nodes make them one at a time, under a transaction-scoped advisory lock, and `IF NOT
//! EXISTS` makes a week another node made a no-op.

use super::db;
use crate::store::Result;
use deadpool_postgres::GenericClient;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

/// A partition of `chunks` holds the chunks whose first sample lies in one week (UTC, from the
/// epoch): `chunks_w<week>`, `[week * WEEK, (week + 1) * WEEK)`.
pub const WEEK: i64 = 7 * 86_400;

/// The advisory lock under which partitions are made and dropped (any number that no other lock
/// of ours uses).
const PARTITION_LOCK: i64 = 0x7465_6c65_0100;

/// The week holding `t`.
pub fn week_of(t: i64) -> i64 {
    t.div_euclid(WEEK)
}

/// The partition of a week, quoted (weeks before the epoch are negative).
fn name(week: i64) -> String {
    format!("\"chunks_w{week}\"")
}

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
        let missing: BTreeSet<i64> = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            start_times
                .into_iter()
                .map(week_of)
                .filter(|w| !known.contains(w))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        // One simple query of several statements is one implicit transaction: the lock is held
        // until every partition is made, and a failure leaves no transaction open.
        let mut sql = format!("SELECT pg_advisory_xact_lock({PARTITION_LOCK});");
        for &week in &missing {
            let (from, to) = (
                week.saturating_mul(WEEK),
                week.saturating_add(1).saturating_mul(WEEK),
            );
            sql.push_str(&format!(
                " CREATE TABLE IF NOT EXISTS {} PARTITION OF chunks FOR VALUES FROM ({from}) TO ({to});",
                name(week)
            ));
        }
        c.batch_execute(&sql).await.map_err(db)?;
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(missing);
        Ok(())
    }

    /// Forgets that the week of `t` has a partition (an insert found none: another node dropped
    /// it), so that the next [`Partitions::ensure`] makes it again.
    pub fn forget(&self, t: i64) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&week_of(t));
    }

    /// Drops the partitions whose whole week ends before `before` (retention), and forgets them;
    /// returns their weeks.
    // Called by retention, which is not scheduled yet.
    #[allow(dead_code)]
    pub async fn drop_expired(&self, c: &impl GenericClient, before: i64) -> Result<Vec<i64>> {
        let expired = expired_weeks(c, before).await?;
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = format!("SELECT pg_advisory_xact_lock({PARTITION_LOCK});");
        for (_, week) in &expired {
            sql.push_str(&format!(" DROP TABLE IF EXISTS {};", name(*week)));
        }
        c.batch_execute(&sql).await.map_err(db)?;
        let weeks: Vec<i64> = expired.into_iter().map(|(_, week)| week).collect();
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        for week in &weeks {
            known.remove(week);
        }
        Ok(weeks)
    }
}

/// The partitions of `chunks` (in the schema the connection uses) whose whole week ends at or
/// before `before`: (name, week), oldest first.
pub(super) async fn expired_weeks(
    c: &impl GenericClient,
    before: i64,
) -> Result<Vec<(String, i64)>> {
    let st = c
        .prepare_cached(
            "SELECT child.relname::text FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
             WHERE i.inhparent = 'chunks'::regclass",
        )
        .await
        .map_err(db)?;
    let mut weeks: Vec<(String, i64)> = c
        .query(&st, &[])
        .await
        .map_err(db)?
        .iter()
        .filter_map(|r| {
            let relname: String = r.get(0);
            let week = relname.strip_prefix("chunks_w")?.parse().ok()?;
            Some((relname, week))
        })
        .filter(|(_, week): &(String, i64)| week.saturating_add(1).saturating_mul(WEEK) <= before)
        .collect();
    weeks.sort_by_key(|(_, week)| *week);
    Ok(weeks)
}
