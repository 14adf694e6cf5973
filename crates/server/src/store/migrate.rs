//! `teleoscope migrate --from sqlite://PATH --to postgres://...`: copies an installation from the
//! embedded store to PostgreSQL — accounts, keys, console sign-ins, projects, devices, policies,
//! sessions with their parts and samples, and the rollups — keeping every key, then verifies that
//! each table holds as many rows as the source.
//!
//! The source is opened read-only and never modified. Resumable: each table is copied in batches of
//! `INSERT ... ON CONFLICT DO NOTHING` (a row already copied is skipped, never doubled) and marked
//! done in `teleoscope_migration` once whole, so a run that stopped (killed, or PostgreSQL
//! restarted) is run again with the same command and goes on from the first table not done.

use super::postgres::PgStore;
use super::{codec, Result};
use crate::errors::StoreError;
use r2d2_sqlite::rusqlite::{self, types::ValueRef, OpenFlags};
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

/// How a column goes from SQLite to PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    OptText,
    Int,
    /// SQLite's 0/1 to BOOLEAN.
    Bool,
    Blob,
}
use Kind::*;

/// One table to copy: the SQLite query giving its rows in the PostgreSQL column order (sorted by
/// key, so batches are index ranges), and the columns with their kinds.
struct Table {
    name: &'static str,
    select: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The identity column whose sequence continues after the copied keys.
    identity: Option<&'static str>,
}

macro_rules! totals_columns {
    ($bucket:literal) => {
        &[
            ("account_id", Text),
            ("project_id", Text),
            ($bucket, Int),
            ("sessions", Int),
            ("minutes", Int),
            ("not_bad", Int),
            ("voice", Int),
            ("sd", Int),
            ("hd", Int),
            ("fhd", Int),
            ("two_k", Int),
            ("four_k", Int),
            ("online", Int),
            ("multi_voice", Int),
            ("multi_sd", Int),
            ("multi_hd", Int),
            ("multi_fhd", Int),
            ("multi_two_k", Int),
            ("multi_four_k", Int),
            ("multi_online", Int),
        ]
    };
}

