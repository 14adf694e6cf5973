//! The embedded backend: SQLite in WAL mode with `synchronous=FULL` (an acknowledged write survives a
//! crash), a small connection pool, and write transactions that take the write lock up front
//! (`BEGIN IMMEDIATE`) so that concurrent writers — the server and `teleoscope keys` — wait on the
//! busy timeout instead of failing. Blocking calls run on tokio's blocking pool.
//!
//! Schema changes are numbered migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! A write that fails for lack of space (a full disk, or `max_database_bytes`) is `StoreError::Full`:
//! see `health.rs` for how it is reported and how the store notices that space has returned.

mod health;
mod rollup;
mod sessions;
pub use sessions::COMPACT_LIVE_CHUNKS;
mod writer;

use super::{
    Append, AppendOutcome, AppendRejection, DeviceChanges, FleetOverviewRow, Grain, PartRow,
    PolicyEdit, ProjectChanges, ReportContext, Result, SessionFacts, SessionFilter, SessionRow,
    Store,
};
use crate::domain::console_sessions::ConsoleSession;
use crate::domain::policy::{ModifyMode, PolicyChange};
use crate::domain::usage::Totals;
use crate::domain::{
    AccountId, ApiKey, Callback, Device, DeviceFilter, DeviceStatus, DeviceType, Page, PolicyEntry,
    PolicyMode, PolicySearch, Project, SecMode, StatusFilter,
};
use crate::errors::StoreError;
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{
    self, params, Connection, OptionalExtension, Row, TransactionBehavior,
};
use r2d2_sqlite::SqliteConnectionManager;
use std::path::Path;
use std::sync::Arc;

