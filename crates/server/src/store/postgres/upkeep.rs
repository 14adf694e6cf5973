//! Upkeep: idle timeouts, heartbeat expiry, compaction and scoring, one round a second on every
//! node; and retention, which drops old samples a week at a time.
//!
//! Each kind of work is done by one node at a time: its transaction takes the kind's advisory lock
//! (`pg_try_advisory_xact_lock`, released with the transaction), and a node that does not get it
//! leaves the work to the node that has it and answers that it did nothing. Scoring is the
//! exception: the domain scores between `sessions_to_score` and `save_quality`, longer than any
//! transaction of ours, and scoring a session twice gives the same grade; so every node lists.

use super::parts::after_part_end;
use super::sessions::{corrupt_chunk, session_samples, SessionRef};
use super::{db, partitions, sums, PgStore};
use crate::errors::StoreError;
use crate::model::quality::Assessment;
use crate::model::sessions::SessionSamples;
use crate::store::upkeep::{chunks_to_merge, COMPACT_LIVE_CHUNKS, PROVISIONAL_EVERY};
use crate::store::{codec, Result, Upkeep};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object, Transaction};
use tokio_postgres::error::SqlState;

/// The advisory locks of the kinds of upkeep (numbers no other lock of ours uses).
const IDLE_PARTS_LOCK: i64 = 0x7465_6c65_0101;
const HEARTBEATS_LOCK: i64 = 0x7465_6c65_0102;
const COMPACTION_LOCK: i64 = 0x7465_6c65_0103;
const RETENTION_LOCK: i64 = 0x7465_6c65_0104;

/// Look-ups the upkeep makes every second, across accounts (each reads a partial index:
/// `sessions_unscored`, `devices_ready`, `parts_open`, `parts_to_compact`).
mod upkeep_sql {
    pub const SESSIONS_TO_SCORE: &str = "SELECT session_key FROM sessions
         WHERE NOT quality_final AND (NOT live OR scored_at <= last_update - $2)
         ORDER BY session_key LIMIT $1";
    pub const EXPIRE_HEARTBEATS: &str =
        "UPDATE devices SET status = 'offline', last_report_time = $2
         WHERE status = 'ready' AND heartbeat_at < $1";
    /// Ends the open parts without a report since $1, each once however many nodes try.
    pub const END_IDLE_PARTS: &str = "UPDATE parts SET ended = TRUE
         WHERE NOT ended AND last_report < $1
         RETURNING account_id, session_key, device_id";
    /// Parts worth compacting: ended with several chunks, or live with many.
    pub const PARTS_TO_COMPACT: &str = "SELECT account_id, part_key FROM parts
         WHERE chunks > 1 AND (ended OR chunks >= $1) ORDER BY part_key LIMIT $2";
}

/// Begins a transaction holding the advisory lock `lock`; `None` if another node holds it.
async fn locked(c: &mut Object, lock: i64) -> Result<Option<Transaction<'_>>> {
    let tx = c.transaction().await.map_err(db)?;
    let st = tx
        .prepare_cached("SELECT pg_try_advisory_xact_lock($1)")
        .await
        .map_err(db)?;
    let granted: bool = tx.query_one(&st, &[&lock]).await.map_err(db)?.get(0);
    Ok(granted.then_some(tx))
}

