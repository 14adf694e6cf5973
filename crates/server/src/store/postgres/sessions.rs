//! Sessions, parts and sample chunks in PostgreSQL: the append (run by the writer, many appends per
//! transaction) and the reads of the session actions, as in `sqlite/sessions.rs`.
//!
//! Layout (docs/storage.md, `schema.rs`): `sessions` one row per session, `parts` one row per device
//! of a session, `chunks` the encoded samples of a part, one row per accepted report until upkeep
//! merges them, partitioned by the week of their first sample (`partitions.rs`). A chunk starts
//! at its part's start plus its first offset, and offsets lie in [0, the part's last offset] (the
//! actions refuse others): every read of a part's chunks bounds `start_time` so ([`part_span`]),
//! and PostgreSQL reads only the partitions of the part's weeks.
//!
//! Several nodes append at once. A session (and a part) is made with `INSERT ... ON CONFLICT DO
//! NOTHING`: of two first reports on two nodes the unique key lets one insert, and the other
//! reads the row it made. An append locks its session row (`FOR UPDATE`) before it reads or
//! changes the session, its parts or its share of the rollups, so appends to one session take
//! turns, whichever node runs them.

use super::parts::after_part_end;
use super::sums::{share_of_session, Changes};
use super::{db, PgStore};
use crate::errors::StoreError;
use crate::model::quality::{parse_reasons, Grade};
use crate::model::sessions::{
    Append, AppendOutcome, AppendRejection, DeviceBadSessionsRow, FleetOverviewRow, PartMeta,
    PartRow, PartSamples, ReportContext, SessionFilter, SessionRow, SessionSamples,
};
use crate::model::{AccountId, DeviceType, Page};
use crate::store::codec::{self, Encoded};
use crate::store::sql::limit_offset;
use crate::store::{Devices, Result, Sessions};
use async_trait::async_trait;
use deadpool_postgres::{Client, GenericClient, Transaction};
use std::collections::{BTreeMap, HashSet};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row, Statement};

/// The columns of [`session_row`], as a literal for `concat!`.
macro_rules! session_cols {
    () => {
        "session_key, project_id, session_id, field_device_id, remote_device_id, start_time, \
         end_time, width, height, config_width, config_height, multi_mode, has_field_part, quality, \
         quality_final, reasons, live, last_update"
    };
}
pub(super) const SESSION_COLS: &str = session_cols!();

/// A row of [`SESSION_COLS`].
pub(super) fn session_row(r: &Row) -> Result<SessionRow> {
    Ok(SessionRow {
        session_key: r.get(0),
        project_id: r.get(1),
        session_id: r.get(2),
        field_device_id: r.get(3),
        remote_device_id: r.get(4),
        start_time: r.get(5),
        end_time: r.get(6),
        width: r.get(7),
        height: r.get(8),
        config_width: r.get(9),
        config_height: r.get(10),
        multi_mode: r.get(11),
        has_field_part: r.get(12),
        quality: grade_at(r, 13)?,
        quality_final: r.get(14),
        reasons: parse_reasons(r.get(15)),
        live: r.get(16),
        last_update: r.get(17),
    })
}

/// A stored grade (`good` until the session is first scored).
fn grade_at(r: &Row, i: usize) -> Result<Grade> {
    let g: &str = r.get(i);
    Grade::parse(g).ok_or_else(|| StoreError::Corrupt(format!("quality={g}")))
}

fn session_rows(rows: &[Row]) -> Result<Vec<SessionRow>> {
    rows.iter().map(session_row).collect()
}

const PART_COLS: &str =
    "part_key, device_id, device_type, start_time, ver, sdk_mode, width, height, config_width, \
     config_height, multi_mode, last_offset, samples, last_report, ended";

fn part_row(r: &Row) -> PartRow {
    PartRow {
        part_key: r.get(0),
        device_id: r.get(1),
        device_type: DeviceType::parse(r.get(2)).unwrap_or(DeviceType::Field),
        start_time: r.get(3),
        meta: PartMeta {
            ver: r.get(4),
            sdk_mode: r.get(5),
            width: r.get(6),
            height: r.get(7),
            config_width: r.get(8),
            config_height: r.get(9),
            multi_mode: r.get(10),
        },
        last_offset: r.get(11),
        samples: r.get(12),
        last_report: r.get(13),
        ended: r.get(14),
    }
}

/// The parts of a session, the field device's first.
async fn parts_of(
    c: &impl GenericClient,
    account_id: &str,
    session_key: i64,
) -> Result<Vec<PartRow>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT {PART_COLS} FROM parts WHERE account_id = $1 AND session_key = $2
             ORDER BY device_type = 'remote', part_key"
        ))
        .await
        .map_err(db)?;
    let rows = c
        .query(&st, &[&account_id, &session_key])
        .await
        .map_err(db)?;
    Ok(rows.iter().map(part_row).collect())
}