/// Numbered schema migrations; append only.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, keys, projects, devices, policies.
    r#"
    CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        secret_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        secret_key TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE projects (
        project_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        policy_mode TEXT NOT NULL,
        modify_time INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        sec_enabled INTEGER NOT NULL DEFAULT 0,
        sec_key TEXT,
        auto_register INTEGER NOT NULL DEFAULT 0,
        field_list_enable INTEGER NOT NULL DEFAULT 0,
        callback_url TEXT,
        callback_sign_key TEXT
    );
    CREATE INDEX projects_by_account ON projects(account_id, created_at, project_id);
    CREATE TABLE devices (
        account_id TEXT NOT NULL,
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        name TEXT NOT NULL,
        device_type TEXT NOT NULL,
        token TEXT NOT NULL,
        auto_registered INTEGER NOT NULL,
        status TEXT NOT NULL,
        last_report_time INTEGER NOT NULL,
        modify_time INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (project_id, device_id)
    ) WITHOUT ROWID;
    CREATE TABLE policies (
        account_id TEXT NOT NULL,
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        mode TEXT NOT NULL,
        remote_device_id TEXT NOT NULL,
        field_device_id TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (project_id, mode, remote_device_id, field_device_id)
    ) WITHOUT ROWID;
    "#,
    // 2: sessions, their device parts, and sample chunks (docs/storage.md); device heartbeats.
    r#"
    ALTER TABLE devices ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX devices_ready ON devices(heartbeat_at) WHERE status = 'ready';
    CREATE TABLE sessions (
        session_key INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        field_device_id TEXT NOT NULL,
        remote_device_id TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        end_time INTEGER NOT NULL,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        config_width INTEGER NOT NULL DEFAULT 0,
        config_height INTEGER NOT NULL DEFAULT 0,
        multi_mode INTEGER NOT NULL DEFAULT 0,
        has_field_part INTEGER NOT NULL DEFAULT 0,
        quality TEXT NOT NULL DEFAULT 'good',
        quality_final INTEGER NOT NULL DEFAULT 0,
        reasons TEXT NOT NULL DEFAULT '[]',
        live INTEGER NOT NULL DEFAULT 1,
        last_update INTEGER NOT NULL,
        scored_at INTEGER NOT NULL DEFAULT -1,
        UNIQUE (account_id, session_id)
    );
    CREATE INDEX sessions_by_start ON sessions(project_id, start_time DESC, session_id);
    CREATE INDEX sessions_by_field ON sessions(project_id, field_device_id, start_time DESC, session_id);
    CREATE INDEX sessions_by_remote ON sessions(project_id, remote_device_id, start_time DESC, session_id);
    CREATE INDEX sessions_unscored ON sessions(session_key) WHERE quality_final = 0;
    CREATE TABLE parts (
        part_key INTEGER PRIMARY KEY,
        session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
        device_id TEXT NOT NULL,
        device_type TEXT NOT NULL,
        start_time INTEGER NOT NULL,
        ver TEXT NOT NULL,
        sdk_mode TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        config_width INTEGER NOT NULL,
        config_height INTEGER NOT NULL,
        multi_mode INTEGER NOT NULL,
        schema TEXT NOT NULL,
        last_offset INTEGER NOT NULL DEFAULT -1,
        samples INTEGER NOT NULL DEFAULT 0,
        chunks INTEGER NOT NULL DEFAULT 0,
        last_report INTEGER NOT NULL,
        ended INTEGER NOT NULL DEFAULT 0,
        UNIQUE (session_key, device_type)
    );
    CREATE INDEX parts_open ON parts(last_report) WHERE ended = 0;
    CREATE INDEX parts_open_by_device ON parts(device_id) WHERE ended = 0;
    CREATE TABLE chunks (
        part_key INTEGER NOT NULL REFERENCES parts(part_key) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (part_key, seq)
    ) WITHOUT ROWID;
    "#,
    // 3: session counts per start hour, so that any page of a 1,000,000-session list is found without
    // stepping over the sessions before it (docs/storage.md); the list index covers the account.
    r#"
    CREATE TABLE session_hours (
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        hour INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (project_id, hour)
    ) WITHOUT ROWID;
    INSERT INTO session_hours (project_id, account_id, hour, n)
        SELECT project_id, account_id, start_time / 3600, COUNT(*) FROM sessions GROUP BY project_id, start_time / 3600;
    DROP INDEX sessions_by_start;
    CREATE INDEX sessions_by_start ON sessions(project_id, account_id, start_time DESC, session_id);
    "#,
    // 4: quarter-hour sums of session totals, and the devices each project has had sessions with,
    // for statistics and usage over long windows (docs/storage.md).
    r#"
    CREATE TABLE session_quarters (
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        quarter INTEGER NOT NULL,
        sessions INTEGER NOT NULL, minutes INTEGER NOT NULL, not_bad INTEGER NOT NULL,
        voice INTEGER NOT NULL, sd INTEGER NOT NULL, hd INTEGER NOT NULL, fhd INTEGER NOT NULL,
        two_k INTEGER NOT NULL, four_k INTEGER NOT NULL, online INTEGER NOT NULL,
        multi_voice INTEGER NOT NULL, multi_sd INTEGER NOT NULL, multi_hd INTEGER NOT NULL,
        multi_fhd INTEGER NOT NULL, multi_two_k INTEGER NOT NULL, multi_four_k INTEGER NOT NULL,
        multi_online INTEGER NOT NULL,
        PRIMARY KEY (project_id, quarter)
    ) WITHOUT ROWID;
    CREATE TABLE session_devices (
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        role TEXT NOT NULL,
        device_id TEXT NOT NULL,
        PRIMARY KEY (project_id, role, device_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO session_devices SELECT project_id, account_id, 'field', field_device_id FROM sessions;
    INSERT OR IGNORE INTO session_devices SELECT project_id, account_id, 'remote', remote_device_id FROM sessions;
    "#,
    // 5: the device indexes cover the account (and the remote one the field device), so that a
    // device's sessions are index ranges.
    r#"
    DROP INDEX sessions_by_field;
    DROP INDEX sessions_by_remote;
    CREATE INDEX sessions_by_field ON sessions(project_id, account_id, field_device_id, start_time DESC, session_id);
    CREATE INDEX sessions_by_remote
        ON sessions(project_id, account_id, remote_device_id, start_time DESC, session_id, field_device_id);
    "#,
    // 6: session totals per local day of the configured time zone, so that a year of statistics or
    // usage reads 365 rows, and each device's days of sessions as a bit set per month, so that
    // active devices over a year read at most devices x 13 rows (rollup.rs); both filled by
    // `rollup::set_day_offset` at open, for the `rollup_settings.day_offset` they count.
    r#"
    CREATE TABLE session_days (
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        day INTEGER NOT NULL,
        sessions INTEGER NOT NULL, minutes INTEGER NOT NULL, not_bad INTEGER NOT NULL,
        voice INTEGER NOT NULL, sd INTEGER NOT NULL, hd INTEGER NOT NULL, fhd INTEGER NOT NULL,
        two_k INTEGER NOT NULL, four_k INTEGER NOT NULL, online INTEGER NOT NULL,
        multi_voice INTEGER NOT NULL, multi_sd INTEGER NOT NULL, multi_hd INTEGER NOT NULL,
        multi_fhd INTEGER NOT NULL, multi_two_k INTEGER NOT NULL, multi_four_k INTEGER NOT NULL,
        multi_online INTEGER NOT NULL,
        PRIMARY KEY (project_id, day)
    ) WITHOUT ROWID;
    CREATE TABLE device_months (
        project_id TEXT NOT NULL REFERENCES projects(project_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        month INTEGER NOT NULL,
        role INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        days INTEGER NOT NULL,
        PRIMARY KEY (project_id, month, role, device_id)
    ) WITHOUT ROWID;
    CREATE TABLE rollup_settings (day_offset INTEGER NOT NULL);
    DROP TABLE session_devices;
    "#,
    // 7: the parts that may be due for compaction, so that the upkeep's look for them (every
    // second) reads the parts with several chunks, not every part: 2,000,000 parts took 300 ms.
    r#"
    CREATE INDEX parts_to_compact ON parts(part_key) WHERE chunks > 1;
    "#,
    // 8: console sessions (docs/console.md): the SHA-256 of each session token, never the token;
    // a session goes with its key.
    r#"
    CREATE TABLE console_sessions (
        token_hash TEXT PRIMARY KEY,
        secret_id TEXT NOT NULL REFERENCES api_keys(secret_id) ON DELETE CASCADE,
        account_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX console_sessions_by_key ON console_sessions(secret_id);
    CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);
    "#,
    // 9: the console's queries, which would otherwise read every session of a project: its sessions
    // of one grade as an index range, newest first, for the session list's quality and reason
    // filters (DescribeSessions) and the fleet overview's mix, worst sessions and devices
    // (DescribeFleetOverview); and its live sessions, few, in a partial index (the list's `Live`
    // filter).
    r#"
    CREATE INDEX sessions_by_quality ON sessions(project_id, account_id, quality, start_time DESC, session_id);
    CREATE INDEX sessions_live ON sessions(project_id, account_id, start_time DESC, session_id) WHERE live = 1;
    "#,
];

/// A live session's provisional grade is refreshed when it has this many seconds of new reports:
/// rescoring every live session every second would compete with ingest for the write lock.
const PROVISIONAL_EVERY: i64 = 10;

/// Look-ups the upkeep makes every second (each reads an index: tested below, with those of
/// `sessions.rs`).
mod upkeep_sql {
    pub const SESSIONS_TO_SCORE: &str = "SELECT session_key FROM sessions
         WHERE quality_final = 0 AND (live = 0 OR scored_at <= last_update - ?2) ORDER BY session_key LIMIT ?1";
    pub const EXPIRE_HEARTBEATS: &str =
        "UPDATE devices SET status = 'offline', last_report_time = ?2
         WHERE status = 'ready' AND heartbeat_at < ?1";
}

/// SQL shared by the device-status updates.
mod device_status_sql {
    /// Whether the `devices` row in scope has a part that has not ended.
    pub const HAS_OPEN_PART: &str = "EXISTS (SELECT 1 FROM parts p JOIN sessions s ON s.session_key = p.session_key
         WHERE p.ended = 0 AND p.device_id = devices.device_id AND s.project_id = devices.project_id)";
}

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: writer::Writer,
    health: Arc<health::Health>,
}