/// Parents before children. `chunks` gets its partition key, the absolute time of the chunk's first
/// sample, computed on the way ([`chunk_start`]).
const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        select: "SELECT account_id, created_at FROM accounts ORDER BY account_id",
        columns: &[("account_id", Text), ("created_at", Int)],
        identity: None,
    },
    Table {
        name: "api_keys",
        select: "SELECT secret_id, account_id, secret_key, created_at FROM api_keys ORDER BY secret_id",
        columns: &[("secret_id", Text), ("account_id", Text), ("secret_key", Text), ("created_at", Int)],
        identity: None,
    },
    Table {
        name: "console_sessions",
        select: "SELECT token_hash, secret_id, account_id, created_at, expires_at FROM console_sessions ORDER BY token_hash",
        columns: &[("token_hash", Text), ("secret_id", Text), ("account_id", Text), ("created_at", Int), ("expires_at", Int)],
        identity: None,
    },
    Table {
        name: "projects",
        select: "SELECT account_id, project_id, name, description, policy_mode, modify_time, created_at, sec_enabled,
                 sec_key, auto_register, field_list_enable, callback_url, callback_sign_key FROM projects ORDER BY project_id",
        columns: &[
            ("account_id", Text), ("project_id", Text), ("name", Text), ("description", Text), ("policy_mode", Text),
            ("modify_time", Int), ("created_at", Int), ("sec_enabled", Bool), ("sec_key", OptText),
            ("auto_register", Int), ("field_list_enable", Bool), ("callback_url", OptText), ("callback_sign_key", OptText),
        ],
        identity: None,
    },
    Table {
        name: "project_owners",
        select: "SELECT project_id, account_id FROM projects ORDER BY project_id",
        columns: &[("project_id", Text), ("account_id", Text)],
        identity: None,
    },
    Table {
        name: "devices",
        select: "SELECT account_id, project_id, device_id, name, device_type, token, auto_registered, status,
                 last_report_time, modify_time, created_at, heartbeat_at FROM devices ORDER BY project_id, device_id",
        columns: &[
            ("account_id", Text), ("project_id", Text), ("device_id", Text), ("name", Text), ("device_type", Text),
            ("token", Text), ("auto_registered", Bool), ("status", Text), ("last_report_time", Int),
            ("modify_time", Int), ("created_at", Int), ("heartbeat_at", Int),
        ],
        identity: None,
    },
    Table {
        name: "policies",
        select: "SELECT account_id, project_id, mode, remote_device_id, field_device_id, added_at FROM policies
                 ORDER BY project_id, mode, remote_device_id, field_device_id",
        columns: &[
            ("account_id", Text), ("project_id", Text), ("mode", Text), ("remote_device_id", Text),
            ("field_device_id", Text), ("added_at", Int),
        ],
        identity: None,
    },
    Table {
        name: "sessions",
        select: "SELECT session_key, account_id, project_id, session_id, field_device_id, remote_device_id, start_time,
                 end_time, width, height, config_width, config_height, multi_mode, has_field_part, quality, quality_final,
                 reasons, live, last_update, scored_at FROM sessions ORDER BY session_key",
        columns: &[
            ("session_key", Int), ("account_id", Text), ("project_id", Text), ("session_id", Text),
            ("field_device_id", Text), ("remote_device_id", Text), ("start_time", Int), ("end_time", Int),
            ("width", Int), ("height", Int), ("config_width", Int), ("config_height", Int), ("multi_mode", Int),
            ("has_field_part", Bool), ("quality", Text), ("quality_final", Bool), ("reasons", Text), ("live", Bool),
            ("last_update", Int), ("scored_at", Int),
        ],
        identity: Some("session_key"),
    },
    Table {
        name: "parts",
        select: "SELECT p.part_key, s.account_id, p.session_key, p.device_id, p.device_type, p.start_time, p.ver,
                 p.sdk_mode, p.width, p.height, p.config_width, p.config_height, p.multi_mode, p.schema, p.last_offset,
                 p.samples, p.chunks, p.last_report, p.ended
                 FROM parts p JOIN sessions s ON s.session_key = p.session_key ORDER BY p.part_key",
        columns: &[
            ("part_key", Int), ("account_id", Text), ("session_key", Int), ("device_id", Text), ("device_type", Text),
            ("start_time", Int), ("ver", Text), ("sdk_mode", Text), ("width", Int), ("height", Int),
            ("config_width", Int), ("config_height", Int), ("multi_mode", Int), ("schema", Text),
            ("last_offset", Int), ("samples", Int), ("chunks", Int), ("last_report", Int), ("ended", Bool),
        ],
        identity: Some("part_key"),
    },
    Table {
        name: "chunks",
        // The part's start time in the place of the chunk's, until `chunk_start` adds the offset.
        select: "SELECT s.account_id, c.part_key, c.seq, p.start_time, c.data FROM chunks c
                 JOIN parts p ON p.part_key = c.part_key JOIN sessions s ON s.session_key = p.session_key
                 ORDER BY c.part_key, c.seq",
        columns: &[("account_id", Text), ("part_key", Int), ("seq", Int), ("start_time", Int), ("data", Blob)],
        identity: None,
    },
    Table {
        name: "session_hours",
        select: "SELECT account_id, project_id, hour, n FROM session_hours ORDER BY project_id, hour",
        columns: &[("account_id", Text), ("project_id", Text), ("hour", Int), ("n", Int)],
        identity: None,
    },
    Table {
        name: "session_quarters",
        select: "SELECT account_id, project_id, quarter, sessions, minutes, not_bad, voice, sd, hd, fhd, two_k, four_k,
                 online, multi_voice, multi_sd, multi_hd, multi_fhd, multi_two_k, multi_four_k, multi_online
                 FROM session_quarters ORDER BY project_id, quarter",
        columns: totals_columns!("quarter"),
        identity: None,
    },
    Table {
        name: "session_days",
        select: "SELECT account_id, project_id, day, sessions, minutes, not_bad, voice, sd, hd, fhd, two_k, four_k,
                 online, multi_voice, multi_sd, multi_hd, multi_fhd, multi_two_k, multi_four_k, multi_online
                 FROM session_days ORDER BY project_id, day",
        columns: totals_columns!("day"),
        identity: None,
    },
    Table {
        name: "device_months",
        select: "SELECT account_id, project_id, month, role, device_id, days FROM device_months
                 ORDER BY project_id, month, role, device_id",
        columns: &[
            ("account_id", Text), ("project_id", Text), ("month", Int), ("role", Int), ("device_id", Text),
            ("days", Int),
        ],
        identity: None,
    },
];

/// Rows per INSERT.
const BATCH: usize = 500;

/// A value read from SQLite, as PostgreSQL takes it.
#[derive(Debug)]
enum Value {
    Text(Option<String>),
    Int(i64),
    Bool(bool),
    Blob(Vec<u8>),
}

impl Value {
    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::Int(v) => v,
            Value::Bool(v) => v,
            Value::Blob(v) => v,
        }
    }
}

/// What one table's copy found: rows in the source, and in the target afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: &'static str,
    pub source: u64,
    pub target: u64,
    /// Done by an earlier run of the same migration.
    pub skipped: bool,
}

