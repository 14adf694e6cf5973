//! Sessions, parts and sample chunks in SQLite: the append transaction (run by the writer, many
//! appends per commit), the reads of the session actions, and the upkeep of idle parts and heartbeats.
//!
//! Layout (docs/storage.md): `sessions` one row per session, `parts` one row per device of a session,
//! `chunks` the encoded samples of a part, one row per accepted report, keyed (part_key, seq) in a
//! WITHOUT ROWID table so the key is the only index.

use super::devices::{device_by, device_status_sql};
use super::schema::REPORT_BUCKET;
use super::{corrupt, db, rollup, SqliteStore};
use crate::errors::StoreError;
use crate::model::quality::{parse_reasons, Grade};
use crate::model::sessions::{
    Append, AppendOutcome, AppendRejection, DeviceBadSessionsRow, FleetOverviewRow, PartMeta,
    PartRow, PartSamples, ReportContext, SessionFacts, SessionFilter, SessionRow, SessionSamples,
};
use crate::model::usage::Totals;
use crate::model::{AccountId, DeviceType, Page};
use crate::store::codec::{self, Encoded};
use crate::store::{Result, Sessions};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension, Row};
use std::collections::HashSet;

/// The columns of [`session_row`], as a literal for `concat!`.
macro_rules! session_cols {
    () => {
        "session_key, project_id, session_id, field_device_id, remote_device_id, start_time, \
         end_time, width, height, config_width, config_height, multi_mode, has_field_part, quality, \
         quality_final, reasons, live, last_update"
    };
}
pub const SESSION_COLS: &str = session_cols!();

pub fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        session_key: r.get(0)?,
        project_id: r.get(1)?,
        session_id: r.get(2)?,
        field_device_id: r.get(3)?,
        remote_device_id: r.get(4)?,
        start_time: r.get(5)?,
        end_time: r.get(6)?,
        width: r.get(7)?,
        height: r.get(8)?,
        config_width: r.get(9)?,
        config_height: r.get(10)?,
        multi_mode: r.get(11)?,
        has_field_part: r.get(12)?,
        quality: grade_at(r, 13)?,
        quality_final: r.get(14)?,
        reasons: parse_reasons(&r.get::<_, String>(15)?),
        live: r.get(16)?,
        last_update: r.get(17)?,
    })
}

/// A stored grade (`good` until the session is first scored).
fn grade_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Grade> {
    let g: String = r.get(i)?;
    Grade::parse(&g).ok_or_else(|| corrupt("quality", &g))
}

const PART_COLS: &str =
    "part_key, device_id, device_type, start_time, ver, sdk_mode, width, height, config_width, \
     config_height, multi_mode, last_offset, samples, last_report, ended";

fn part_row(r: &Row<'_>) -> rusqlite::Result<PartRow> {
    let ty: String = r.get(2)?;
    Ok(PartRow {
        part_key: r.get(0)?,
        device_id: r.get(1)?,
        device_type: DeviceType::parse(&ty).unwrap_or(DeviceType::Field),
        start_time: r.get(3)?,
        meta: PartMeta {
            ver: r.get(4)?,
            sdk_mode: r.get(5)?,
            width: r.get(6)?,
            height: r.get(7)?,
            config_width: r.get(8)?,
            config_height: r.get(9)?,
            multi_mode: r.get(10)?,
        },
        last_offset: r.get(11)?,
        samples: r.get(12)?,
        last_report: r.get(13)?,
        ended: r.get(14)?,
    })
}

pub fn parts_of(c: &Connection, session_key: i64) -> Result<Vec<PartRow>> {
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {PART_COLS} FROM parts WHERE session_key = ?1 ORDER BY device_type = 'remote', part_key"
        ))
        .map_err(db)?;
    let rows = s.query_map([session_key], part_row).map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
}

pub fn chunks_of(c: &Connection, part_key: i64) -> Result<Vec<Vec<u8>>> {
    let mut s = c
        .prepare_cached("SELECT data FROM chunks WHERE part_key = ?1 ORDER BY seq")
        .map_err(db)?;
    let rows = s.query_map([part_key], |r| r.get(0)).map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<Vec<u8>>>>().map_err(db)
}