/// The smallest `max_database_bytes`: the schema, and room for the readiness probe to succeed.
const MIN_DATABASE_BYTES: u64 = 4 * health::PROBE_BYTES as u64;

/// Settings of the SQLite store, given after `?` in its URL: `sqlite://PATH?max_database_bytes=N`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The most bytes the database file may hold (SQLite's `max_page_count`, in pages of the file's
    /// page size). Writes that would need more fail like writes to a full disk — a retryable error,
    /// `/readyz` 503 — and work again once upkeep or deletions have freed pages. Keeps the store from
    /// filling a disk it shares with other services. Unset: as much as the disk holds.
    pub max_database_bytes: Option<u64>,
}

impl Options {
    /// Splits `PATH?name=value&...` into the path and the options.
    pub fn parse(path_and_options: &str) -> anyhow::Result<(&str, Options)> {
        let Some((path, query)) = path_and_options.split_once('?') else {
            return Ok((path_and_options, Options::default()));
        };
        let mut options = Options::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("max_database_bytes", v)) => {
                    let bytes: u64 = v.parse().ok().filter(|b| *b >= MIN_DATABASE_BYTES).ok_or_else(|| {
                        anyhow::anyhow!(
                            "max_database_bytes=`{v}` in the database URL: expected a number of bytes, at least {MIN_DATABASE_BYTES}"
                        )
                    })?;
                    options.max_database_bytes = Some(bytes);
                }
                _ => anyhow::bail!(
                    "unknown option `{pair}` in the database URL: the SQLite store takes max_database_bytes=N"
                ),
            }
        }
        Ok((path, options))
    }
}

/// Sets up a new connection: [`PRAGMAS`], and the size limit of `options`.
fn init(c: &mut Connection, options: Options) -> rusqlite::Result<()> {
    c.execute_batch(PRAGMAS)?;
    if let Some(bytes) = options.max_database_bytes {
        let page: i64 = c.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (bytes as i64 / page).max(1);
        // Answers the limit in force: never below the pages the file already has.
        c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    Ok(())
}

/// `auto_vacuum=INCREMENTAL` takes effect on a new database: pages that compaction frees go back to
/// the file system a few at a time (`incremental_vacuum` in upkeep) instead of staying in the file.
const PRAGMAS: &str = "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
     PRAGMA busy_timeout=10000;";

/// A database error: `Full` when SQLite answers SQLITE_FULL (the disk is full — SQLite maps a write's
/// ENOSPC to it — or the database is at `max_database_bytes`), else `Database`.
fn db<E: std::fmt::Display + 'static>(e: E) -> StoreError {
    if let Some(rusqlite::Error::SqliteFailure(f, _)) =
        (&e as &dyn std::any::Any).downcast_ref::<rusqlite::Error>()
    {
        if f.code == rusqlite::ErrorCode::DiskFull {
            return StoreError::Full(e.to_string());
        }
    }
    StoreError::Database(e.to_string())
}

/// An insert's error: `Conflict` for a broken uniqueness rule, else a database error.
fn conflict_or_db(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict
        }
        e => db(e),
    }
}

impl SqliteStore {
    /// Opens (creating or migrating) the store at `path`; `day_offset` is the UTC offset in seconds
    /// of the configured time zone, whose local days the active-device rollup counts.
    pub fn open(path: &str, day_offset: i64, options: Options) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        let manager = SqliteConnectionManager::file(path).with_init(move |c| init(c, options));
        let pool = r2d2::Pool::builder().max_size(8).build(manager)?;
        let mut conn = pool.get()?;
        migrate(&mut conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if rollup::set_day_offset(&tx, day_offset)? {
            tracing::info!(
                day_offset,
                "sessions and active devices summed by local day of the configured time zone"
            );
        }
        tx.commit()?;
        let mut write_conn = Connection::open(path)?;
        init(&mut write_conn, options)?;
        let health = Arc::new(health::Health::default());
        let writer = writer::Writer::start(write_conn, health.clone())?;
        Ok(SqliteStore {
            pool,
            writer,
            health,
        })
    }

