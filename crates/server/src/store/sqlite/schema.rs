//! The schema: numbered migrations, applied in order and recorded in `PRAGMA user_version`.

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};

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
    // 10: indexes a live report does not rewrite. SQLite rewrites a row's entry in every index whose
    // columns (or partial-index condition) an UPDATE assigns, changed or not: each report rewrote its
    // part's entries in `parts_open` (its last report) and `parts_to_compact` (its chunk count), a
    // third of the pages a report wrote to the WAL. Idle parts are now found by the 16-second
    // bucket of their last report, which changes every eighth report; compaction candidates are
    // the parts that reached 64 chunks (`store::upkeep::COMPACT_LIVE_CHUNKS`) or ended with several.
    r#"
    ALTER TABLE parts ADD COLUMN report_bucket INTEGER NOT NULL DEFAULT 0;
    UPDATE parts SET report_bucket = last_report / 16;
    DROP INDEX parts_open;
    CREATE INDEX parts_open ON parts(report_bucket) WHERE ended = 0;
    DROP INDEX parts_to_compact;
    CREATE INDEX parts_to_compact ON parts(part_key) WHERE chunks >= 64 OR (ended = 1 AND chunks > 1);
    "#,
];

/// Seconds per `parts.report_bucket` (migration 10).
pub const REPORT_BUCKET: i64 = 16;

pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
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