/// After a part ended: the session is live while any part is open; a device with no open part is
/// `ready` if its heartbeat is fresh, else `offline`.
pub fn after_part_end(
    c: &Connection,
    session_key: i64,
    device_id: &str,
    heartbeat_cutoff: i64,
    now: i64,
) -> Result<()> {
    // Only where it changes (`apply` says why).
    c.prepare_cached(
        "UPDATE sessions SET live = l.open
         FROM (SELECT EXISTS (SELECT 1 FROM parts WHERE session_key = ?1 AND ended = 0) AS open) AS l
         WHERE session_key = ?1 AND live != l.open",
    )
    .and_then(|mut s| s.execute([session_key]))
    .map_err(db)?;
    c.prepare_cached(&format!(
        "UPDATE devices SET status = CASE WHEN heartbeat_at >= ?3 THEN 'ready' ELSE 'offline' END, last_report_time = ?4
         WHERE project_id = (SELECT project_id FROM sessions WHERE session_key = ?1) AND device_id = ?2
           AND status = 'connected' AND NOT ({})",
        device_status_sql::HAS_OPEN_PART
    ))
    .and_then(|mut s| s.execute(params![session_key, device_id, heartbeat_cutoff, now]))
    .map_err(db)?;
    Ok(())
}

/// Keeps `session_hours` (sessions by start hour) in step with the sessions.
fn count_hour(c: &Connection, a: &Append, start_time: i64, delta: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO session_hours (project_id, account_id, hour, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (project_id, hour) DO UPDATE SET n = n + excluded.n",
    )
    .and_then(|mut s| {
        s.execute(params![
            a.project_id,
            a.account.0,
            start_time.div_euclid(3600),
            delta
        ])
    })
    .map_err(db)?;
    Ok(())
}

/// Seconds a connected device's heartbeat may lag its latest report.
const HEARTBEAT_REFRESH: i64 = 10;

/// Whether a `joined_only` append's peer is still a device of the other type in its project (the
/// rest of "joined" is read by `apply` anyway: the session's devices and the device's part).
fn peer_is_there(c: &Connection, a: &Append) -> Result<bool> {
    c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM devices
           WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3 AND device_type = ?4)",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                a.project_id,
                a.peer_device_id,
                a.account.0,
                a.device_type.other().as_str()
            ],
            |r| r.get(0),
        )
    })
    .map_err(db)
}