/// The start times of a part's chunks lie in this span, both ends included: the part's start plus
/// the offsets [0, `last_offset`] (empty while the part has no sample).
pub(super) fn part_span(start_time: i64, last_offset: i64) -> (i64, i64) {
    (start_time, start_time.saturating_add(last_offset))
}

/// The chunks of a part that start in `span` (both ends included; [`part_span`] for all of
/// them), in the order they were stored. The bounds are the partition key's: PostgreSQL reads only
/// the partitions of those weeks.
pub(super) async fn chunks_of(
    c: &impl GenericClient,
    account_id: &str,
    part_key: i64,
    (from, to): (i64, i64),
) -> Result<Vec<Vec<u8>>> {
    if from > to {
        return Ok(Vec::new());
    }
    let st = c
        .prepare_cached(
            "SELECT data FROM chunks
             WHERE account_id = $1 AND part_key = $2 AND start_time >= $3 AND start_time <= $4
             ORDER BY seq",
        )
        .await
        .map_err(db)?;
    let rows = c
        .query(&st, &[&account_id, &part_key, &from, &to])
        .await
        .map_err(db)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A chunk that does not decode: the store is damaged.
pub(super) fn corrupt_chunk(e: codec::CodecError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Begins a read-only transaction whose reads share one snapshot (`REPEATABLE READ`). Commit it
/// when done; dropped, it rolls back.
pub(super) async fn snapshot(c: &mut Client) -> Result<Transaction<'_>> {
    c.build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(db)
}

/// What one append came to inside the writer's transaction.
pub(super) enum Applied {
    /// Stored, or refused (then it changed nothing: a refusal is decided before any write).
    Answer(std::result::Result<AppendOutcome, AppendRejection>),
    /// Its chunk starts at this time, in a week without a partition (the part started in another
    /// week than the report says, or another node dropped the partition): the transaction is
    /// gone, the writer makes the partition and runs the batch again.
    NoPartition(i64),
}

/// The row `lock` finds (and locks), else the one `insert` (`ON CONFLICT DO NOTHING RETURNING`)
/// makes: `(row, true)` if it was made here. When the insert loses to a row made meanwhile, that
/// row is read (and locked) in turn.
async fn lock_or_insert(
    c: &impl GenericClient,
    (lock, key): (&Statement, &[&(dyn ToSql + Sync)]),
    (insert, values): (&Statement, &[&(dyn ToSql + Sync)]),
) -> Result<(Row, bool)> {
    // A row that conflicts and is then deleted (its project went) leaves both empty: try again.
    for _ in 0..3 {
        if let Some(row) = c.query_opt(lock, key).await.map_err(db)? {
            return Ok((row, false));
        }
        if let Some(row) = c.query_opt(insert, values).await.map_err(db)? {
            return Ok((row, true));
        }
    }
    Err(StoreError::Database(
        "a row was made and deleted again three times during one append".into(),
    ))
}

/// One append inside the writer's transaction; its changes to the rollups and
/// to its device's status go to `changes` and `statuses`, which the writer writes before it
/// commits. A refusal returns before the append changes or gathers anything.
pub(super) async fn apply(
    c: &impl GenericClient,
    a: &Append,
    e: &Encoded,
    (changes, statuses): (&mut Changes, &mut Statuses),
    day_offset: i64,
) -> Result<Applied> {
    let account = a.account.0.as_str();
    if a.joined_only && !has_joined(c, a).await? {
        return Ok(Applied::Answer(Err(AppendRejection::NotJoined)));
    }
    let (session_key, old_start) = match join_session(c, a).await? {
        Ok(Joined::Made(key)) => (key, None),
        Ok(Joined::Found { key, start_time }) => (key, Some(start_time)),
        Err(rejection) => return Ok(Applied::Answer(Err(rejection))),
    };
    // The session's share of the rollups before this append (none if it is new).
    let before = match old_start {
        Some(_) => share_of_session(c, account, session_key).await?,
        None => None,
    };
    let part = match join_part(c, a, e, session_key).await? {
        Ok(part) => part,
        Err(rejection) => return Ok(Applied::Answer(Err(rejection))),
    };
    if old_start.is_none() {
        changes.count_hour(account, &a.project_id, a.start_time, 1);
    }
    let (outcome, new_last) = match store_samples(c, a, e, &part).await? {
        Ok(stored) => stored,
        Err(start_time) => return Ok(Applied::NoPartition(start_time)),
    };
    let st = c
        .prepare_cached(
            "UPDATE parts SET last_offset = $3, samples = samples + $4,
               chunks = chunks + CASE WHEN $4 > 0 THEN 1 ELSE 0 END, last_report = $5, ended = $6
             WHERE account_id = $1 AND part_key = $2",
        )
        .await
        .map_err(db)?;
    let accepted = outcome.accepted as i64;
    c.execute(
        &st,
        &[&account, &part.key, &new_last, &accepted, &a.now, &a.last],
    )
    .await
    .map_err(db)?;

    // The session: span over its parts (docs/api.md §2.8), the field device's video, liveness.
    let part_end = part.start_time + new_last.max(0);
    if let Some(old) = old_start.filter(|old| {
        part.start_time < *old && part.start_time.div_euclid(3600) != old.div_euclid(3600)
    }) {
        changes.count_hour(account, &a.project_id, old, -1);
        changes.count_hour(account, &a.project_id, part.start_time, 1);
    }
    let st = c
        .prepare_cached(
            "UPDATE sessions SET start_time = LEAST(start_time, $3), end_time = GREATEST(end_time, $4),
               last_update = $5, quality_final = FALSE,
               live = EXISTS (SELECT 1 FROM parts WHERE account_id = $1 AND session_key = $2 AND NOT ended)
             WHERE account_id = $1 AND session_key = $2",
        )
        .await
        .map_err(db)?;
    c.execute(
        &st,
        &[&account, &session_key, &part.start_time, &part_end, &a.now],
    )
    .await
    .map_err(db)?;
    if a.device_type == DeviceType::Field {
        let m = &a.meta;
        let st = c
            .prepare_cached(
                "UPDATE sessions SET width = $3, height = $4, config_width = $5, config_height = $6,
                   multi_mode = $7, has_field_part = TRUE
                 WHERE account_id = $1 AND session_key = $2",
            )
            .await
            .map_err(db)?;
        c.execute(
            &st,
            &[
                &account,
                &session_key,
                &m.width,
                &m.height,
                &m.config_width,
                &m.config_height,
                &m.multi_mode,
            ],
        )
        .await
        .map_err(db)?;
    }

    changes
        .update(c, account, session_key, before, day_offset)
        .await?;
    if a.from_device {
        statuses.report(a, session_key);
    }
    Ok(Applied::Answer(Ok(outcome)))
}

/// Whether a `joined_only` append may go on: its device has a part in the session, which pairs it
/// with this peer in this project, and the peer is still a device of the other type there.
async fn has_joined(c: &impl GenericClient, a: &Append) -> Result<bool> {
    let (field_id, remote_id) = match a.device_type {
        DeviceType::Field => (&a.device_id, &a.peer_device_id),
        DeviceType::Remote => (&a.peer_device_id, &a.device_id),
    };
    let st = c
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sessions s JOIN parts p
                 ON p.account_id = s.account_id AND p.session_key = s.session_key
               WHERE s.account_id = $1 AND s.session_id = $2 AND s.project_id = $3
                 AND s.field_device_id = $4 AND s.remote_device_id = $5 AND p.device_type = $6)
             AND EXISTS (SELECT 1 FROM devices
               WHERE account_id = $1 AND project_id = $3 AND device_id = $7 AND device_type = $8)",
        )
        .await
        .map_err(db)?;
    let row = c
        .query_one(
            &st,
            &[
                &a.account.0,
                &a.session_id,
                &a.project_id,
                field_id,
                remote_id,
                &a.device_type.as_str(),
                &a.peer_device_id,
                &a.device_type.other().as_str(),
            ],
        )
        .await
        .map_err(db)?;
    Ok(row.get(0))
}

