//! The shared backend: PostgreSQL, for several stateless nodes behind a load balancer
//! (docs/deploy.md). tokio-postgres with a deadpool pool: asynchronous all the way (no blocking
//! threads, unlike SQLite), prepared statements cached per connection, and a connection that
//! breaks (the database restarted) is dropped and replaced by the pool on the next request.
//!
//! One file per part of the store it implements (`projects.rs` implements `store::Projects`, ...),
//! as in `sqlite/`; `schema.rs` holds the numbered migrations, `writer.rs` the group commit of
//! appends, `partitions.rs` the weekly partitions of the sample chunks, `sums.rs` the write side of
//! the rollups (kept in step by the transactions that change sessions).
//!
//! What must hold across nodes lives in the database: SessionId uniqueness (a unique key),
//! device status and heartbeats (rows), rate-limit windows (`request_windows`), and upkeep, which
//! one node at a time runs (`upkeep.rs`: transaction-scoped advisory locks).
//!
//! Errors: a broken uniqueness rule is `Conflict`; a connection that fails or cannot be had, and a
//! transaction that lost to another (deadlock, serialization failure), is `Unavailable`
//! (retryable: clients get `ServiceUnavailable`, `/readyz` 503); anything else is `Database`.

mod accounts;
mod counters;
mod devices;
mod partitions;
mod parts;
mod policies;
mod projects;
mod rollup;
mod schema;
mod sessions;
mod sums;
mod upkeep;
mod writer;

use super::{Result, Store};
use crate::errors::StoreError;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

pub struct PgStore {
    pool: Pool,
    writer: writer::Writer,
    /// The UTC offset whose local days the rollups count (`rollup_settings`).
    day_offset: i64,
    partitions: partitions::Partitions,
}

/// Settings of the PostgreSQL store, given after `?` in its URL beside the driver's own
/// (`postgres://user@host/db?pool_size=16&connect_timeout=5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Connections per node (default 16). The writer takes [`writer::WRITERS`] of them (at most
    /// half).
    pub pool_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { pool_size: 16 }
    }
}

impl Options {
    /// Takes our options out of the URL's query, leaving the driver's.
    pub fn parse(url: &str) -> anyhow::Result<(String, Options)> {
        let mut options = Options::default();
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), options));
        };
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("pool_size", v)) => {
                    options.pool_size = v.parse().ok().filter(|n| (2..=1000).contains(n)).ok_or_else(|| {
                        anyhow::anyhow!("pool_size=`{v}` in the database URL: expected a number of connections from 2 to 1000")
                    })?;
                }
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        Ok((url, options))
    }
}

/// How long a request waits for a connection, and a new connection for the database, before the
/// store answers `Unavailable`: a client gets a retryable error, never a hang.
const WAIT: Duration = Duration::from_secs(5);

/// A database error: `Unavailable` when the connection is gone or cannot be made (the database
/// restarting, a network failure, an admin shutting it down), or when the transaction lost to
/// another (a deadlock, a serialization failure: it can run again as it is); else `Database`.
fn db(e: tokio_postgres::Error) -> StoreError {
    let unavailable = e.is_closed()
        || e.as_db_error().is_none()
        || e.code().is_some_and(|c| {
            c.code().starts_with("08") // connection exception
                || c.code().starts_with("57P") // admin/crash shutdown, cannot connect now
                || *c == SqlState::TOO_MANY_CONNECTIONS
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::T_R_SERIALIZATION_FAILURE
        });
    if unavailable {
        StoreError::Unavailable(describe(&e))
    } else {
        StoreError::Database(describe(&e))
    }
}

/// The server's message and SQLSTATE, or the client's error with its cause (the driver's own
/// `Display` says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(d), _) => format!("{} (SQLSTATE {})", d.message(), d.code().code()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

/// An insert's error: `Conflict` for a broken uniqueness rule, else as [`db`].
fn conflict_or_db(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict
    } else {
        db(e)
    }
}

/// The pool could not give a connection: the database is unreachable or every connection is busy
/// for longer than [`WAIT`].
fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db(e),
        e => StoreError::Unavailable(e.to_string()),
    }
}

impl PgStore {
    /// Connects to (creating or migrating the schema of) the database at `url`; `day_offset` is the
    /// UTC offset in seconds of the configured time zone, whose local days the rollups count.
    pub async fn open(url: &str, day_offset: i64) -> anyhow::Result<PgStore> {
        let (url, options) = Options::parse(url)?;
        let mut pg: tokio_postgres::Config = url.parse()?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(WAIT);
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // A connection that broke is found out when used (and dropped then); `Fast` adds no
                // query per checkout.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(WAIT))
            .recycle_timeout(Some(WAIT))
            .build()?;
        let mut client = pool.get().await?;
        schema::migrate(&mut client).await?;
        if rollup::set_day_offset(&mut client, day_offset).await? {
            tracing::info!(
                day_offset,
                "sessions and active devices summed by local day of the configured time zone"
            );
        }
        drop(client);
        let partitions = partitions::Partitions::default();
        let writer = writer::Writer::start(pool.clone(), partitions.clone(), day_offset);
        Ok(PgStore {
            pool,
            writer,
            day_offset,
            partitions,
        })
    }

    /// A pooled connection.
    async fn conn(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }

    /// A pooled connection, for `store::migrate`, which writes the tables directly.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.conn().await
    }

    /// Makes sure the partitions of `chunks` for chunks starting at these times exist.
    pub(crate) async fn ensure_partitions(
        &self,
        start_times: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let c = self.conn().await?;
        self.partitions.ensure(&c, start_times).await
    }
}

/// A stored value this build cannot read (a text column outside its enumeration).
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}={value}"))
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        let c = self.conn().await?;
        c.simple_query("SELECT 1").await.map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_options() {
        let (url, o) = Options::parse("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), o), ("postgres://u@h/db", Options::default()));
        let (url, o) = Options::parse("postgres://u@h/db?connect_timeout=3&pool_size=4").unwrap();
        assert_eq!(url, "postgres://u@h/db?connect_timeout=3");
        assert_eq!(o.pool_size, 4);
        for bad in ["postgres://h/db?pool_size=1", "postgres://h/db?pool_size=x"] {
            assert!(Options::parse(bad).is_err(), "{bad}");
        }
    }
}