/// One append inside the writer's transaction, in no savepoint of its own: every refusal is decided
/// before the first write (and must stay so; the conformance suite's rejection contracts check that a
/// refusal stores nothing).
pub fn apply(
    c: &Connection,
    a: &Append,
    e: &Encoded,
) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
    let (field_id, remote_id) = match a.device_type {
        DeviceType::Field => (a.device_id.as_str(), a.peer_device_id.as_str()),
        DeviceType::Remote => (a.peer_device_id.as_str(), a.device_id.as_str()),
    };
    let existing: Option<(i64, String, String, String, i64)> = c
        .prepare_cached(
            "SELECT session_key, project_id, field_device_id, remote_device_id, start_time FROM sessions
             WHERE account_id = ?1 AND session_id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![a.account.0, a.session_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(db)?;
    // A `joined_only` append: the session must pair this device with this peer in this project
    // (its part is checked below), else it is refused before anything is written.
    let joined_session = matches!(&existing, Some((_, project, field, remote, _))
        if *project == a.project_id && field == field_id && remote == remote_id);
    if a.joined_only && !joined_session {
        return Ok(Err(AppendRejection::NotJoined));
    }
    let mut old_start = None;
    let mut before = None;
    let session_key = match existing {
        None => {
            count_hour(c, a, a.start_time, 1)?;
            c.prepare_cached(
                "INSERT INTO sessions (account_id, project_id, session_id, field_device_id, remote_device_id,
                 start_time, end_time, last_update) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![a.account.0, a.project_id, a.session_id, field_id, remote_id, a.start_time, a.now])
            })
            .map_err(db)?;
            c.last_insert_rowid()
        }
        Some((key, project, field, remote, start)) => {
            old_start = Some(start);
            before = share_of_session(c, key)?;
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
            key
        }
    };

    let part: Option<(i64, String, i64, i64, i64)> = c
        .prepare_cached(
            "SELECT part_key, schema, last_offset, samples, start_time FROM parts
             WHERE session_key = ?1 AND device_type = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![session_key, a.device_type.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(db)?;
    if a.joined_only && (part.is_none() || !peer_is_there(c, a)?) {
        return Ok(Err(AppendRejection::NotJoined));
    }
    let m = &a.meta;
    let (part_key, last_offset, part_start) = match part {
        None => {
            c.prepare_cached(
                "INSERT INTO parts (session_key, device_id, device_type, start_time, ver, sdk_mode, width, height,
                 config_width, config_height, multi_mode, schema, last_report, report_bucket)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    session_key, a.device_id, a.device_type.as_str(), a.start_time, m.ver, m.sdk_mode, m.width,
                    m.height, m.config_width, m.config_height, m.multi_mode, e.schema, a.now,
                    a.now.div_euclid(REPORT_BUCKET)
                ])
            })
            .map_err(db)?;
            (c.last_insert_rowid(), -1, a.start_time)
        }
        Some((key, schema, last, samples, start)) => {
            if !a.columns.is_empty() {
                if samples == 0 {
                    c.execute(
                        "UPDATE parts SET schema = ?2 WHERE part_key = ?1",
                        params![key, e.schema],
                    )
                    .map_err(db)?;
                } else if schema != e.schema {
                    return Ok(Err(AppendRejection::SchemaMismatch {
                        expected: schema,
                        got: e.schema.clone(),
                    }));
                }
            }
            (key, last, start)
        }
    };

    // Samples already stored are duplicates: only a batch reaching back to or before the part's
    // last offset needs the stored offsets (a retried or late batch).
    let mut outcome = AppendOutcome::default();
    let mut new_last = last_offset;
    if !a.columns.is_empty() {
        let first = a.columns.time_offset[0];
        let fresh_blob;
        let (blob, accepted, max) = if first > last_offset {
            (
                &e.chunk,
                a.columns.len(),
                *a.columns.time_offset.last().unwrap_or(&first),
            )
        } else {
            let mut stored = HashSet::new();
            for chunk in chunks_of(c, part_key)? {
                stored.extend(codec::decode_offsets(&chunk).map_err(corrupt_chunk)?);
            }
            let fresh = a.columns.retain(|o| !stored.contains(&o));
            fresh_blob = codec::encode(&fresh);
            let max = fresh.time_offset.last().copied().unwrap_or(last_offset);
            (&fresh_blob, fresh.len(), max)
        };
        outcome.accepted = accepted as u64;
        outcome.duplicates = (a.columns.len() - accepted) as u64;
        if accepted > 0 {
            c.prepare_cached(
                "INSERT INTO chunks (part_key, seq, data)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM chunks WHERE part_key = ?1), ?2)",
            )
            .and_then(|mut s| s.execute(params![part_key, blob]))
            .map_err(db)?;
            new_last = new_last.max(max);
        }
    }
    // SQLite rewrites the entries of every index whose columns an UPDATE assigns, whether or not the
    // value changes (the WAL showed each report rewriting every index of its session): columns that
    // indexes cover are assigned only by statements whose WHERE says they change.
    c.prepare_cached(
        "UPDATE parts SET last_offset = ?2, samples = samples + ?3, chunks = chunks + (?3 > 0), last_report = ?4
         WHERE part_key = ?1",
    )
    .and_then(|mut s| s.execute(params![part_key, new_last, outcome.accepted as i64, a.now]))
    .map_err(db)?;
    c.prepare_cached(
        "UPDATE parts SET ended = ?2, report_bucket = ?3
         WHERE part_key = ?1 AND (ended != ?2 OR report_bucket != ?3)",
    )
    .and_then(|mut s| s.execute(params![part_key, a.last, a.now.div_euclid(REPORT_BUCKET)]))
    .map_err(db)?;

    // The session: span over its parts (docs/api.md §2.8), the field device's video, liveness.
    let part_end = part_start + new_last.max(0);
    if let Some(old) = old_start.filter(|old| part_start < *old && part_start / 3600 != old / 3600)
    {
        count_hour(c, a, old, -1)?;
        count_hour(c, a, part_start, 1)?;
    }
    // What no index covers, in one statement for both devices: the field device's also sets the
    // video (?4). Then what indexes cover, only where it changes: an earlier start, liveness, and
    // the grade becoming provisional again.
    c.prepare_cached(
        "UPDATE sessions SET end_time = MAX(end_time, ?2), last_update = ?3,
         width = CASE WHEN ?4 THEN ?5 ELSE width END, height = CASE WHEN ?4 THEN ?6 ELSE height END,
         config_width = CASE WHEN ?4 THEN ?7 ELSE config_width END,
         config_height = CASE WHEN ?4 THEN ?8 ELSE config_height END,
         multi_mode = CASE WHEN ?4 THEN ?9 ELSE multi_mode END, has_field_part = has_field_part OR ?4
         WHERE session_key = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            session_key,
            part_end,
            a.now,
            a.device_type == DeviceType::Field,
            m.width,
            m.height,
            m.config_width,
            m.config_height,
            m.multi_mode
        ])
    })
    .map_err(db)?;
    c.prepare_cached(
        "UPDATE sessions SET start_time = ?2 WHERE session_key = ?1 AND start_time > ?2",
    )
    .and_then(|mut s| s.execute(params![session_key, part_start]))
    .map_err(db)?;
    c.prepare_cached(
        "UPDATE sessions SET live = l.open, quality_final = 0
         FROM (SELECT EXISTS (SELECT 1 FROM parts WHERE session_key = ?1 AND ended = 0) AS open) AS l
         WHERE session_key = ?1 AND (live != l.open OR quality_final != 0)",
    )
    .and_then(|mut s| s.execute(params![session_key]))
    .map_err(db)?;

    rollup::update(c, session_key, before)?;
    if !a.from_device {
        return Ok(Ok(outcome));
    }
    // The device is connected while a part of it is open. Its row is written only when that
    // changes, or to refresh its heartbeat every HEARTBEAT_REFRESH seconds (what reads it needs
    // no finer: a part ends after `idle_timeout`, a heartbeat lasts `heartbeat_timeout`), or on its
    // last report (which reads the heartbeat just written): a page less to write per report.
    c.prepare_cached(
        "UPDATE devices SET heartbeat_at = ?3,
           last_report_time = CASE WHEN status = 'connected' THEN last_report_time ELSE ?3 END,
           status = 'connected'
         WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?4
           AND (status != 'connected' OR heartbeat_at < ?3 - ?5 OR ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            a.project_id,
            a.device_id,
            a.now,
            a.account.0,
            HEARTBEAT_REFRESH,
            a.last
        ])
    })
    .map_err(db)?;
    if a.last {
        after_part_end(c, session_key, &a.device_id, a.now, a.now)?;
    }
    Ok(Ok(outcome))
}