/// How an append found its session.
enum Joined {
    /// Made by this append: it starts at the append's start.
    Made(i64),
    /// There before, starting at `start_time`.
    Found { key: i64, start_time: i64 },
}

/// The append's session, locked: found, or made if it is the first report; refused if the
/// append breaks its invariants (another project, another device of this type, another peer).
async fn join_session(
    c: &impl GenericClient,
    a: &Append,
) -> Result<std::result::Result<Joined, AppendRejection>> {
    let (field_id, remote_id) = match a.device_type {
        DeviceType::Field => (a.device_id.as_str(), a.peer_device_id.as_str()),
        DeviceType::Remote => (a.peer_device_id.as_str(), a.device_id.as_str()),
    };
    let lock = c
        .prepare_cached(
            "SELECT session_key, project_id, field_device_id, remote_device_id, start_time
             FROM sessions WHERE account_id = $1 AND session_id = $2 FOR UPDATE",
        )
        .await
        .map_err(db)?;
    let insert = c
        .prepare_cached(
            "INSERT INTO sessions (account_id, project_id, session_id, field_device_id, remote_device_id,
               start_time, end_time, last_update) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (account_id, session_id) DO NOTHING
             RETURNING session_key, project_id, field_device_id, remote_device_id, start_time",
        )
        .await
        .map_err(db)?;
    let account = a.account.0.as_str();
    let values: [&(dyn ToSql + Sync); 7] = [
        &account,
        &a.project_id,
        &a.session_id,
        &field_id,
        &remote_id,
        &a.start_time,
        &a.now,
    ];
    let (row, made) =
        lock_or_insert(c, (&lock, &[&account, &a.session_id]), (&insert, &values)).await?;
    let key: i64 = row.get(0);
    if made {
        return Ok(Ok(Joined::Made(key)));
    }
    let (project, field, remote): (&str, String, String) = (row.get(1), row.get(2), row.get(3));
    if project != a.project_id {
        return Ok(Err(AppendRejection::SessionInOtherProject));
    }
    let (mine, other) = match a.device_type {
        DeviceType::Field => (field, remote),
        DeviceType::Remote => (remote, field),
    };
    if mine != a.device_id {
        return Ok(Err(AppendRejection::OtherDevice {
            device_type: a.device_type,
            existing: mine,
        }));
    }
    if other != a.peer_device_id {
        return Ok(Err(AppendRejection::PeerMismatch { expected: other }));
    }
    Ok(Ok(Joined::Found {
        key,
        start_time: row.get(4),
    }))
}