/// Copies the SQLite store at `from` (a path) into the PostgreSQL database at `to` (a URL),
/// calling `progress` after each table; fails if a table's counts differ.
pub async fn sqlite_to_postgres(
    from: &str,
    to: &str,
    mut progress: impl FnMut(&Copied),
) -> anyhow::Result<Vec<Copied>> {
    let source = open_source(from)?;
    let day_offset: i64 = source
        .query_row("SELECT day_offset FROM rollup_settings", [], |r| r.get(0))
        .map_err(|e| {
            anyhow::anyhow!("{from} is not a Teleoscope store (no rollup settings): {e}")
        })?;
    drop(source);
    // Opening migrates the target's schema and records the source's day offset, so the day
    // rollups copied below count the same days.
    let target = PgStore::open(to, day_offset).await?;
    let client = target.client().await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS teleoscope_migration (table_name TEXT PRIMARY KEY, done BOOLEAN NOT NULL)",
        )
        .await?;
    let mut report = Vec::new();
    for table in TABLES {
        let done = client
            .query_opt(
                "SELECT 1 FROM teleoscope_migration WHERE table_name = $1 AND done",
                &[&table.name],
            )
            .await?
            .is_some();
        if !done {
            copy_table(from, &target, table).await?;
        }
        let source_rows = count_source(from, table)?;
        let target_rows: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[])
            .await?
            .get(0);
        let copied = Copied {
            table: table.name,
            source: source_rows,
            target: target_rows as u64,
            skipped: done,
        };
        progress(&copied);
        if copied.source != copied.target {
            anyhow::bail!(
                "{}: {} rows in the source, {} in the target: the target held other data, or changed during the copy",
                table.name,
                copied.source,
                copied.target
            );
        }
        if let Some(column) = table.identity {
            client
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', '{column}'), GREATEST((SELECT MAX({column}) FROM {0}), 1))",
                        table.name
                    ),
                    &[],
                )
                .await?;
        }
        client
            .execute(
                "INSERT INTO teleoscope_migration VALUES ($1, TRUE) ON CONFLICT (table_name) DO UPDATE SET done = TRUE",
                &[&table.name],
            )
            .await?;
        report.push(copied);
    }
    // The planner's statistics of the copied tables now, not when autovacuum comes round: until
    // then it believes them empty and may read a device's sessions through the wrong index.
    client.batch_execute("ANALYZE").await?;
    Ok(report)
}

/// The source, read-only: nothing this command does can change it.
fn open_source(path: &str) -> anyhow::Result<rusqlite::Connection> {
    if !std::path::Path::new(path).is_file() {
        anyhow::bail!("--from sqlite://{path}: no such file");
    }
    Ok(rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?)
}

fn count_source(path: &str, table: &Table) -> anyhow::Result<u64> {
    let c = open_source(path)?;
    let n: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM ({})", table.select),
        [],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// Streams one table: a blocking thread reads SQLite in key order and sends batches; each batch is
/// one multi-row insert that skips rows already there.
async fn copy_table(from: &str, target: &PgStore, table: &'static Table) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel::<Vec<Vec<Value>>>(4);
    let path = from.to_owned();
    let reader = tokio::task::spawn_blocking(move || read_table(&path, table, tx));
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let overriding = if table.identity.is_some() {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    while let Some(rows) = rx.recv().await {
        if table.name == "chunks" {
            target
                .ensure_partitions(rows.iter().filter_map(|r| match r[3] {
                    Value::Int(t) => Some(t),
                    _ => None,
                }))
                .await?;
        }
        let width = columns.len();
        let placeholders: Vec<String> = (0..rows.len())
            .map(|r| {
                let row: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", row.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}){overriding} VALUES {} ON CONFLICT DO NOTHING",
            table.name,
            columns.join(", "),
            placeholders.join(", ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = rows.iter().flatten().map(Value::param).collect();
        let client = target.client().await?;
        client.execute(&sql, &params).await?;
    }
    reader.await??;
    Ok(())
}

fn read_table(path: &str, table: &Table, tx: mpsc::Sender<Vec<Vec<Value>>>) -> anyhow::Result<()> {
    let c = open_source(path)?;
    let mut stmt = c.prepare(table.select)?;
    let mut rows = stmt.query([])?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(table.columns.len());
        for (i, (name, kind)) in table.columns.iter().enumerate() {
            let v = row.get_ref(i)?;
            values.push(convert(table.name, name, *kind, v)?);
        }
        if table.name == "chunks" {
            chunk_start(&mut values)?;
        }
        batch.push(values);
        if batch.len() == BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
            return Ok(()); // the writer failed: its error is the one reported
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(())
}

fn convert(table: &str, column: &str, kind: Kind, v: ValueRef<'_>) -> anyhow::Result<Value> {
    let bad = || anyhow::anyhow!("{table}.{column}: unexpected value {v:?} in the source");
    Ok(match (kind, v) {
        (Text, ValueRef::Text(t)) => Value::Text(Some(String::from_utf8(t.to_vec())?)),
        (OptText, ValueRef::Text(t)) => Value::Text(Some(String::from_utf8(t.to_vec())?)),
        (OptText, ValueRef::Null) => Value::Text(None),
        (Int, ValueRef::Integer(n)) => Value::Int(n),
        (Bool, ValueRef::Integer(n)) => Value::Bool(n != 0),
        (Blob, ValueRef::Blob(b)) => Value::Blob(b.to_vec()),
        _ => return Err(bad()),
    })
}

/// A chunk's partition key: its part's start time (read in its place) plus the offset of the
/// chunk's first sample.
fn chunk_start(values: &mut [Value]) -> Result<()> {
    let (Value::Int(part_start), Value::Blob(data)) = (&values[3], &values[4]) else {
        return Err(StoreError::Corrupt("chunks: unexpected columns".into()));
    };
    let offsets = codec::decode_offsets(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let first = offsets.first().copied().unwrap_or(0);
    values[3] = Value::Int(part_start + first);
    Ok(())
}