/// Which session a read names: by id within an account (the session actions), or by key (upkeep).
pub enum SessionRef<'a> {
    Id(&'a AccountId, &'a str),
    Key(i64),
}

/// A session with its parts and their samples in [from, to] (absolute times, each bound optional),
/// read in one snapshot and decoded here.
pub fn session_samples(
    c: &Connection,
    which: SessionRef<'_>,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Option<SessionSamples>> {
    in_one_snapshot(c, || {
        let row = match which {
            SessionRef::Id(account, session_id) => c
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE account_id = ?1 AND session_id = ?2"
                ))
                .and_then(|mut s| {
                    s.query_row(params![account.0, session_id], session_row)
                        .optional()
                }),
            SessionRef::Key(key) => c
                .prepare_cached(&format!(
                    "SELECT {SESSION_COLS} FROM sessions WHERE session_key = ?1"
                ))
                .and_then(|mut s| s.query_row([key], session_row).optional()),
        }
        .map_err(db)?;
        let Some(session) = row else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        for part in parts_of(c, session.session_key)? {
            let chunks = chunks_of(c, part.part_key)?;
            let columns = codec::decode_all(&chunks).map_err(corrupt_chunk)?;
            let start = part.start_time;
            let columns = if from.is_some() || to.is_some() {
                columns.retain(|o| {
                    from.is_none_or(|f| start + o >= f) && to.is_none_or(|t| start + o <= t)
                })
            } else {
                columns
            };
            parts.push(PartSamples { part, columns });
        }
        Ok(Some(SessionSamples { session, parts }))
    })
}