/// The device's part of a session, as an append finds it (locked).
struct Part {
    key: i64,
    start_time: i64,
    last_offset: i64,
}

/// The append's part of its session, locked: found, or made with the append's start and video;
/// refused if it has samples of another schema than the append's.
async fn join_part(
    c: &impl GenericClient,
    a: &Append,
    e: &Encoded,
    session_key: i64,
) -> Result<std::result::Result<Part, AppendRejection>> {
    let lock = c
        .prepare_cached(
            "SELECT part_key, schema, last_offset, samples, start_time FROM parts
             WHERE account_id = $1 AND session_key = $2 AND device_type = $3 FOR UPDATE",
        )
        .await
        .map_err(db)?;
    let insert = c
        .prepare_cached(
            "INSERT INTO parts (account_id, session_key, device_id, device_type, start_time, ver, sdk_mode,
               width, height, config_width, config_height, multi_mode, schema, last_report)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (account_id, session_key, device_type) DO NOTHING
             RETURNING part_key, schema, last_offset, samples, start_time",
        )
        .await
        .map_err(db)?;
    let (account, m, device_type) = (a.account.0.as_str(), &a.meta, a.device_type.as_str());
    let values: [&(dyn ToSql + Sync); 14] = [
        &account,
        &session_key,
        &a.device_id,
        &device_type,
        &a.start_time,
        &m.ver,
        &m.sdk_mode,
        &m.width,
        &m.height,
        &m.config_width,
        &m.config_height,
        &m.multi_mode,
        &e.schema,
        &a.now,
    ];
    let (row, _) = lock_or_insert(
        c,
        (&lock, &[&account, &session_key, &device_type]),
        (&insert, &values),
    )
    .await?;
    let part = Part {
        key: row.get(0),
        last_offset: row.get(2),
        start_time: row.get(4),
    };
    let (schema, samples): (String, i64) = (row.get(1), row.get(3));
    if !a.columns.is_empty() {
        if samples == 0 {
            let st = c
                .prepare_cached(
                    "UPDATE parts SET schema = $3 WHERE account_id = $1 AND part_key = $2",
                )
                .await
                .map_err(db)?;
            c.execute(&st, &[&account, &part.key, &e.schema])
                .await
                .map_err(db)?;
        } else if schema != e.schema {
            return Ok(Err(AppendRejection::SchemaMismatch {
                expected: schema,
                got: e.schema.clone(),
            }));
        }
    }
    Ok(Ok(part))
}