#[async_trait]
impl Upkeep for PgStore {
    async fn end_idle_parts(&self, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64> {
        let mut c = self.conn().await?;
        let Some(tx) = locked(&mut c, IDLE_PARTS_LOCK).await? else {
            return Ok(0);
        };
        let st = tx
            .prepare_cached(upkeep_sql::END_IDLE_PARTS)
            .await
            .map_err(db)?;
        let ended = tx.query(&st, &[&cutoff]).await.map_err(db)?;
        for part in &ended {
            after_part_end(
                &tx,
                part.get(0),
                part.get(1),
                part.get(2),
                heartbeat_cutoff,
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(ended.len() as u64)
    }

    async fn expire_heartbeats(&self, cutoff: i64, now: i64) -> Result<u64> {
        let mut c = self.conn().await?;
        let Some(tx) = locked(&mut c, HEARTBEATS_LOCK).await? else {
            return Ok(0);
        };
        let st = tx
            .prepare_cached(upkeep_sql::EXPIRE_HEARTBEATS)
            .await
            .map_err(db)?;
        let n = tx.execute(&st, &[&cutoff, &now]).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(n)
    }

    async fn compact_parts(&self, limit: u32) -> Result<u64> {
        let mut c = self.conn().await?;
        let st = c
            .prepare_cached(upkeep_sql::PARTS_TO_COMPACT)
            .await
            .map_err(db)?;
        let parts = c
            .query(&st, &[&COMPACT_LIVE_CHUNKS, &i64::from(limit)])
            .await
            .map_err(db)?;
        let mut done = 0;
        for part in &parts {
            if !compact_part(&mut c, part.get(0), part.get(1)).await? {
                break; // another node compacts
            }
            done += 1;
        }
        Ok(done)
    }

    async fn sessions_to_score(&self, limit: u32) -> Result<Vec<i64>> {
        let c = self.conn().await?;
        let st = c
            .prepare_cached(upkeep_sql::SESSIONS_TO_SCORE)
            .await
            .map_err(db)?;
        let rows = c
            .query(&st, &[&i64::from(limit), &PROVISIONAL_EVERY])
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn session_to_score(&self, session_key: i64) -> Result<Option<SessionSamples>> {
        let mut c = self.conn().await?;
        session_samples(&mut c, SessionRef::Key(session_key), None, None).await
    }

    async fn save_quality(
        &self,
        key: i64,
        assessment: &Assessment,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()> {
        let grade = assessment.grade.as_str();
        let reasons = serde_json::to_string(&assessment.reasons)
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The session's row, locked first: its share of the rollups cannot change between the
        // reading of it and the change.
        let st = tx
            .prepare_cached("SELECT account_id FROM sessions WHERE session_key = $1 FOR UPDATE")
            .await
            .map_err(db)?;
        let Some(row) = tx.query_opt(&st, &[&key]).await.map_err(db)? else {
            return Ok(()); // deleted meanwhile
        };
        let account: &str = row.get(0);
        let before = sums::share_of_session(&tx, account, key).await?;
        // A session that got new samples while it was being scored stays unfinal.
        let st = tx
            .prepare_cached(
                "UPDATE sessions SET quality = $3, reasons = $4, scored_at = $6,
                   quality_final = ($5 AND NOT live AND last_update <= $6)
                 WHERE account_id = $1 AND session_key = $2",
            )
            .await
            .map_err(db)?;
        tx.execute(
            &st,
            &[&account, &key, &grade, &reasons, &is_final, &scored_at],
        )
        .await
        .map_err(db)?;
        sums::update(&tx, account, key, before, self.day_offset).await?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn drop_samples_before(&self, before: i64) -> Result<u64> {
        let mut c = self.conn().await?;
        let Some(tx) = locked(&mut c, RETENTION_LOCK).await? else {
            return Ok(0);
        };
        match self.partitions.drop_expired(&tx, before).await {
            Ok(dropped) => {
                tx.commit().await.map_err(db)?;
                Ok(dropped)
            }
            // Readers or writers of old chunks held on: the next run drops them.
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Ok(0),
            Err(e) => Err(db(e)),
        }
    }
}

/// Merges some of one part's chunks ([`chunks_to_merge`]) in a transaction of its own, which holds
/// the compaction lock: appends to the part wait for one merge's writes at most. False (and
/// nothing done) if another node holds the lock. Chunks appended meanwhile have higher seqs and
/// stay; samples never repeat across chunks, so the order of chunks does not matter to reads.
async fn compact_part(c: &mut Object, account_id: &str, part_key: i64) -> Result<bool> {
    let Some(tx) = locked(c, COMPACTION_LOCK).await? else {
        return Ok(false);
    };
    partitions::writing_chunks(&tx).await?;
    let st = tx
        .prepare_cached(
            "SELECT ended, start_time, start_time + last_offset FROM parts
             WHERE account_id = $1 AND part_key = $2",
        )
        .await
        .map_err(db)?;
    let Some(part) = tx
        .query_opt(&st, &[&account_id, &part_key])
        .await
        .map_err(db)?
    else {
        return Ok(true); // deleted meanwhile
    };
    let (ended, first, last): (bool, i64, i64) = (part.get(0), part.get(1), part.get(2));
    let st = tx
        .prepare_cached(&format!(
            "SELECT seq, octet_length(data)::BIGINT, start_time FROM chunks
             WHERE {OF_PART} ORDER BY seq"
        ))
        .await
        .map_err(db)?;
    let rows = tx
        .query(&st, &[&account_id, &part_key, &first, &last])
        .await
        .map_err(db)?;
    let sizes: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let chosen = chunks_to_merge(&sizes, ended);
    let (Some(&(first_seq, _)), Some(&(last_seq, _))) = (chosen.first(), chosen.last()) else {
        return Ok(true);
    };
    if chosen.len() < 2 {
        return Ok(true);
    }
    // The merge starts at the first sample of the chunks it merges: in the partition of the
    // earliest of them, which exists (this transaction read from it).
    let start_time = rows[sizes.len() - chosen.len()..]
        .iter()
        .map(|r| r.get::<_, i64>(2))
        .min()
        .unwrap_or(first);
    let in_range = format!("{OF_PART} AND seq >= $5 AND seq <= $6");
    let st = tx
        .prepare_cached(&format!(
            "SELECT data FROM chunks WHERE {in_range} ORDER BY seq"
        ))
        .await
        .map_err(db)?;
    let blobs: Vec<Vec<u8>> = tx
        .query(
            &st,
            &[&account_id, &part_key, &first, &last, &first_seq, &last_seq],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let merged = codec::decode_all(&blobs).map_err(corrupt_chunk)?;
    // A live part's merge will be merged again (docs/storage.md): the quick effort; an ended
    // part's is final: the smallest.
    let blob = if ended {
        codec::encode(&merged)
    } else {
        codec::encode_with(&merged, codec::Effort::Quick)
    };
    let st = tx
        .prepare_cached(&format!("DELETE FROM chunks WHERE {in_range}"))
        .await
        .map_err(db)?;
    let deleted = tx
        .execute(
            &st,
            &[&account_id, &part_key, &first, &last, &first_seq, &last_seq],
        )
        .await
        .map_err(db)?;
    if deleted != blobs.len() as u64 {
        return Ok(true); // the part went meanwhile (its project was deleted): roll back
    }
    let st = tx
        .prepare_cached(
            "INSERT INTO chunks (account_id, part_key, seq, start_time, data)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await
        .map_err(db)?;
    tx.execute(
        &st,
        &[&account_id, &part_key, &last_seq, &start_time, &blob],
    )
    .await
    .map_err(db)?;
    let st = tx
        .prepare_cached(
            "UPDATE parts SET chunks = chunks - $3 + 1 WHERE account_id = $1 AND part_key = $2",
        )
        .await
        .map_err(db)?;
    tx.execute(&st, &[&account_id, &part_key, &(deleted as i64)])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}

/// The chunks of the part $2 of the account $1, whose first samples lie in [$3, $4] (the part's
/// start and last sample): the bounds of `start_time` let PostgreSQL read only the partitions of
/// the part's weeks.
const OF_PART: &str = "account_id = $1 AND part_key = $2 AND start_time >= $3 AND start_time <= $4";