/// A chunk that does not decode: the store is damaged.
pub fn corrupt_chunk(e: codec::CodecError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The whole list (no filter): the page is found from the per-hour counts, so the database steps over
/// at most one hour's sessions whatever the page number. The reads share one snapshot.
fn list_all(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    page: Page,
) -> Result<(u64, Vec<SessionRow>)> {
    in_one_snapshot(c, || {
        let mut hours = c
            .prepare_cached(
                "SELECT hour, n FROM session_hours WHERE project_id = ?1 AND account_id = ?2 AND n > 0
                 ORDER BY hour DESC",
            )
            .map_err(db)?;
        let counts: Vec<(i64, i64)> = hours
            .query_map(params![project_id, account.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?;
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        let mut skipped = 0i64;
        let offset = page.offset() as i64;
        let Some(&(hour, _)) = counts.iter().find(|(_, n)| {
            let inside = skipped + n > offset;
            if !inside {
                skipped += n;
            }
            inside
        }) else {
            return Ok((total as u64, Vec::new()));
        };
        let mut s = c
            .prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE project_id = ?1 AND account_id = ?2 AND start_time < ?3
                 ORDER BY start_time DESC, session_id LIMIT ?4 OFFSET ?5"
            ))
            .map_err(db)?;
        let rows = s
            .query_map(
                params![
                    project_id,
                    account.0,
                    (hour + 1) * 3600,
                    page.size as i64,
                    offset - skipped
                ],
                session_row,
            )
            .map_err(db)?;
        Ok((
            total as u64,
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?,
        ))
    })
}

/// Runs `reads` in one read transaction, so that they share one snapshot; the transaction ends
/// however `reads` does (a pooled connection must not go back to the pool still in a transaction,
/// which would pin an old snapshot and hold back checkpoints).
fn in_one_snapshot<T>(c: &Connection, reads: impl FnOnce() -> Result<T>) -> Result<T> {
    let tx = c.unchecked_transaction().map_err(db)?;
    let result = reads()?;
    tx.commit().map_err(db)?;
    Ok(result)
}

/// The WHERE clauses of a filtered list, one per index range to read (two with a device filter),
/// and their arguments.
fn list_where(
    account: &AccountId,
    project_id: &str,
    f: &SessionFilter,
) -> (Vec<String>, Vec<rusqlite::types::Value>) {
    // Time filters apply to every arm.
    let mut args: Vec<rusqlite::types::Value> =
        vec![project_id.to_owned().into(), account.0.clone().into()];
    let mut extra = String::new();
    if let Some(from) = f.from {
        args.push(from.into());
        let column = if f.by_start { "start_time" } else { "end_time" };
        extra.push_str(&format!(" AND {column} >= ?{}", args.len()));
    }
    if let Some(to) = f.to {
        args.push(to.into());
        extra.push_str(&format!(" AND start_time <= ?{}", args.len()));
    }
    if let Some(since) = f.updated_since {
        args.push(since.into());
        extra.push_str(&format!(" AND last_update >= ?{}", args.len()));
    }
    // One grade is a range of `sessions_by_quality`, newest first like the plain list.
    if let Some(q) = f.quality {
        args.push(q.as_str().to_owned().into());
        extra.push_str(&format!(" AND quality = ?{}", args.len()));
    }
    // `reasons` is the scorer's JSON array of {device_type, grade, metric, text}: the metric is
    // matched exactly, as a JSON value, so `Lost` does not match `MultiNet.Lost` and no text can
    // pass for a metric. A good session has no reasons, so only the project's normal and bad
    // sessions are read (two ranges of `sessions_by_quality`).
    if let Some(metric) = &f.reason {
        args.push(metric.clone().into());
        extra.push_str(&format!(
            " AND quality IN ('normal', 'bad') AND EXISTS (SELECT 1 FROM json_each(reasons) WHERE value ->> 'metric' = ?{})",
            args.len()
        ));
    }
    // Literal values, so that the live sessions are read from their partial index `sessions_live`.
    match f.live {
        None => {}
        Some(true) => extra.push_str(" AND live = 1"),
        Some(false) => extra.push_str(" AND live = 0"),
    }
    let base = "project_id = ?1 AND account_id = ?2";
    // A device filter matches either end: two index ranges (the field one, and the remote one
    // without the sessions already in the first), never a scan of the project. The page is their
    // compound SELECT, which SQLite merges in index order (no sort of the device's sessions); the
    // total adds the two counts.
    let arms = match &f.device_id {
        None => vec![format!("{base}{extra}")],
        Some(d) => {
            args.push(d.clone().into());
            let n = args.len();
            vec![
                format!("{base} AND field_device_id = ?{n}{extra}"),
                format!("{base} AND remote_device_id = ?{n} AND field_device_id != ?{n}{extra}"),
            ]
        }
    };
    (arms, args)
}

/// The count and the page (session keys; LIMIT and OFFSET the two arguments after the `n` of
/// the WHERE clauses) of a filtered list.
fn list_sql(arms: &[String], n: usize) -> (String, String) {
    let counts: Vec<String> = arms
        .iter()
        .map(|w| format!("(SELECT COUNT(*) FROM sessions WHERE {w})"))
        .collect();
    let selects: Vec<String> = arms
        .iter()
        .map(|w| format!("SELECT session_key, start_time, session_id FROM sessions WHERE {w}"))
        .collect();
    (
        format!("SELECT {}", counts.join(" + ")),
        format!(
            "{} ORDER BY start_time DESC, session_id LIMIT ?{} OFFSET ?{}",
            selects.join(" UNION ALL "),
            n + 1,
            n + 2
        ),
    )
}

pub fn list(
    c: &Connection,
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
        return list_all(c, account, project_id, page);
    }
    let (arms, mut args) = list_where(account, project_id, f);
    let (count_sql, page_sql) = list_sql(&arms, args.len());
    let total: i64 = c
        .prepare_cached(&count_sql)
        .and_then(|mut s| s.query_row(rusqlite::params_from_iter(&args), |r| r.get(0)))
        .map_err(db)?;
    args.push((page.size as i64).into());
    args.push((page.offset() as i64).into());
    let page_keys: Vec<i64> = {
        let mut s = c.prepare_cached(&page_sql).map_err(db)?;
        let rows = s
            .query_map(rusqlite::params_from_iter(&args), |r| r.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    let mut rows = Vec::with_capacity(page_keys.len());
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE session_key = ?1"
        ))
        .map_err(db)?;
    for key in page_keys {
        rows.push(s.query_row([key], session_row).map_err(db)?);
    }
    Ok((total as u64, rows))
}