/// Stores the append's samples that the part does not have yet, as one chunk: what was accepted,
/// and the part's last offset after it. `Err(start time)` if the chunk's week has no partition
/// (the transaction is then gone).
async fn store_samples(
    c: &impl GenericClient,
    a: &Append,
    e: &Encoded,
    part: &Part,
) -> Result<std::result::Result<(AppendOutcome, i64), i64>> {
    let Some(&first) = a.columns.time_offset.first() else {
        return Ok(Ok((AppendOutcome::default(), part.last_offset)));
    };
    let account = a.account.0.as_str();
    let stored_span = part_span(part.start_time, part.last_offset);
    // Samples already stored are duplicates: only a batch reaching back to or before the part's
    // last offset needs the stored offsets (a retried or late batch).
    let fresh_blob;
    let (blob, accepted, chunk_first, max) = if first > part.last_offset {
        let max = *a.columns.time_offset.last().unwrap_or(&first);
        (&e.chunk, a.columns.len(), first, max)
    } else {
        let mut stored = HashSet::new();
        for chunk in chunks_of(c, account, part.key, stored_span).await? {
            stored.extend(codec::decode_offsets(&chunk).map_err(corrupt_chunk)?);
        }
        let fresh = a.columns.retain(|o| !stored.contains(&o));
        fresh_blob = codec::encode(&fresh);
        let (chunk_first, max) = match (fresh.time_offset.first(), fresh.time_offset.last()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => (first, part.last_offset),
        };
        (&fresh_blob, fresh.len(), chunk_first, max)
    };
    let outcome = AppendOutcome {
        accepted: accepted as u64,
        duplicates: (a.columns.len() - accepted) as u64,
    };
    if accepted == 0 {
        return Ok(Ok((outcome, part.last_offset)));
    }
    // The next seq after the part's chunks, read from the partitions of the part's weeks.
    let st = c
        .prepare_cached(
            "INSERT INTO chunks (account_id, part_key, seq, start_time, data)
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks
                              WHERE account_id = $1 AND part_key = $2
                                AND start_time >= $5 AND start_time <= $6), $3, $4)",
        )
        .await
        .map_err(db)?;
    let start = part.start_time + chunk_first;
    let inserted = c
        .execute(
            &st,
            &[
                &account,
                &part.key,
                &start,
                blob,
                &stored_span.0,
                &stored_span.1,
            ],
        )
        .await;
    match inserted {
        Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => Ok(Err(start)),
        Err(e) => Err(db(e)),
        Ok(_) => Ok(Ok((outcome, part.last_offset.max(max)))),
    }
}

/// What the live reports of one transaction do to their devices' status, gathered as its appends
/// go and written before it commits: device by device in key order, so that two writers lock
/// device rows in the same order (a remote device may be in several sessions at once), each
/// device's reports in the order they were applied.
#[derive(Default)]
pub(super) struct Statuses {
    /// Per device: each report's time, and its session if it ended the part.
    reports: BTreeMap<DeviceKey, Vec<(i64, Option<i64>)>>,
}

/// A device: account, project, device id.
type DeviceKey = (String, String, String);

impl Statuses {
    fn report(&mut self, a: &Append, session_key: i64) {
        let device = (
            a.account.0.clone(),
            a.project_id.clone(),
            a.device_id.clone(),
        );
        let ended = a.last.then_some(session_key);
        self.reports.entry(device).or_default().push((a.now, ended));
    }

    /// The device is connected while a part of it is open (a report is a heartbeat); after its
    /// part ended, as `after_part_end` says.
    pub(super) async fn write(self, c: &impl GenericClient) -> Result<()> {
        let st = c
            .prepare_cached(
                "UPDATE devices SET heartbeat_at = $4,
                   last_report_time = CASE WHEN status = 'connected' THEN last_report_time ELSE $4 END,
                   status = 'connected'
                 WHERE account_id = $1 AND project_id = $2 AND device_id = $3",
            )
            .await
            .map_err(db)?;
        for ((account, project_id, device_id), reports) in &self.reports {
            for &(now, ended) in reports {
                c.execute(&st, &[account, project_id, device_id, &now])
                    .await
                    .map_err(db)?;
                if let Some(session_key) = ended {
                    after_part_end(c, account, session_key, device_id, now, now).await?;
                }
            }
        }
        Ok(())
    }
}

/// Which session a read names: by id within an account (the session actions), or by key (upkeep).
pub(super) enum SessionRef<'a> {
    Id(&'a AccountId, &'a str),
    Key(i64),
}

