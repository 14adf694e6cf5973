//! Upkeep: idle timeouts, heartbeat expiry, compaction and scoring, one round a second; and
//! retention, which drops old samples.

use super::schema::REPORT_BUCKET;
use super::sessions::{
    after_part_end, corrupt_chunk, session_samples, share_of_session, SessionRef,
};
use super::{db, rollup, SqliteStore};
use crate::model::quality::Assessment;
use crate::model::sessions::SessionSamples;
use crate::store::upkeep::{chunks_to_merge, PROVISIONAL_EVERY};
use crate::store::{codec, Result, Upkeep};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection};

/// Look-ups the upkeep makes every second (each reads an index: tested below, with those of
/// `sessions.rs`).
mod upkeep_sql {
    pub const SESSIONS_TO_SCORE: &str = "SELECT session_key FROM sessions
         WHERE quality_final = 0 AND (live = 0 OR scored_at <= last_update - ?2) ORDER BY session_key LIMIT ?1";
    pub const EXPIRE_HEARTBEATS: &str =
        "UPDATE devices SET status = 'offline', last_report_time = ?2
         WHERE status = 'ready' AND heartbeat_at < ?1";
}

#[async_trait]
impl Upkeep for SqliteStore {
    async fn end_idle_parts(&self, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64> {
        let mut ended = 0;
        loop {
            let n = self
                .write(move |tx| end_idle_parts(tx, cutoff, heartbeat_cutoff, now))
                .await?;
            ended += n;
            if n < IDLE_BATCH as u64 {
                return Ok(ended);
            }
        }
    }

    async fn expire_heartbeats(&self, cutoff: i64, now: i64) -> Result<u64> {
        self.write(move |tx| {
            let n = tx
                .execute(upkeep_sql::EXPIRE_HEARTBEATS, params![cutoff, now])
                .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }

    async fn compact_parts(&self, limit: u32) -> Result<u64> {
        let parts = self.run(move |c| parts_to_compact(c, limit)).await?;
        for part in &parts {
            let part = *part;
            // Decode, merge and encode without the write lock; then swap in a short transaction.
            if let Some(merge) = self.run(move |c| prepare_compaction(c, part)).await? {
                self.write(move |tx| apply_compaction(tx, part, &merge))
                    .await?;
            }
        }
        // Give back free pages to the file system: what merged chunks freed, and what rows that
        // moved or shrank left behind (a no-op without auto_vacuum). Reading the count is free.
        // A write: on the writer, as every write.
        self.write(|c| {
            let free: i64 = c
                .query_row("PRAGMA freelist_count", [], |r| r.get(0))
                .map_err(db)?;
            if free > 0 {
                // Stepped to the end: each step of this pragma frees one page (`execute_batch`
                // steps once).
                let mut st = c.prepare("PRAGMA incremental_vacuum(2000)").map_err(db)?;
                let mut rows = st.query([]).map_err(db)?;
                while rows.next().map_err(db)?.is_some() {}
            }
            Ok(())
        })
        .await?;
        Ok(parts.len() as u64)
    }

    async fn sessions_to_score(&self, limit: u32) -> Result<Vec<i64>> {
        self.run(move |c| {
            let mut s = c
                .prepare_cached(upkeep_sql::SESSIONS_TO_SCORE)
                .map_err(db)?;
            let rows = s
                .query_map(params![limit, PROVISIONAL_EVERY], |r| r.get(0))
                .map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<i64>>>().map_err(db)
        })
        .await
    }

    async fn session_to_score(&self, session_key: i64) -> Result<Option<SessionSamples>> {
        self.run(move |c| session_samples(c, SessionRef::Key(session_key), None, None))
            .await
    }

    async fn save_quality(
        &self,
        key: i64,
        assessment: &Assessment,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()> {
        let g = assessment.grade.as_str();
        let r = serde_json::to_string(&assessment.reasons).map_err(db)?;
        self.write(move |tx| {
            let before = share_of_session(tx, key)?;
            // A session that got new samples while it was being scored stays unfinal.
            // The indexed columns (quality; quality_final, which `sessions_unscored` filters on) only
            // where they change: see `sessions::apply`.
            tx.execute(
                "UPDATE sessions SET reasons = ?2, scored_at = ?3 WHERE session_key = ?1",
                params![key, r, scored_at],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE sessions SET quality = ?2 WHERE session_key = ?1 AND quality != ?2",
                params![key, g],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE sessions SET quality_final = f.v
                 FROM (SELECT CASE WHEN ?2 AND live = 0 AND last_update <= ?3 THEN 1 ELSE 0 END AS v
                       FROM sessions WHERE session_key = ?1) AS f
                 WHERE session_key = ?1 AND quality_final != f.v",
                params![key, is_final, scored_at],
            )
            .map_err(db)?;
            rollup::update(tx, key, before)
        })
        .await
    }

    async fn drop_samples_before(&self, before: i64) -> Result<u64> {
        // A batch of parts per write transaction: ingest waits for one batch at most.
        let (mut dropped, mut after) = (0, i64::MIN);
        loop {
            let (n, last) = self
                .write(move |tx| drop_samples(tx, before, after))
                .await?;
            dropped += n;
            match last {
                Some(key) => after = key,
                None => return Ok(dropped),
            }
        }
    }
}

/// Parts worth compacting (the partial index `parts_to_compact` holds those with several chunks).
/// Its condition is the index's (schema migration 10), with `COMPACT_LIVE_CHUNKS` written out (a
/// test below holds them together).
pub const PARTS_TO_COMPACT: &str =
    "SELECT part_key FROM parts WHERE (chunks >= 64 OR (ended = 1 AND chunks > 1)) ORDER BY part_key LIMIT ?1";

/// Open parts without a report since `?1`.
/// (`?3`: the bucket of `?1`, which bounds the index range read.)
pub const IDLE_PARTS: &str = "SELECT part_key, session_key, device_id FROM parts
     WHERE ended = 0 AND report_bucket <= ?3 AND last_report < ?1 LIMIT ?2";

/// Parts ended in one write: a fleet going idle at once (a network outage) must not hold the writer,
/// and the reports queued behind it, for long.
const IDLE_BATCH: i64 = 200;

pub fn parts_to_compact(c: &Connection, limit: u32) -> Result<Vec<i64>> {
    let mut s = c.prepare_cached(PARTS_TO_COMPACT).map_err(db)?;
    let rows = s.query_map(params![limit], |r| r.get(0)).map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<i64>>>().map_err(db)
}

/// A merge of some of a part's chunks, prepared off the write lock: the chunks `first_seq ..=
/// last_seq` (`count` of them) become `blob`.
pub struct Compaction {
    pub first_seq: i64,
    pub last_seq: i64,
    pub count: i64,
    pub blob: Vec<u8>,
}

pub fn prepare_compaction(c: &Connection, part_key: i64) -> Result<Option<Compaction>> {
    let ended: bool = c
        .query_row(
            "SELECT ended FROM parts WHERE part_key = ?1",
            [part_key],
            |r| r.get(0),
        )
        .map_err(db)?;
    let sizes: Vec<(i64, i64)> = {
        let mut s = c
            .prepare_cached("SELECT seq, length(data) FROM chunks WHERE part_key = ?1 ORDER BY seq")
            .map_err(db)?;
        let rows = s
            .query_map([part_key], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let chosen = chunks_to_merge(&sizes, ended);
    let (Some(first), Some(last)) = (chosen.first(), chosen.last()) else {
        return Ok(None);
    };
    if chosen.len() < 2 {
        return Ok(None);
    }
    let blobs: Vec<Vec<u8>> = {
        let mut s = c
            .prepare_cached(
                "SELECT data FROM chunks WHERE part_key = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq",
            )
            .map_err(db)?;
        let rows = s
            .query_map(params![part_key, first.0, last.0], |r| r.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let merged = codec::decode_all(&blobs).map_err(corrupt_chunk)?;
    Ok(Some(Compaction {
        first_seq: first.0,
        last_seq: last.0,
        count: blobs.len() as i64,
        // A live part's merge will be merged again (docs/storage.md): the quick effort; an ended
        // part's is final: the smallest.
        blob: if ended {
            codec::encode(&merged)
        } else {
            codec::encode_with(&merged, codec::Effort::Quick)
        },
    }))
}

/// Swaps the merged chunks for their merge (inside a short write transaction), unless they changed
/// meanwhile. Chunks appended meanwhile have higher seqs and stay; samples never repeat across
/// chunks, so the order of chunks does not matter to reads.
pub fn apply_compaction(c: &Connection, part_key: i64, m: &Compaction) -> Result<()> {
    let present: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM chunks WHERE part_key = ?1 AND seq >= ?2 AND seq <= ?3",
            params![part_key, m.first_seq, m.last_seq],
            |r| r.get(0),
        )
        .map_err(db)?;
    if present != m.count {
        return Ok(()); // compacted by someone else meanwhile: try again next time
    }
    c.execute(
        "DELETE FROM chunks WHERE part_key = ?1 AND seq >= ?2 AND seq <= ?3",
        params![part_key, m.first_seq, m.last_seq],
    )
    .map_err(db)?;
    c.execute(
        "INSERT INTO chunks (part_key, seq, data) VALUES (?1, ?2, ?3)",
        params![part_key, m.last_seq, m.blob],
    )
    .map_err(db)?;
    c.execute(
        "UPDATE parts SET chunks = chunks - ?2 + 1 WHERE part_key = ?1",
        params![part_key, m.count],
    )
    .map_err(db)?;
    Ok(())
}

/// The next parts, by key after `?1`, with chunks and whose last sample lies before `?2`; at most
/// `?3`. One pass over the parts in all, a batch at a time.
pub const PARTS_TO_EXPIRE: &str = "SELECT part_key FROM parts
     WHERE part_key > ?1 AND chunks > 0 AND start_time + last_offset < ?2 ORDER BY part_key LIMIT ?3";

/// Parts whose chunks go in one transaction of [`drop_samples`].
const EXPIRE_BATCH: i64 = 500;

/// Deletes the chunks of the next batch of parts (by key after `after`) whose last sample lies
/// before `before`; the parts stay, with no chunk. Returns how many chunks went, and the batch's
/// last part (`None` when none was left).
fn drop_samples(c: &Connection, before: i64, after: i64) -> Result<(u64, Option<i64>)> {
    let parts: Vec<i64> = {
        let mut s = c.prepare_cached(PARTS_TO_EXPIRE).map_err(db)?;
        let rows = s
            .query_map(params![after, before, EXPIRE_BATCH], |r| r.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let mut dropped = 0;
    for part in &parts {
        dropped += c
            .prepare_cached("DELETE FROM chunks WHERE part_key = ?1")
            .and_then(|mut s| s.execute([part]))
            .map_err(db)? as u64;
        c.prepare_cached("UPDATE parts SET chunks = 0 WHERE part_key = ?1")
            .and_then(|mut s| s.execute([part]))
            .map_err(db)?;
    }
    Ok((dropped, parts.last().copied()))
}

/// Ends at most [`IDLE_BATCH`] of the parts idle since `cutoff`.
pub fn end_idle_parts(c: &Connection, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64> {
    let idle: Vec<(i64, i64, String)> = {
        let mut s = c.prepare_cached(IDLE_PARTS).map_err(db)?;
        let rows = s
            .query_map(
                params![cutoff, IDLE_BATCH, cutoff.div_euclid(REPORT_BUCKET)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?
    };
    for (part, session, device) in &idle {
        c.execute("UPDATE parts SET ended = 1 WHERE part_key = ?1", [part])
            .map_err(db)?;
        after_part_end(c, *session, device, heartbeat_cutoff, now)?;
    }
    Ok(idle.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compaction_candidates_are_those_of_the_shared_policy() {
        use crate::store::upkeep::COMPACT_LIVE_CHUNKS;
        assert!(PARTS_TO_COMPACT.contains(&format!("chunks >= {COMPACT_LIVE_CHUNKS}")));
    }

    /// The upkeep runs every second on stores of millions of sessions and parts: each of its
    /// look-ups reads an index range, never a whole table.
    #[test]
    fn upkeep_lookups_read_indexes_not_whole_tables() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        for sql in [
            upkeep_sql::SESSIONS_TO_SCORE,
            upkeep_sql::EXPIRE_HEARTBEATS,
            IDLE_PARTS,
            PARTS_TO_COMPACT,
            PARTS_TO_EXPIRE,
        ] {
            let mut s = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Parameters left unbound (NULL): the plan does not depend on them.
            let mut rows = s.raw_query();
            let mut plan: Vec<String> = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                plan.push(r.get(3).unwrap());
            }
            assert!(
                plan.iter()
                    .all(|step| !step.starts_with("SCAN") || step.contains("INDEX")),
                "{sql}: {plan:?}"
            );
        }
    }
}