/// The grades, worst first, as stored.
const GRADES_WORST_FIRST: [Grade; 3] = [Grade::Bad, Grade::Normal, Grade::Good];

/// The fleet overview's reads. ?1 project, ?2 account, [?3, ?4) the window of start times.
macro_rules! in_window {
    () => {
        "project_id = ?1 AND account_id = ?2 AND start_time >= ?3 AND start_time < ?4"
    };
}
/// ?5 a grade.
const OVERVIEW_GRADE_COUNT: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND quality = ?5"
);
/// ?5 `normal` or `bad`, ?6 how many.
const OVERVIEW_WORST: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE ",
    in_window!(),
    " AND quality = ?5 ORDER BY json_array_length(reasons) DESC, start_time DESC, session_id LIMIT ?6"
);
/// ?5 `good`, ?6 how many: a good session has no reasons, so newest first is the index's order.
const OVERVIEW_NEWEST: &str = concat!(
    "SELECT ",
    session_cols!(),
    " FROM sessions WHERE ",
    in_window!(),
    " AND quality = ?5 ORDER BY start_time DESC, session_id LIMIT ?6"
);
/// ?5 how many: the devices of the bad sessions (either end), most bad sessions first.
const OVERVIEW_BAD_DEVICES: &str = concat!(
    "SELECT role, device_id, COUNT(*) AS bad FROM (
         SELECT 'field' AS role, field_device_id AS device_id FROM sessions WHERE ",
    in_window!(),
    " AND quality = 'bad'
         UNION ALL
         SELECT 'remote', remote_device_id FROM sessions WHERE ",
    in_window!(),
    " AND quality = 'bad')
     GROUP BY role, device_id ORDER BY bad DESC, role, device_id LIMIT ?5"
);
/// ?5 a device: its sessions in the window.
const OVERVIEW_FIELD_SESSIONS: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND field_device_id = ?5"
);
const OVERVIEW_REMOTE_SESSIONS: &str = concat!(
    "SELECT COUNT(*) FROM sessions WHERE ",
    in_window!(),
    " AND remote_device_id = ?5"
);

/// [`crate::store::Store::fleet_overview`]: every read is an index range of the window's sessions
/// of one grade (`sessions_by_quality`), or of one device (`sessions_by_field`,
/// `sessions_by_remote`); only the bad and normal sessions of the window are sorted (by their
/// number of reasons), the good ones come in index order. The reads share one snapshot.
pub fn overview(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    window: (i64, i64),
    limit: usize,
) -> Result<FleetOverviewRow> {
    in_one_snapshot(c, || overview_reads(c, account, project_id, window, limit))
}

fn overview_reads(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    (from, to): (i64, i64),
    limit: usize,
) -> Result<FleetOverviewRow> {
    let limit = limit as i64;
    let mut row = FleetOverviewRow::default();
    for grade in GRADES_WORST_FIRST {
        let n: i64 = c
            .prepare_cached(OVERVIEW_GRADE_COUNT)
            .and_then(|mut s| {
                s.query_row(
                    params![project_id, account.0, from, to, grade.as_str()],
                    |r| r.get(0),
                )
            })
            .map_err(db)?;
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
        let mut s = c.prepare_cached(sql).map_err(db)?;
        let rows = s
            .query_map(
                params![project_id, account.0, from, to, grade.as_str(), wanted],
                session_row,
            )
            .map_err(db)?;
        for r in rows {
            row.worst.push(r.map_err(db)?);
        }
    }
    if row.bad == 0 {
        return Ok(row);
    }
    let mut s = c.prepare_cached(OVERVIEW_BAD_DEVICES).map_err(db)?;
    let bad: Vec<(String, String, i64)> = s
        .query_map(params![project_id, account.0, from, to, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(db)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db)?;
    for (role, device_id, bad_sessions) in bad {
        let (device_type, sql) = match role.as_str() {
            "field" => (DeviceType::Field, OVERVIEW_FIELD_SESSIONS),
            _ => (DeviceType::Remote, OVERVIEW_REMOTE_SESSIONS),
        };
        let sessions: i64 = c
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![project_id, account.0, from, to, device_id], |r| {
                    r.get(0)
                })
            })
            .map_err(db)?;
        row.devices.push(DeviceBadSessionsRow {
            device_id,
            device_type,
            bad_sessions: bad_sessions as u64,
            sessions: sessions as u64,
        });
    }
    Ok(row)
}