/// A session with its parts and their samples in [from, to] (absolute times, each bound optional),
/// read in one snapshot and decoded here. By key, for upkeep's scoring.
pub(super) async fn session_samples(
    c: &mut Client,
    which: SessionRef<'_>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Option<SessionSamples>> {
    let tx = snapshot(c).await?;
    // The account last, after the columns of `session_row`.
    let found = match which {
        SessionRef::Id(account, session_id) => {
            let st = tx
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLS}, account_id FROM sessions WHERE account_id = $1 AND session_id = $2"
                ))
                .await
                .map_err(db)?;
            tx.query_opt(&st, &[&account.0, &session_id]).await
        }
        SessionRef::Key(key) => {
            let st = tx
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLS}, account_id FROM sessions WHERE session_key = $1"
                ))
                .await
                .map_err(db)?;
            tx.query_opt(&st, &[&key]).await
        }
    }
    .map_err(db)?;
    let Some(row) = found else {
        return Ok(None);
    };
    let session = session_row(&row)?;
    let account: &str = row.get(18);
    let mut parts = Vec::new();
    for part in parts_of(&tx, account, session.session_key).await? {
        let (start, end) = part_span(part.start_time, part.last_offset);
        // A chunk that starts after `to` holds nothing before it.
        let span = (start, to.map_or(end, |t| end.min(t)));
        let chunks = chunks_of(&tx, account, part.part_key, span).await?;
        let columns = codec::decode_all(&chunks).map_err(corrupt_chunk)?;
        let columns = if from.is_some() || to.is_some() {
            columns.retain(|o| {
                from.is_none_or(|f| start + o >= f) && to.is_none_or(|t| start + o <= t)
            })
        } else {
            columns
        };
        parts.push(PartSamples { part, columns });
    }
    tx.commit().await.map_err(db)?;
    Ok(Some(SessionSamples { session, parts }))
}

/// The whole list (no filter): the page is found from the per-hour counts, so the database steps
/// over at most one hour's sessions whatever the page number. The reads share one snapshot.
async fn list_all(
    c: &mut Client,
    account: &AccountId,
    project_id: &str,
    page: Page,
) -> Result<(u64, Vec<SessionRow>)> {
    let tx = snapshot(c).await?;
    let st = tx
        .prepare_cached(
            "SELECT hour, n FROM session_hours WHERE account_id = $1 AND project_id = $2 AND n > 0
             ORDER BY hour DESC",
        )
        .await
        .map_err(db)?;
    let counts: Vec<(i64, i64)> = tx
        .query(&st, &[&account.0, &project_id])
        .await
        .map_err(db)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let (limit, offset) = limit_offset(page);
    let mut skipped = 0i64;
    let Some(&(hour, _)) = counts.iter().find(|(_, n)| {
        let inside = skipped + n > offset;
        if !inside {
            skipped += n;
        }
        inside
    }) else {
        tx.commit().await.map_err(db)?;
        return Ok((total as u64, Vec::new()));
    };
    let st = tx
        .prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE account_id = $1 AND project_id = $2 AND start_time < $3
             ORDER BY start_time DESC, session_id LIMIT $4 OFFSET $5"
        ))
        .await
        .map_err(db)?;
    let rows = tx
        .query(
            &st,
            &[
                &account.0,
                &project_id,
                &((hour + 1) * 3600),
                &limit,
                &(offset - skipped),
            ],
        )
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((total as u64, session_rows(&rows)?))
}

/// An argument of a statement built here.
type Arg = Box<dyn ToSql + Sync + Send>;

/// The WHERE clauses of a filtered list, one per index range to read (two with a device filter),
/// and their arguments.
fn list_where(account: &AccountId, project_id: &str, f: &SessionFilter) -> (Vec<String>, Vec<Arg>) {
    // Time filters apply to every arm.
    let mut args: Vec<Arg> = vec![Box::new(account.0.clone()), Box::new(project_id.to_owned())];
    let mut extra = String::new();
    if let Some(from) = f.from {
        args.push(Box::new(from));
        let column = if f.by_start { "start_time" } else { "end_time" };
        extra.push_str(&format!(" AND {column} >= ${}", args.len()));
    }
    if let Some(to) = f.to {
        args.push(Box::new(to));
        extra.push_str(&format!(" AND start_time <= ${}", args.len()));
    }
    if let Some(since) = f.updated_since {
        args.push(Box::new(since));
        extra.push_str(&format!(" AND last_update >= ${}", args.len()));
    }
    // One grade is a range of `sessions_by_quality`, newest first like the plain list.
    if let Some(q) = f.quality {
        args.push(Box::new(q.as_str()));
        extra.push_str(&format!(" AND quality = ${}", args.len()));
    }
    // `reasons` is the scorer's JSON array of {device_type, grade, metric, text}: the metric is
    // matched exactly, as a JSON value, so `Lost` does not match `MultiNet.Lost` and no text can
    // pass for a metric. A good session has no reasons, so only the project's normal and bad
    // sessions are read (two ranges of `sessions_by_quality`).
    if let Some(metric) = &f.reason {
        args.push(Box::new(metric.clone()));
        extra.push_str(&format!(
            " AND quality IN ('normal', 'bad') AND EXISTS (SELECT 1 FROM jsonb_array_elements(reasons::jsonb) r
               WHERE r ->> 'metric' = ${})",
            args.len()
        ));
    }
    // Literal values, so that the live sessions are read from their partial index `sessions_live`.
    match f.live {
        None => {}
        Some(true) => extra.push_str(" AND live"),
        Some(false) => extra.push_str(" AND NOT live"),
    }
    let base = "account_id = $1 AND project_id = $2";
    // A device filter matches either end: two index ranges (the field one, and the remote one
    // without the sessions already in the first), never a scan of the project. The page merges
    // the two (in index order); the total adds the two counts.
    let arms = match &f.device_id {
        None => vec![format!("{base}{extra}")],
        Some(d) => {
            args.push(Box::new(d.clone()));
            let n = args.len();
            vec![
                format!("{base} AND field_device_id = ${n}{extra}"),
                format!("{base} AND remote_device_id = ${n} AND field_device_id <> ${n}{extra}"),
            ]
        }
    };
    (arms, args)
}

