//! The weekly partitions of `chunks` (by the absolute time of a chunk's first sample), so that
//! retention drops whole partitions instead of deleting rows, and a read of one part's chunks
//! visits the weeks of that part only.
//!
//! A partition is made before the transaction that inserts into it (the writer ensures the weeks of
//! a batch first), under an advisory lock held exclusively; every transaction that writes chunks
//! holds the same lock shared ([`writing_chunks`]). Creating (or dropping) a partition locks
//! `chunks` and, for the foreign key, `parts`: without the lock, a creation holding `chunks` and
//! waiting for `parts` deadlocks with a batch holding `parts` and waiting for `chunks` (seen with
//! eight importers of old weeks). With it, a creation waits for the batches in flight and the next
//! ones wait for it, which costs the writers a pause only when a new week begins. `IF NOT EXISTS`
//! makes a week another node made a no-op.

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

/// Taken first by every transaction that writes chunks: partitions are not made or dropped
/// while it runs.
pub async fn writing_chunks(tx: &impl GenericClient) -> Result<()> {
    let st = tx
        .prepare_cached("SELECT pg_advisory_xact_lock_shared($1)")
        .await
        .map_err(db)?;
    tx.execute(&st, &[&PARTITION_LOCK]).await.map_err(db)?;
    Ok(())
}

/// Weeks made beyond a missing one, at once.
const AHEAD: i64 = 4;

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
        // A missing week comes with the weeks after it ([`AHEAD`]): making partitions waits for
        // the batches in flight, so it should happen once a month, not once a week (nor 52 times
        // while a year of history is imported).
        let missing: BTreeSet<i64> = {
            let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
            start_times
                .into_iter()
                .map(week_of)
                .filter(|w| !known.contains(w))
                .flat_map(|w| (0..=AHEAD).map(move |k| w.saturating_add(k)))
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

    /// Forgets that a week has a partition (dropped; or an insert found none: another node
    /// dropped it), so that the next [`Partitions::ensure`] of it makes it again.
    pub fn forget(&self, week: i64) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&week);
    }

    /// Retention, inside the caller's transaction: drops the partitions whose whole week ends at
    /// or before `before`, first taking their chunks off the counts of their parts (which stay),
    /// and forgets them; returns how many. Waits at most a few seconds for each partition's lock
    /// (`lock_timeout`, error `LOCK_NOT_AVAILABLE`): readers and writers of `chunks` must not
    /// queue behind a drop for long.
    pub async fn drop_expired(
        &self,
        tx: &impl GenericClient,
        before: i64,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '5s'; SELECT pg_advisory_xact_lock({PARTITION_LOCK});"
        ))
        .await?;
        let mut dropped = 0;
        for week in expired_weeks(tx, before).await? {
            let table = name(week);
            tx.batch_execute(&format!(
                "UPDATE parts p SET chunks = p.chunks - d.n
                 FROM (SELECT account_id, part_key, COUNT(*) AS n FROM {table}
                       GROUP BY account_id, part_key) d
                 WHERE p.account_id = d.account_id AND p.part_key = d.part_key;
                 DROP TABLE {table};"
            ))
            .await?;
            self.forget(week);
            dropped += 1;
        }
        Ok(dropped)
    }
}

/// The weeks of the partitions of `chunks` (in the schema the connection uses) that end at or
/// before `before`, oldest first.
async fn expired_weeks(
    c: &impl GenericClient,
    before: i64,
) -> std::result::Result<Vec<i64>, tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "SELECT child.relname::text FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
             WHERE i.inhparent = 'chunks'::regclass",
        )
        .await?;
    let mut weeks: Vec<i64> = c
        .query(&st, &[])
        .await?
        .iter()
        .filter_map(|r| r.get::<_, &str>(0).strip_prefix("chunks_w")?.parse().ok())
        .filter(|week: &i64| week.saturating_add(1).saturating_mul(WEEK) <= before)
        .collect();
    weeks.sort_unstable();
    Ok(weeks)
}