const FACTS_COLS: &str = "s.field_device_id, s.remote_device_id, s.start_time, s.end_time, s.config_width,
     s.config_height, s.width, s.height, s.multi_mode, s.quality,
     (SELECT group_concat(MAX(p.last_offset, 0), ',') FROM parts p WHERE p.session_key = s.session_key)";

fn facts_row(r: &Row<'_>, at: usize) -> rusqlite::Result<SessionFacts> {
    let parts: Option<String> = r.get(at + 10)?;
    Ok(SessionFacts {
        field_device_id: r.get(at)?,
        remote_device_id: r.get(at + 1)?,
        start_time: r.get(at + 2)?,
        end_time: r.get(at + 3)?,
        config_width: r.get(at + 4)?,
        config_height: r.get(at + 5)?,
        width: r.get(at + 6)?,
        height: r.get(at + 7)?,
        multi_mode: r.get(at + 8)?,
        quality: grade_at(r, at + 9)?,
        part_seconds: parts
            .unwrap_or_default()
            .split(',')
            .filter_map(|v| v.parse().ok())
            .collect(),
    })
}

pub fn facts_where(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    device_id: Option<&str>,
    from: i64,
    to: i64,
) -> Result<Vec<SessionFacts>> {
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {FACTS_COLS} FROM sessions s
             WHERE s.project_id = ?1 AND s.account_id = ?2 AND s.start_time >= ?3 AND s.start_time < ?4
               AND (?5 IS NULL OR s.session_key IN (
                   SELECT session_key FROM sessions WHERE project_id = ?1 AND account_id = ?2
                     AND field_device_id = ?5 AND start_time >= ?3 AND start_time < ?4
                   UNION ALL
                   SELECT session_key FROM sessions WHERE project_id = ?1 AND account_id = ?2
                     AND remote_device_id = ?5 AND start_time >= ?3 AND start_time < ?4))"
        ))
        .map_err(db)?;
    let rows = s
        .query_map(params![project_id, account.0, from, to, device_id], |r| {
            facts_row(r, 0)
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
}

/// One session's share of the rollups, with where it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub project_id: String,
    pub account_id: String,
    pub start_time: i64,
    pub field_device_id: String,
    pub remote_device_id: String,
    pub totals: Totals,
}

pub fn share_of_session(c: &Connection, session_key: i64) -> Result<Option<Share>> {
    c.prepare_cached(&format!(
        "SELECT s.project_id, s.account_id, {FACTS_COLS} FROM sessions s WHERE s.session_key = ?1"
    ))
    .and_then(|mut st| {
        st.query_row([session_key], |r| {
            let f = facts_row(r, 2)?;
            let totals = Totals::of(&f);
            Ok(Share {
                project_id: r.get(0)?,
                account_id: r.get(1)?,
                start_time: f.start_time,
                field_device_id: f.field_device_id,
                remote_device_id: f.remote_device_id,
                totals,
            })
        })
        .optional()
    })
    .map_err(db)
}