/// The count and the page (LIMIT and OFFSET the two arguments after the `n` of the WHERE clauses)
/// of a filtered list.
fn list_sql(arms: &[String], n: usize) -> (String, String) {
    let counts: Vec<String> = arms
        .iter()
        .map(|w| format!("(SELECT COUNT(*) FROM sessions WHERE {w})"))
        .collect();
    let selects: Vec<String> = arms
        .iter()
        .map(|w| format!("SELECT {SESSION_COLS} FROM sessions WHERE {w}"))
        .collect();
    (
        format!("SELECT {}", counts.join(" + ")),
        format!(
            "{} ORDER BY start_time DESC, session_id LIMIT ${} OFFSET ${}",
            selects.join(" UNION ALL "),
            n + 1,
            n + 2
        ),
    )
}

/// [`Sessions::list_sessions`]: the whole list from the hour counts, a filtered one by its WHERE
/// clauses; the count and the page share one snapshot.
async fn list(
    c: &mut Client,
    account: &AccountId,
    project_id: &str,
    f: &SessionFilter,
    page: Page,
) -> Result<(u64, Vec<SessionRow>)> {
    if f.device_id.is_none()
        && f.from.is_none()
        && f.to.is_none()
        && f.updated_since.is_none()
        && f.quality.is_none()
        && f.reason.is_none()
        && f.live.is_none()
    {
        return list_all(c, account, project_id, page).await;
    }
    let (arms, mut args) = list_where(account, project_id, f);
    let (count_sql, page_sql) = list_sql(&arms, args.len());
    let tx = snapshot(c).await?;
    let st = tx.prepare_cached(&count_sql).await.map_err(db)?;
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as _).collect();
    let total: i64 = tx.query_one(&st, &params).await.map_err(db)?.get(0);
    let (limit, offset) = limit_offset(page);
    args.push(Box::new(limit));
    args.push(Box::new(offset));
    let st = tx.prepare_cached(&page_sql).await.map_err(db)?;
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| &**a as _).collect();
    let rows = tx.query(&st, &params).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((total as u64, session_rows(&rows)?))
}

/// The grades, worst first, as stored.
const GRADES_WORST_FIRST: [Grade; 3] = [Grade::Bad, Grade::Normal, Grade::Good];

/// The fleet overview's reads. $1 account, $2 project, [$3, $4) the window of start times.
macro_rules! in_window {
    () => {
        "account_id = $1 AND project_id = $2 AND start_time >= $3 AND start_time < $4"
    };
}
/// $5 a grade.
const OVERVIEW_GRADE_COUNT: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND quality = $5"
);
/// $5 `normal` or `bad`, $6 how many.
const OVERVIEW_WORST: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE ",
    in_window!(),
    " AND quality = $5 ORDER BY jsonb_array_length(reasons::jsonb) DESC, start_time DESC, session_id LIMIT $6"
);
/// $5 `good`, $6 how many: a good session has no reasons, so newest first is the index's order.
const OVERVIEW_NEWEST: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE ",
    in_window!(),
    " AND quality = $5 ORDER BY start_time DESC, session_id LIMIT $6"
);
/// $5 how many: the devices of the bad sessions (either end), most bad sessions first.
const OVERVIEW_BAD_DEVICES: &str = concat!(
    "SELECT role, device_id, COUNT(*) AS bad FROM (
         SELECT 'field' AS role, field_device_id AS device_id FROM sessions WHERE ",
    in_window!(),
    " AND quality = 'bad'
         UNION ALL
         SELECT 'remote', remote_device_id FROM sessions WHERE ",
    in_window!(),
    " AND quality = 'bad') bad_ends
     GROUP BY role, device_id ORDER BY bad DESC, role, device_id LIMIT $5"
);
/// $5 a device: its sessions in the window.
const OVERVIEW_FIELD_SESSIONS: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND field_device_id = $5"
);
const OVERVIEW_REMOTE_SESSIONS: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND remote_device_id = $5"
);