    /// Run blocking database work off the async threads.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(db)?;
            f(&mut conn)
        })
        .await
        .map_err(db)?
    }

    /// Run a write transaction that holds the write lock from its start. Its failure for lack of
    /// space marks the store full; while it is marked, a success is followed by a probe
    /// (`health.rs`).
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let health = self.health.clone();
        self.run(move |conn| {
            let out = in_transaction(conn, f);
            health.note(&out);
            if out.is_ok() {
                // Still full: the probe's error is noted, and this write's answer stands.
                let _ = health.check(conn);
            }
            out
        })
        .await
    }
}

fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let out = f(&tx)?;
    tx.commit().map_err(db)?;
    Ok(out)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the database is at schema version {version}, newer than this build knows ({})",
            MIGRATIONS.len()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()?;
    Ok(())
}

const PROJECT_COLS: &str =
    "project_id, account_id, name, description, policy_mode, modify_time, created_at, \
     sec_enabled, sec_key, auto_register, field_list_enable, callback_url, callback_sign_key";

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what}={value}"), rusqlite::types::Type::Text)
}

fn project_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    let mode: String = r.get(4)?;
    let callback_url: Option<String> = r.get(11)?;
    Ok(Project {
        project_id: r.get(0)?,
        account_id: AccountId(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        policy_mode: PolicyMode::parse(&mode).ok_or_else(|| corrupt("policy_mode", &mode))?,
        modify_time: r.get(5)?,
        created_at: r.get(6)?,
        sec_mode: SecMode {
            enabled: r.get(7)?,
            key_sealed: r.get(8)?,
            auto_register: r.get(9)?,
            field_list_enable: r.get(10)?,
        },
        callback: callback_url
            .map(|url| -> rusqlite::Result<Callback> {
                Ok(Callback {
                    url,
                    sign_key_sealed: r.get(12)?,
                })
            })
            .transpose()?,
    })
}

const DEVICE_COLS: &str =
    "account_id, project_id, device_id, name, device_type, token, auto_registered, status, \
     last_report_time, modify_time, created_at";

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let ty: String = r.get(4)?;
    let status: String = r.get(7)?;
    Ok(Device {
        account_id: AccountId(r.get(0)?),
        project_id: r.get(1)?,
        device_id: r.get(2)?,
        name: r.get(3)?,
        device_type: DeviceType::parse(&ty).ok_or_else(|| corrupt("device_type", &ty))?,
        token_sealed: r.get(5)?,
        auto_registered: r.get(6)?,
        status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        last_report_time: r.get(8)?,
        modify_time: r.get(9)?,
        created_at: r.get(10)?,
    })
}

fn project_by_id(c: &Connection, project_id: &str) -> Result<Option<Project>> {
    c.prepare_cached(&format!(
        "SELECT {PROJECT_COLS} FROM projects WHERE project_id = ?1"
    ))
    .and_then(|mut s| s.query_row([project_id], project_row).optional())
    .map_err(db)
}

fn device_by(
    c: &Connection,
    account_id: &str,
    project_id: &str,
    device_id: &str,
) -> Result<Option<Device>> {
    c.prepare_cached(&format!(
        "SELECT {DEVICE_COLS} FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3"
    ))
    .and_then(|mut s| s.query_row([project_id, device_id, account_id], device_row).optional())
    .map_err(db)
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        secret_id: r.get(0)?,
        account_id: AccountId(r.get(1)?),
        secret_key_sealed: r.get(2)?,
        created_at: r.get(3)?,
    })
}

/// `LIKE` pattern matching `s` anywhere, with the wildcards in `s` escaped.
fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Whether `device_id` is a device of this type in the project.
fn is_device_of_type(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    project_id: &str,
    device_id: &str,
    device_type: DeviceType,
) -> Result<bool> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3
         AND device_type = ?4)",
    )
    .and_then(|mut s| {
        s.query_row(
            params![project_id, device_id, account_id, device_type.as_str()],
            |r| r.get(0),
        )
    })
    .map_err(db)
}