/// Ends the open parts of one device (it logged out).
pub fn end_parts_of_device(
    c: &Connection,
    project_id: &str,
    device_id: &str,
    now: i64,
) -> Result<()> {
    let open: Vec<(i64, i64)> = {
        let mut s = c
            .prepare_cached(
                "SELECT p.part_key, p.session_key FROM parts p JOIN sessions s ON s.session_key = p.session_key
                 WHERE p.ended = 0 AND p.device_id = ?2 AND s.project_id = ?1",
            )
            .map_err(db)?;
        let rows = s
            .query_map(params![project_id, device_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?
    };
    for (part, session) in open {
        c.execute("UPDATE parts SET ended = 1 WHERE part_key = ?1", [part])
            .map_err(db)?;
        after_part_end(c, session, device_id, now, now)?;
    }
    Ok(())
}

#[async_trait]
impl Sessions for SqliteStore {
    async fn report_context(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        peer_device_id: &str,
        session_id: &str,
    ) -> Result<ReportContext> {
        let (a, p, d, peer, s) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
            peer_device_id.to_owned(),
            session_id.to_owned(),
        );
        self.run(move |c| {
            let joined = c
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM sessions s JOIN parts p ON p.session_key = s.session_key
                     WHERE s.account_id = ?1 AND s.session_id = ?2 AND p.device_id = ?3)",
                )
                .and_then(|mut st| st.query_row(params![a, s, d], |r| r.get(0)))
                .map_err(db)?;
            Ok(ReportContext {
                peer: device_by(c, &a, &p, &peer)?,
                joined,
            })
        })
        .await
    }

    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
        let encoded = Encoded::of(&append.columns, append.from_device);
        self.writer
            .write_checked_first(move |c| {
                // `apply` refuses before it writes: nothing of a refused append is there to undo.
                Ok(match apply(c, &append, &encoded)? {
                    Ok(outcome) => (Ok(outcome), true),
                    Err(rejection) => (Err(rejection), false),
                })
            })
            .await
    }

    async fn session_samples(
        &self,
        account: &AccountId,
        session_id: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Option<SessionSamples>> {
        let (a, s) = (account.clone(), session_id.to_owned());
        self.run(move |c| session_samples(c, SessionRef::Id(&a, &s), from, to))
            .await
    }

    async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>)> {
        let (a, p, f) = (account.clone(), project_id.to_owned(), filter.clone());
        self.run(move |c| list(c, &a, &p, &f, page)).await
    }

    async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<FleetOverviewRow> {
        let (a, p) = (account.clone(), project_id.to_owned());
        self.run(move |c| overview(c, &a, &p, window, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(c: &Connection, sql: &str) -> Vec<String> {
        let mut s = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters left unbound (NULL): the plan does not depend on them.
        let mut rows = s.raw_query();
        let mut plan: Vec<String> = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            plan.push(r.get(3).unwrap());
        }
        plan
    }

    /// The steps of a statement's query plan that read `sessions`: each must be an index range of
    /// one project (`SEARCH ... (project_id=? ...`); never a scan of the table or of a whole index.
    fn assert_reads_ranges(c: &Connection, sql: &str) {
        let plan = plan_of(c, sql);
        for step in &plan {
            if !step.contains(" sessions ") && !step.ends_with(" sessions") {
                continue;
            }
            let ranged =
                step.starts_with("SEARCH") && step.contains("(project_id=? AND account_id=?");
            assert!(ranged, "{sql}\n{plan:#?}");
        }
    }

    /// The console's filters and the fleet overview read index ranges of one project, not every
    /// session; one grade is read from `sessions_by_quality` in its newest-first order (no sort).
    #[test]
    fn console_queries_read_index_ranges() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut c).unwrap();
        let account = AccountId("a".into());
        let filters = [
            SessionFilter {
                quality: Some(Grade::Bad),
                ..Default::default()
            },
            SessionFilter {
                reason: Some("MultiNet.Rtt".into()),
                ..Default::default()
            },
            SessionFilter {
                live: Some(true),
                ..Default::default()
            },
            SessionFilter {
                live: Some(false),
                quality: Some(Grade::Normal),
                from: Some(1),
                to: Some(2),
                ..Default::default()
            },
            SessionFilter {
                device_id: Some("truck_1".into()),
                quality: Some(Grade::Bad),
                reason: Some("Lost".into()),
                ..Default::default()
            },
        ];
        for f in &filters {
            let (arms, args) = list_where(&account, "p", f);
            let (count, page) = list_sql(&arms, args.len());
            assert_reads_ranges(&c, &count);
            assert_reads_ranges(&c, &page);
        }
        // One grade, and the live sessions: their own index, in the list's order.
        for (f, index) in [
            (&filters[0], "sessions_by_quality"),
            (&filters[2], "sessions_live"),
        ] {
            let (arms, args) = list_where(&account, "p", f);
            let (count, page) = list_sql(&arms, args.len());
            for sql in [count, page] {
                let plan = plan_of(&c, &sql).join("; ");
                assert!(
                    plan.contains(index) && !plan.contains("TEMP B-TREE"),
                    "{plan}"
                );
            }
        }
        for sql in [
            OVERVIEW_GRADE_COUNT,
            OVERVIEW_WORST,
            OVERVIEW_NEWEST,
            OVERVIEW_BAD_DEVICES,
            OVERVIEW_FIELD_SESSIONS,
            OVERVIEW_REMOTE_SESSIONS,
        ] {
            assert_reads_ranges(&c, sql);
        }
    }
}
