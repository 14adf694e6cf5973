//! The embedded backend: SQLite in WAL mode with `synchronous=FULL` (an acknowledged write survives a
//! crash), a small connection pool, and write transactions that take the write lock up front
//! (`BEGIN IMMEDIATE`) so that concurrent writers — the server and `teleoscope keys` — wait on the
//! busy timeout instead of failing. Blocking calls run on tokio's blocking pool.
//!
//! One file per part of the store it implements (`projects.rs` implements `store::Projects`, ...);
//! `schema.rs` holds the numbered migrations, `writer.rs` the group commit of appends.
//!
//! A write that fails for lack of space (a full disk, or `max_database_bytes`) is `StoreError::Full`:
//! see `health.rs` for how it is reported and how the store notices that space has returned.

mod accounts;
mod checkpoint;
mod counters;
mod devices;
mod health;
mod policies;
mod projects;
mod rollup;
mod schema;
mod sessions;
mod upkeep;
mod writer;

use super::{Result, Store};
use crate::errors::StoreError;
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, Connection, TransactionBehavior};
use r2d2_sqlite::SqliteConnectionManager;
use std::path::Path;
use std::sync::Arc;

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: writer::Writer,
    _checkpointer: checkpoint::Checkpointer,
    health: Arc<health::Health>,
    windows: counters::Windows,
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
        schema::migrate(&mut conn)?;
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
        // A batch of reports dirties a few pages each: with SQLite's default 2 MB of cache they
        // spilled to the WAL in the middle of the transaction, some pages more than once. The WAL
        // is checkpointed beside the writer (`checkpoint.rs`), by the writer only past a bound.
        write_conn.execute_batch(&format!(
            "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = {};",
            checkpoint::WRITER_CHECKPOINT_PAGES
        ))?;
        let health = Arc::new(health::Health::default());
        let writer = writer::Writer::start(write_conn, health.clone())?;
        let mut checkpoint_conn = Connection::open(path)?;
        init(&mut checkpoint_conn, options)?;
        let checkpointer = checkpoint::start(checkpoint_conn)?;
        Ok(SqliteStore {
            pool,
            writer,
            _checkpointer: checkpointer,
            health,
            windows: Default::default(),
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

    /// Run a write on the writer (`writer.rs`), batched with the others in one transaction; its
    /// error rolls back only what it changed.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.writer.write(move |c| Ok((f(c)?, true))).await
    }
}

fn corrupt(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::InvalidColumnType(0, format!("{what}={value}"), rusqlite::types::Type::Text)
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
}