/// The arguments of the window, then `more`.
fn with<'a>(
    window: &[&'a (dyn ToSql + Sync)],
    more: &[&'a (dyn ToSql + Sync)],
) -> Vec<&'a (dyn ToSql + Sync)> {
    window.iter().chain(more).copied().collect()
}

/// [`Sessions::fleet_overview`]: every read is an index range of the window's sessions of one
/// grade (`sessions_by_quality`), or of one device (`sessions_by_field`, `sessions_by_remote`);
/// only the bad and normal sessions of the window are sorted (by their number of reasons), the
/// good ones come in index order. The reads share one snapshot.
async fn overview(
    c: &mut Client,
    account: &AccountId,
    project_id: &str,
    (from, to): (i64, i64),
    limit: usize,
) -> Result<FleetOverviewRow> {
    let tx = snapshot(c).await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let window: [&(dyn ToSql + Sync); 4] = [&account.0, &project_id, &from, &to];
    let mut row = FleetOverviewRow::default();
    for grade in GRADES_WORST_FIRST {
        let g = grade.as_str();
        let st = tx.prepare_cached(OVERVIEW_GRADE_COUNT).await.map_err(db)?;
        let n: i64 = tx
            .query_one(&st, &with(&window, &[&g]))
            .await
            .map_err(db)?
            .get(0);
        match grade {
            Grade::Good => row.good = n as u64,
            Grade::Normal => row.normal = n as u64,
            Grade::Bad => row.bad = n as u64,
        }
        let wanted = limit - row.worst.len() as i64;
        if wanted <= 0 || n == 0 {
            continue;
        }
        let sql = match grade {
            Grade::Good => OVERVIEW_NEWEST,
            Grade::Normal | Grade::Bad => OVERVIEW_WORST,
        };
        let st = tx.prepare_cached(sql).await.map_err(db)?;
        let rows = tx
            .query(&st, &with(&window, &[&g, &wanted]))
            .await
            .map_err(db)?;
        row.worst.extend(session_rows(&rows)?);
    }
    if row.bad > 0 {
        let st = tx.prepare_cached(OVERVIEW_BAD_DEVICES).await.map_err(db)?;
        let bad = tx.query(&st, &with(&window, &[&limit])).await.map_err(db)?;
        for r in bad {
            let (role, device_id, bad_sessions): (&str, String, i64) =
                (r.get(0), r.get(1), r.get(2));
            let (device_type, sql) = match role {
                "field" => (DeviceType::Field, OVERVIEW_FIELD_SESSIONS),
                _ => (DeviceType::Remote, OVERVIEW_REMOTE_SESSIONS),
            };
            let st = tx.prepare_cached(sql).await.map_err(db)?;
            let sessions: i64 = tx
                .query_one(&st, &with(&window, &[&device_id]))
                .await
                .map_err(db)?
                .get(0);
            row.devices.push(DeviceBadSessionsRow {
                device_id,
                device_type,
                bad_sessions: bad_sessions as u64,
                sessions: sessions as u64,
            });
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(row)
}

#[async_trait]
impl Sessions for PgStore {
    async fn report_context(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        peer_device_id: &str,
        session_id: &str,
    ) -> Result<ReportContext> {
        let c = self.conn().await?;
        let st = c
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sessions s JOIN parts p
                   ON p.account_id = s.account_id AND p.session_key = s.session_key
                 WHERE s.account_id = $1 AND s.session_id = $2 AND p.device_id = $3)",
            )
            .await
            .map_err(db)?;
        let joined = c
            .query_one(&st, &[&account.0, &session_id, &device_id])
            .await
            .map_err(db)?
            .get(0);
        // The peer as `Devices::device` reads it, on a connection of its own.
        drop(c);
        Ok(ReportContext {
            peer: self.device(account, project_id, peer_device_id).await?,
            joined,
        })
    }

    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
        let encoded = Encoded::of(&append.columns, append.from_device);
        self.writer.append(append, encoded).await
    }

    async fn session_samples(
        &self,
        account: &AccountId,
        session_id: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Option<SessionSamples>> {
        let mut c = self.conn().await?;
        session_samples(&mut c, SessionRef::Id(account, session_id), from, to).await
    }

    async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>)> {
        let mut c = self.conn().await?;
        list(&mut c, account, project_id, filter, page).await
    }

    async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<FleetOverviewRow> {
        let mut c = self.conn().await?;
        overview(&mut c, account, project_id, window, limit).await
    }
}
