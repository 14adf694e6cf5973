//! The schema: numbered migrations, applied in order under an advisory lock (nodes that start
//! together migrate one at a time) and recorded in `teleoscope_schema`.
//!
//! Every table is keyed by account first and every foreign key includes it, so that the schema
//! distributes by `account_id` on Citus (docs/deploy.md lists the distribution keys). Ids are
//! `TEXT COLLATE "C"`: lists order them by byte, as on SQLite, whatever the database's locale.
//! Sample chunks are partitioned by week of their first sample (`partitions.rs`), so that retention
//! drops whole partitions.

use tokio_postgres::Client;

/// The advisory lock held while migrating (any number that no other lock of ours uses).
const MIGRATION_LOCK: i64 = 0x7465_6c65_0001;

/// Numbered schema migrations; append only.
const MIGRATIONS: &[&str] = &[
    // 1: the whole schema of SQLite's migrations 1-9, written for PostgreSQL.
    r#"
    CREATE TABLE accounts (
        account_id TEXT COLLATE "C" PRIMARY KEY,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE api_keys (
        secret_id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
        secret_key TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE console_sessions (
        token_hash TEXT COLLATE "C" PRIMARY KEY,
        secret_id TEXT COLLATE "C" NOT NULL REFERENCES api_keys(secret_id) ON DELETE CASCADE,
        account_id TEXT COLLATE "C" NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX console_sessions_by_key ON console_sessions(secret_id);
    CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);

    -- A device credential names the project alone, so project ids are unique across accounts: this
    -- small table (a reference table on Citus) says which account owns each.
    CREATE TABLE project_owners (
        project_id TEXT COLLATE "C" PRIMARY KEY,
        account_id TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE projects (
        account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
        project_id TEXT COLLATE "C" NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        policy_mode TEXT NOT NULL,
        modify_time BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        sec_enabled BOOLEAN NOT NULL DEFAULT FALSE,
        sec_key TEXT,
        auto_register BIGINT NOT NULL DEFAULT 0,
        field_list_enable BOOLEAN NOT NULL DEFAULT FALSE,
        callback_url TEXT,
        callback_sign_key TEXT,
        PRIMARY KEY (account_id, project_id)
    );
    CREATE INDEX projects_by_account ON projects(account_id, created_at, project_id);

    CREATE TABLE devices (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        device_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        device_type TEXT NOT NULL,
        token TEXT NOT NULL,
        auto_registered BOOLEAN NOT NULL,
        status TEXT NOT NULL,
        last_report_time BIGINT NOT NULL,
        modify_time BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, project_id, device_id),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    CREATE INDEX devices_ready ON devices(heartbeat_at) WHERE status = 'ready';

    CREATE TABLE policies (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        mode TEXT NOT NULL,
        remote_device_id TEXT COLLATE "C" NOT NULL,
        field_device_id TEXT COLLATE "C" NOT NULL,
        added_at BIGINT NOT NULL,
        PRIMARY KEY (account_id, project_id, mode, remote_device_id, field_device_id),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );

    CREATE TABLE sessions (
        account_id TEXT COLLATE "C" NOT NULL,
        session_key BIGINT GENERATED ALWAYS AS IDENTITY,
        project_id TEXT COLLATE "C" NOT NULL,
        session_id TEXT COLLATE "C" NOT NULL,
        field_device_id TEXT COLLATE "C" NOT NULL,
        remote_device_id TEXT COLLATE "C" NOT NULL,
        start_time BIGINT NOT NULL,
        end_time BIGINT NOT NULL,
        width BIGINT NOT NULL DEFAULT 0,
        height BIGINT NOT NULL DEFAULT 0,
        config_width BIGINT NOT NULL DEFAULT 0,
        config_height BIGINT NOT NULL DEFAULT 0,
        multi_mode BIGINT NOT NULL DEFAULT 0,
        has_field_part BOOLEAN NOT NULL DEFAULT FALSE,
        quality TEXT NOT NULL DEFAULT 'good',
        quality_final BOOLEAN NOT NULL DEFAULT FALSE,
        reasons TEXT NOT NULL DEFAULT '[]',
        live BOOLEAN NOT NULL DEFAULT TRUE,
        last_update BIGINT NOT NULL,
        scored_at BIGINT NOT NULL DEFAULT -1,
        PRIMARY KEY (account_id, session_key),
        -- SessionIds are unique per account, also under concurrent first reports on two nodes.
        UNIQUE (account_id, session_id),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    CREATE INDEX sessions_by_key ON sessions(session_key);
    CREATE INDEX sessions_by_start ON sessions(account_id, project_id, start_time DESC, session_id);
    CREATE INDEX sessions_by_field
        ON sessions(account_id, project_id, field_device_id, start_time DESC, session_id);
    CREATE INDEX sessions_by_remote
        ON sessions(account_id, project_id, remote_device_id, start_time DESC, session_id, field_device_id);
    CREATE INDEX sessions_by_quality ON sessions(account_id, project_id, quality, start_time DESC, session_id);
    CREATE INDEX sessions_live ON sessions(account_id, project_id, start_time DESC, session_id) WHERE live;
    CREATE INDEX sessions_unscored ON sessions(session_key) WHERE NOT quality_final;

    CREATE TABLE parts (
        account_id TEXT COLLATE "C" NOT NULL,
        part_key BIGINT GENERATED ALWAYS AS IDENTITY,
        session_key BIGINT NOT NULL,
        device_id TEXT COLLATE "C" NOT NULL,
        device_type TEXT NOT NULL,
        start_time BIGINT NOT NULL,
        ver TEXT NOT NULL,
        sdk_mode TEXT NOT NULL,
        width BIGINT NOT NULL,
        height BIGINT NOT NULL,
        config_width BIGINT NOT NULL,
        config_height BIGINT NOT NULL,
        multi_mode BIGINT NOT NULL,
        schema TEXT NOT NULL,
        last_offset BIGINT NOT NULL DEFAULT -1,
        samples BIGINT NOT NULL DEFAULT 0,
        chunks BIGINT NOT NULL DEFAULT 0,
        last_report BIGINT NOT NULL,
        ended BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (account_id, part_key),
        UNIQUE (account_id, session_key, device_type),
        FOREIGN KEY (account_id, session_key) REFERENCES sessions ON DELETE CASCADE
    );
    CREATE INDEX parts_by_key ON parts(part_key);
    CREATE INDEX parts_open ON parts(last_report) WHERE NOT ended;
    CREATE INDEX parts_open_by_device ON parts(account_id, device_id) WHERE NOT ended;
    CREATE INDEX parts_to_compact ON parts(part_key) WHERE chunks > 1;

    -- The encoded samples of a part, one row per accepted report until compaction merges them;
    -- `start_time` is the absolute time of the chunk's first sample, the partition key.
    CREATE TABLE chunks (
        account_id TEXT COLLATE "C" NOT NULL,
        part_key BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        start_time BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (account_id, part_key, seq, start_time),
        FOREIGN KEY (account_id, part_key) REFERENCES parts ON DELETE CASCADE
    ) PARTITION BY RANGE (start_time);

    -- Rollups (docs/storage.md): session counts per start hour (list pages), quarter-hour and local
    -- day sums of session totals, and each device's days of sessions as a bit set per month.
    CREATE TABLE session_hours (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        hour BIGINT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (account_id, project_id, hour),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    CREATE TABLE session_quarters (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        quarter BIGINT NOT NULL,
        sessions BIGINT NOT NULL, minutes BIGINT NOT NULL, not_bad BIGINT NOT NULL,
        voice BIGINT NOT NULL, sd BIGINT NOT NULL, hd BIGINT NOT NULL, fhd BIGINT NOT NULL,
        two_k BIGINT NOT NULL, four_k BIGINT NOT NULL, online BIGINT NOT NULL,
        multi_voice BIGINT NOT NULL, multi_sd BIGINT NOT NULL, multi_hd BIGINT NOT NULL,
        multi_fhd BIGINT NOT NULL, multi_two_k BIGINT NOT NULL, multi_four_k BIGINT NOT NULL,
        multi_online BIGINT NOT NULL,
        PRIMARY KEY (account_id, project_id, quarter),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    CREATE TABLE session_days (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        day BIGINT NOT NULL,
        sessions BIGINT NOT NULL, minutes BIGINT NOT NULL, not_bad BIGINT NOT NULL,
        voice BIGINT NOT NULL, sd BIGINT NOT NULL, hd BIGINT NOT NULL, fhd BIGINT NOT NULL,
        two_k BIGINT NOT NULL, four_k BIGINT NOT NULL, online BIGINT NOT NULL,
        multi_voice BIGINT NOT NULL, multi_sd BIGINT NOT NULL, multi_hd BIGINT NOT NULL,
        multi_fhd BIGINT NOT NULL, multi_two_k BIGINT NOT NULL, multi_four_k BIGINT NOT NULL,
        multi_online BIGINT NOT NULL,
        PRIMARY KEY (account_id, project_id, day),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    CREATE TABLE device_months (
        account_id TEXT COLLATE "C" NOT NULL,
        project_id TEXT COLLATE "C" NOT NULL,
        month BIGINT NOT NULL,
        role BIGINT NOT NULL,
        device_id TEXT COLLATE "C" NOT NULL,
        days BIGINT NOT NULL,
        PRIMARY KEY (account_id, project_id, month, role, device_id),
        FOREIGN KEY (account_id, project_id) REFERENCES projects ON DELETE CASCADE
    );
    -- One row: the UTC offset whose local days `session_days` and `device_months` count.
    CREATE TABLE rollup_settings (day_offset BIGINT NOT NULL);

    -- Request counts of the current one-second windows, shared by every node (rate limits). Unlogged:
    -- a count lost in a crash is a window that restarts, nothing a client relied on.
    CREATE UNLOGGED TABLE request_windows (
        key TEXT COLLATE "C" PRIMARY KEY,
        second BIGINT NOT NULL,
        n BIGINT NOT NULL
    );
    "#,
];

/// Applies the migrations this database has not seen yet.
pub async fn migrate(client: &mut Client) -> anyhow::Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS teleoscope_schema (version BIGINT NOT NULL)")
        .await?;
    let version: i64 = tx
        .query_opt("SELECT version FROM teleoscope_schema", &[])
        .await?
        .map(|r| r.get(0))
        .unwrap_or(0);
    let version = version as usize;
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the database is at schema version {version}, newer than this build knows ({})",
            MIGRATIONS.len()
        );
    }
    for sql in &MIGRATIONS[version..] {
        tx.batch_execute(sql).await?;
    }
    tx.execute("DELETE FROM teleoscope_schema", &[]).await?;
    tx.execute(
        "INSERT INTO teleoscope_schema (version) VALUES ($1)",
        &[&(MIGRATIONS.len() as i64)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