/// [`Store::modify_policy`] inside its transaction.
fn policy_edit(
    tx: &rusqlite::Transaction<'_>,
    a: &str,
    p: &str,
    e: &PolicyEdit,
    now: i64,
) -> Result<Option<PolicyChange>> {
    let (mode, remote) = (e.mode.as_str(), e.remote_device_id.as_str());
    if !is_device_of_type(tx, a, p, remote, DeviceType::Remote)? {
        return Ok(None);
    }
    let current: Vec<String> = {
        let mut s = tx
            .prepare_cached(
                "SELECT field_device_id FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
                 AND remote_device_id = ?4",
            )
            .map_err(db)?;
        let rows = s
            .query_map(params![p, a, mode, remote], |row| row.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db)?
    };
    let delete = |field: &str| {
        tx.execute(
            "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
             AND remote_device_id = ?4 AND field_device_id = ?5",
            params![p, a, mode, remote, field],
        )
        .map_err(db)
    };
    let mut change = PolicyChange::default();
    match e.how {
        ModifyMode::Remove => {
            for id in &e.field_device_ids {
                if current.contains(id) {
                    delete(id)?;
                } else if !change.failed_delete.contains(id) {
                    change.failed_delete.push(id.clone());
                }
            }
        }
        ModifyMode::Add | ModifyMode::Set => {
            let mut wanted: Vec<&String> = Vec::new();
            for id in &e.field_device_ids {
                if !is_device_of_type(tx, a, p, id, DeviceType::Field)? {
                    change.failed_insert.push(id.clone());
                } else if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            if e.how == ModifyMode::Set {
                for f in current.iter().filter(|f| !wanted.contains(f)) {
                    delete(f)?;
                }
            }
            // An id already listed keeps the time it was added.
            for f in wanted.into_iter().filter(|f| !current.contains(f)) {
                tx.execute(
                    "INSERT INTO policies (account_id, project_id, mode, remote_device_id, field_device_id, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![a, p, mode, remote, f, now],
                )
                .map_err(db)?;
            }
        }
    }
    Ok(Some(change))
}

fn limit_offset(page: Page) -> (i64, i64) {
    (page.size as i64, page.offset() as i64)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        let health = self.health.clone();
        self.run(move |c| {
            c.query_row("SELECT 1", [], |_| Ok(())).map_err(db)?;
            health.check(c)
        })
        .await
    }

    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()> {
        let id = account.0.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO accounts (account_id, created_at) VALUES (?1, ?2)",
                params![id, now],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn account_exists(&self, account: &AccountId) -> Result<bool> {
        let id = account.0.clone();
        self.run(move |c| {
            c.query_row("SELECT 1 FROM accounts WHERE account_id = ?1", [id], |_| {
                Ok(())
            })
            .optional()
            .map(|o| o.is_some())
            .map_err(db)
        })
        .await
    }

    async fn insert_key(&self, key: &ApiKey) -> Result<()> {
        let k = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO api_keys (secret_id, account_id, secret_key, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![k.secret_id, k.account_id.0, k.secret_key_sealed, k.created_at],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>> {
        let id = secret_id.to_owned();
        self.run(move |c| {
            c.prepare_cached("SELECT secret_id, account_id, secret_key, created_at FROM api_keys WHERE secret_id = ?1")
                .and_then(|mut s| s.query_row([id], key_row).optional())
                .map_err(db)
        })
        .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>> {
        self.run(|c| {
            let mut s = c
                .prepare(
                    "SELECT secret_id, account_id, secret_key, created_at FROM api_keys ORDER BY created_at, secret_id",
                )
                .map_err(db)?;
            let rows = s.query_map([], key_row).map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
        })
        .await
    }

    async fn delete_key(&self, secret_id: &str) -> Result<bool> {
        let id = secret_id.to_owned();
        self.write(move |tx| {
            Ok(tx
                .execute("DELETE FROM api_keys WHERE secret_id = ?1", [id])
                .map_err(db)?
                > 0)
        })
        .await
    }

    async fn insert_console_session(&self, s: &ConsoleSession, now: i64) -> Result<()> {
        let s = s.clone();
        self.write(move |tx| {
            tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", [now])
                .map_err(db)?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, secret_id, account_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.token_hash, s.secret_id, s.account_id.0, s.created_at, s.expires_at],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>> {
        let hash = token_hash.to_owned();
        self.run(move |c| {
            c.prepare_cached(
                "SELECT token_hash, secret_id, account_id, created_at, expires_at
                 FROM console_sessions WHERE token_hash = ?1",
            )
            .and_then(|mut s| {
                s.query_row([hash], |r| {
                    Ok(ConsoleSession {
                        token_hash: r.get(0)?,
                        secret_id: r.get(1)?,
                        account_id: AccountId(r.get(2)?),
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                    })
                })
                .optional()
            })
            .map_err(db)
        })
        .await
    }

    async fn delete_console_session(&self, token_hash: &str) -> Result<bool> {
        let hash = token_hash.to_owned();
        self.write(move |tx| {
            Ok(tx
                .execute("DELETE FROM console_sessions WHERE token_hash = ?1", [hash])
                .map_err(db)?
                > 0)
        })
        .await
    }

    async fn insert_project(&self, p: &Project) -> Result<()> {
        let p = p.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO projects (project_id, account_id, name, description, policy_mode, modify_time, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    p.project_id,
                    p.account_id.0,
                    p.name,
                    p.description,
                    p.policy_mode.as_str(),
                    p.modify_time,
                    p.created_at
                ],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn project(&self, account: &AccountId, project_id: &str) -> Result<Option<Project>> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        self.run(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE project_id = ?1 AND account_id = ?2"
            ))
            .and_then(|mut s| s.query_row([p, a], project_row).optional())
            .map_err(db)
        })
        .await
    }

    async fn list_projects(&self, account: &AccountId, page: Page) -> Result<(u64, Vec<Project>)> {
        let a = account.0.clone();
        self.run(move |c| {
            let total: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM projects WHERE account_id = ?1",
                    [&a],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let mut s = c
                .prepare_cached(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE account_id = ?1
                     ORDER BY created_at, project_id LIMIT ?2 OFFSET ?3"
                ))
                .map_err(db)?;
            let rows = s
                .query_map(params![a, limit, offset], project_row)
                .map_err(db)?;
            Ok((
                total as u64,
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?,
            ))
        })
        .await
    }

    async fn update_project(
        &self,
        account: &AccountId,
        project_id: &str,
        ch: &ProjectChanges,
        now: i64,
    ) -> Result<bool> {
        let (a, p, ch) = (account.0.clone(), project_id.to_owned(), ch.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET name = COALESCE(?3, name), description = COALESCE(?4, description),
                     policy_mode = COALESCE(?5, policy_mode), modify_time = ?6
                     WHERE project_id = ?1 AND account_id = ?2",
                    params![
                        p,
                        a,
                        ch.name,
                        ch.description,
                        ch.policy_mode.map(PolicyMode::as_str),
                        now
                    ],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        m: &SecMode,
        now: i64,
    ) -> Result<bool> {
        let (a, p, m) = (account.0.clone(), project_id.to_owned(), m.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET sec_enabled = ?3, sec_key = ?4, auto_register = ?5, field_list_enable = ?6,
                     modify_time = ?7 WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a, m.enabled, m.key_sealed, m.auto_register, m.field_list_enable, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        cb: &Callback,
        now: i64,
    ) -> Result<bool> {
        let (a, p, cb) = (account.0.clone(), project_id.to_owned(), cb.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET callback_url = ?3, callback_sign_key = ?4, modify_time = ?5
                     WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a, cb.url, cb.sign_key_sealed, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        self.write(move |tx| {
            // Devices and policies go with the project (ON DELETE CASCADE); say it explicitly too,
            // scoped by account, so the intent is visible here.
            tx.execute(
                "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2",
                params![p, a],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM devices WHERE project_id = ?1 AND account_id = ?2",
                params![p, a],
            )
            .map_err(db)?;
            let n = tx
                .execute(
                    "DELETE FROM projects WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn insert_device(&self, d: &Device) -> Result<()> {
        let d = d.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO devices ({DEVICE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    d.account_id.0,
                    d.project_id,
                    d.device_id,
                    d.name,
                    d.device_type.as_str(),
                    d.token_sealed,
                    d.auto_registered,
                    d.status.as_str(),
                    d.last_report_time,
                    d.modify_time,
                    d.created_at
                ],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Device>> {
        let (a, p, d) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
        );
        self.run(move |c| device_by(c, &a, &p, &d)).await
    }

    async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>)> {
        let (a, p, f) = (account.0.clone(), project_id.to_owned(), filter.clone());
        self.run(move |c| {
            let mut cond = String::from("project_id = ?1 AND account_id = ?2");
            let mut args: Vec<rusqlite::types::Value> = vec![p.into(), a.into()];
            if let Some(t) = f.device_type {
                args.push(t.as_str().to_owned().into());
                cond.push_str(&format!(" AND device_type = ?{}", args.len()));
            }
            if let Some(words) = &f.search {
                args.push(contains_pattern(words).into());
                let n = args.len();
                cond.push_str(&format!(
                    " AND (device_id LIKE ?{n} ESCAPE '\\' OR name LIKE ?{n} ESCAPE '\\')"
                ));
            }
            match f.status {
                Some(StatusFilter::Is(s)) => {
                    args.push(s.as_str().to_owned().into());
                    cond.push_str(&format!(" AND status = ?{}", args.len()));
                }
                Some(StatusFilter::Online) => cond.push_str(" AND status IN ('ready', 'connected')"),
                None => {}
            }
            if !f.include_auto_registered {
                cond.push_str(" AND auto_registered = 0");
            }
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM devices WHERE {cond}"),
                    rusqlite::params_from_iter(&args),
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let n = args.len();
            args.push(limit.into());
            args.push(offset.into());
            let sql = format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE {cond} ORDER BY device_id LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            );
            let mut s = c.prepare(&sql).map_err(db)?;
            let rows = s.query_map(rusqlite::params_from_iter(&args), device_row).map_err(db)?;
            Ok((total as u64, rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?))
        })
        .await
    }

    async fn update_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        ch: &DeviceChanges,
        now: i64,
    ) -> Result<bool> {
        let (a, p, d, ch) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
            ch.clone(),
        );
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET name = COALESCE(?4, name), token = COALESCE(?5, token), modify_time = ?6
                     WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                    params![p, d, a, ch.name, ch.token_sealed, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>> {
        let (a, p, ids) = (account.0.clone(), project_id.to_owned(), ids.to_vec());
        self.write(move |tx| {
            let mut deleted = Vec::new();
            for id in ids {
                let n = tx
                    .execute(
                        "DELETE FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                        params![p, id, a],
                    )
                    .map_err(db)?;
                if n > 0 {
                    tx.execute(
                        "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2
                         AND (remote_device_id = ?3 OR field_device_id = ?3)",
                        params![p, a, id],
                    )
                    .map_err(db)?;
                    deleted.push(id);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>> {
        let p = project_id.to_owned();
        self.run(move |c| project_by_id(c, &p)).await
    }

    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>> {
        let (p, d) = (project_id.to_owned(), device_id.to_owned());
        self.run(move |c| {
            let Some(project) = project_by_id(c, &p)? else {
                return Ok(None);
            };
            let device = device_by(c, &project.account_id.0, &p, &d)?;
            Ok(Some((project, device)))
        })
        .await
    }

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

    async fn insert_auto_device(&self, d: &Device) -> Result<()> {
        self.insert_device(d).await
    }

    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
        now: i64,
    ) -> Result<DeviceStatus> {
        let (a, p, d) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
        );
        self.write(move |tx| {
            match status {
                DeviceStatus::Offline => {
                    sessions::end_parts_of_device(tx, &p, &d, now)?;
                    tx.execute(
                        "UPDATE devices SET status = 'offline', last_report_time = ?4
                         WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3 AND status != 'offline'",
                        params![p, d, a, now],
                    )
                    .map_err(db)?;
                }
                DeviceStatus::Ready | DeviceStatus::Connected => {
                    tx.execute(
                        "UPDATE devices SET heartbeat_at = ?4,
                           last_report_time = CASE WHEN status = 'offline' THEN ?4 ELSE last_report_time END,
                           status = CASE WHEN status = 'offline' THEN 'ready' ELSE status END
                         WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                        params![p, d, a, now],
                    )
                    .map_err(db)?;
                }
            }
            let s: String = tx
                .query_row(
                    "SELECT status FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                    params![p, d, a],
                    |r| r.get(0),
                )
                .map_err(db)?;
            DeviceStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("device status {s}")))
        })
        .await
    }

    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
        self.writer.append(append).await
    }

    async fn session(
        &self,
        account: &AccountId,
        session_id: &str,
    ) -> Result<Option<(SessionRow, Vec<PartRow>)>> {
        let (a, s) = (account.clone(), session_id.to_owned());
        self.run(move |c| sessions::session_by(c, &a, &s)).await
    }

    async fn session_by_key(&self, session_key: i64) -> Result<Option<(SessionRow, Vec<PartRow>)>> {
        self.run(move |c| sessions::session_by_key(c, session_key))
            .await
    }

    async fn part_chunks(&self, part_key: i64) -> Result<Vec<Vec<u8>>> {
        self.run(move |c| sessions::chunks_of(c, part_key)).await
    }

    async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>)> {
        let (a, p, f) = (account.clone(), project_id.to_owned(), filter.clone());
        self.run(move |c| sessions::list(c, &a, &p, &f, page)).await
    }

    async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<FleetOverviewRow> {
        let (a, p) = (account.clone(), project_id.to_owned());
        self.run(move |c| sessions::overview(c, &a, &p, window, limit))
            .await
    }

    async fn session_facts(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionFacts>> {
        let (a, p, d) = (
            account.clone(),
            project_id.to_owned(),
            device_id.map(str::to_owned),
        );
        self.run(move |c| sessions::facts_where(c, &a, &p, d.as_deref(), from, to))
            .await
    }

    async fn session_totals(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>> {
        let (a, p, ranges) = (account.clone(), project_id.to_owned(), ranges.to_vec());
        self.run(move |c| rollup::totals(c, &a, &p, &ranges)).await
    }

    async fn active_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<(i64, i64)>> {
        let (a, p, ranges) = (account.clone(), project_id.to_owned(), ranges.to_vec());
        self.run(move |c| rollup::active_devices(c, &a, &p, &ranges))
            .await
    }

    async fn session_spans(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        grain: Grain,
        limit: usize,
    ) -> Result<Vec<(i64, i64)>> {
        let (a, p) = (account.clone(), project_id.to_owned());
        self.run(move |c| rollup::spans(c, &a, &p, window, grain, limit))
            .await
    }

    async fn end_idle_parts(&self, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64> {
        self.write(move |tx| sessions::end_idle_parts(tx, cutoff, heartbeat_cutoff, now))
            .await
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
        let parts = self
            .run(move |c| sessions::parts_to_compact(c, limit))
            .await?;
        for part in &parts {
            let part = *part;
            // Decode, merge and encode without the write lock; then swap in a short transaction.
            if let Some(merge) = self
                .run(move |c| sessions::prepare_compaction(c, part))
                .await?
            {
                self.write(move |tx| sessions::apply_compaction(tx, part, &merge))
                    .await?;
            }
        }
        // Give back free pages to the file system: what merged chunks freed, and what rows that
        // moved or shrank left behind (a no-op without auto_vacuum). Reading the count is free.
        self.run(|c| {
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

    async fn save_quality(
        &self,
        key: i64,
        grade: &str,
        reasons: &str,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()> {
        let (g, r) = (grade.to_owned(), reasons.to_owned());
        self.write(move |tx| {
            let before = sessions::share_of_session(tx, key)?;
            // A session that got new samples while it was being scored stays unfinal.
            tx.execute(
                "UPDATE sessions SET quality = ?2, reasons = ?3, scored_at = ?5,
                   quality_final = CASE WHEN ?4 AND live = 0 AND last_update <= ?5 THEN 1 ELSE 0 END
                 WHERE session_key = ?1",
                params![key, g, r, is_final, scored_at],
            )
            .map_err(db)?;
            rollup::update(tx, key, before)
        })
        .await
    }

    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote: &str,
    ) -> Result<Vec<String>> {
        let (a, p, r) = (account.0.clone(), project_id.to_owned(), remote.to_owned());
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT field_device_id FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
                     AND remote_device_id = ?4 ORDER BY field_device_id",
                )
                .map_err(db)?;
            let rows = s.query_map(params![p, a, mode.as_str(), r], |r| r.get(0)).map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)
        })
        .await
    }

    async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        edit: &PolicyEdit,
        now: i64,
    ) -> Result<Option<PolicyChange>> {
        let (a, p, e) = (account.0.clone(), project_id.to_owned(), edit.clone());
        // One write transaction (BEGIN IMMEDIATE) from the read of the list to the last write: two
        // changes of one list used to read it in turn and then write, the later write dropping what
        // the earlier one had added.
        self.write(move |tx| policy_edit(tx, &a, &p, &e, now)).await
    }

    async fn list_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> Result<(u64, Vec<PolicyEntry>)> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        let search = search.map(|(m, w)| (m, contains_pattern(w)));
        self.run(move |c| {
            // The remote devices whose list matches, then their whole lists.
            let mut args: Vec<rusqlite::types::Value> = vec![p.clone().into(), a.clone().into(), mode.as_str().to_owned().into()];
            let mut cond = String::from("project_id = ?1 AND account_id = ?2 AND mode = ?3");
            if let Some((kind, pattern)) = &search {
                args.push(pattern.clone().into());
                let column = match kind {
                    PolicySearch::Remote => "remote_device_id",
                    PolicySearch::Field => "field_device_id",
                };
                cond.push_str(&format!(" AND {column} LIKE ?4 ESCAPE '\\'"));
            }
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(DISTINCT remote_device_id) FROM policies WHERE {cond}"),
                    rusqlite::params_from_iter(&args),
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let n = args.len();
            args.push(limit.into());
            args.push(offset.into());
            let remotes: Vec<String> = {
                let sql = format!(
                    "SELECT DISTINCT remote_device_id FROM policies WHERE {cond} ORDER BY remote_device_id LIMIT ?{} OFFSET ?{}",
                    n + 1,
                    n + 2
                );
                let mut s = c.prepare(&sql).map_err(db)?;
                let rows = s.query_map(rusqlite::params_from_iter(&args), |r| r.get(0)).map_err(db)?;
                rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)?
            };
            let mut entries = Vec::with_capacity(remotes.len());
            let mut s = c
                .prepare_cached(
                    "SELECT field_device_id, added_at FROM policies WHERE project_id = ?1 AND account_id = ?2
                     AND mode = ?3 AND remote_device_id = ?4 ORDER BY field_device_id",
                )
                .map_err(db)?;
            for remote in remotes {
                let rows = s
                    .query_map(params![p, a, mode.as_str(), remote], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db)?;
                let list = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?;
                let modify_time = list.iter().map(|(_, t)| *t).max().unwrap_or(0);
                entries.push(PolicyEntry {
                    remote_device_id: remote,
                    field_device_ids: list.into_iter().map(|(f, _)| f).collect(),
                    modify_time,
                });
            }
            Ok((total as u64, entries))
        })
        .await
    }

    async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remotes: &[String],
    ) -> Result<Vec<String>> {
        let (a, p, remotes) = (account.0.clone(), project_id.to_owned(), remotes.to_vec());
        self.write(move |tx| {
            let mut deleted = Vec::new();
            for r in remotes {
                let n = tx
                    .execute(
                        "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3 AND remote_device_id = ?4",
                        params![p, a, mode.as_str(), r],
                    )
                    .map_err(db)?;
                if n > 0 {
                    deleted.push(r);
                }
            }
            Ok(deleted)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options() {
        let none = Options::default();
        assert_eq!(Options::parse("data/t.db").unwrap(), ("data/t.db", none));
        let capped = Options {
            max_database_bytes: Some(1 << 30),
        };
        assert_eq!(
            Options::parse("data/t.db?max_database_bytes=1073741824").unwrap(),
            ("data/t.db", capped)
        );
        for bad in [
            "t.db?max_database_bytes=1000",
            "t.db?max_database_bytes=1GiB",
            "t.db?cache=shared",
        ] {
            assert!(Options::parse(bad).is_err(), "{bad}");
        }
    }

    /// SQLite's SQLITE_FULL, from a full disk or from `max_page_count`, is `Full`; other failures
    /// are not.
    #[test]
    fn a_full_database_is_full() {
        let mut c = Connection::open_in_memory().unwrap();
        init(
            &mut c,
            Options {
                max_database_bytes: Some(MIN_DATABASE_BYTES),
            },
        )
        .unwrap();
        c.execute_batch("CREATE TABLE t (b BLOB)").unwrap();
        let e = c
            .execute(
                "INSERT INTO t VALUES (zeroblob(?1))",
                [MIN_DATABASE_BYTES as i64 * 2],
            )
            .unwrap_err();
        assert!(matches!(db(e), StoreError::Full(_)));
        let e = c.execute("INSERT INTO nope VALUES (1)", []).unwrap_err();
        assert!(matches!(db(e), StoreError::Database(_)));
    }

    /// The upkeep runs every second on stores of millions of sessions and parts: each of its
    /// look-ups reads an index range, never a whole table.
    #[test]
    fn upkeep_lookups_read_indexes_not_whole_tables() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        for sql in [
            upkeep_sql::SESSIONS_TO_SCORE,
            upkeep_sql::EXPIRE_HEARTBEATS,
            sessions::IDLE_PARTS,
            sessions::PARTS_TO_COMPACT,
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
