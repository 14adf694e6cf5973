//! One server under test: a fresh store (a SQLite file in its own temporary directory, or a schema
//! of its own in a PostgreSQL database), optionally behind a baseline decorator, the real HTTP
//! server on `127.0.0.1:0` with rate limits lifted, an account with an API key, a project, and
//! device pairs with their credentials. On PostgreSQL it can be several servers on the one schema
//! (nodes behind a load balancer), each with its own store: its own pool and writer tasks.
//!
//! [`Backend`] is the one place that knows which database the stores live in; [`Db`] names one
//! store's database for what the bench reads there directly (footprint, marking history scored).

use super::ingest::Fleet;
use super::stores::{DecodeOnly, Naive};
use crate::client::Credentials;
use anyhow::Context;
use futures_util::{stream, StreamExt};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use teleoscope_server::config::{Config, Secret};
use teleoscope_server::domain::devices::NewDevice;
use teleoscope_server::domain::{ids, Domain};
use teleoscope_server::http::{self, Running};
use teleoscope_server::model::AccountId;
use teleoscope_server::store::postgres;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The real store.
    Server,
    /// Baseline: nothing stored (the ceiling).
    DecodeOnly,
    /// Baseline: one row per sample (a SQLite file of its own: SQLite stores only).
    Naive,
}

/// Where each fixture's store is made.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A temporary directory under this one, holding `teleoscope.db` (and the naive baseline's
    /// `naive.db`).
    Sqlite(PathBuf),
    /// A fresh schema `bench_<pid>_<n>` in the PostgreSQL database of this URL.
    Postgres(String),
}

/// One store's database, as the bench reads it directly.
#[derive(Debug, Clone)]
pub enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (the driver's, without the store's own options) whose connections see only
    /// the store's schema.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `database` names one (`postgres://...`), else SQLite files under `dir` (the
    /// system's temporary directory by default). A `sqlite://` URL changes nothing: the global
    /// `--database` and `TELEOSCOPE_DATABASE` reach the bench too, and its SQLite stores are always
    /// temporary files.
    pub fn new(database: Option<&str>, dir: Option<PathBuf>) -> Backend {
        match database {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Backend::Postgres(url.to_owned())
            }
            _ => Backend::Sqlite(dir.unwrap_or_else(std::env::temp_dir)),
        }
    }

    /// What the report says about where the stores are (a PostgreSQL URL without its user and
    /// password).
    pub fn describe(&self) -> String {
        match self {
            Backend::Sqlite(dir) => format!("SQLite files in {}", dir.display()),
            Backend::Postgres(url) => {
                let url = url.split('?').next().unwrap_or(url);
                let at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
                format!("PostgreSQL, a schema per part in {at}")
            }
        }
    }

    /// Whether the naive baseline can run: it is a SQLite file by nature.
    pub fn has_naive(&self) -> bool {
        matches!(self, Backend::Sqlite(_))
    }

    /// A fresh, empty place for one store: its `database` URL for the server, its [`Db`], the
    /// naive baseline's file (SQLite only), and what removes it when dropped (nothing if `keep`).
    pub async fn fresh(&self, keep: bool) -> anyhow::Result<(String, Db, Option<PathBuf>, Place)> {
        match self {
            Backend::Sqlite(base) => {
                let dir = tempfile::Builder::new()
                    .prefix("teleoscope-bench-")
                    .tempdir_in(base)
                    .with_context(|| format!("creating a directory in {}", base.display()))?;
                let path = dir.path().join("teleoscope.db");
                let naive = dir.path().join("naive.db");
                let place = if keep {
                    eprintln!("[bench] keeping {}", dir.keep().display());
                    Place::Kept
                } else {
                    Place::Dir { _dir: dir }
                };
                Ok((
                    format!("sqlite://{}", path.display()),
                    Db::Sqlite(path),
                    Some(naive),
                    place,
                ))
            }
            Backend::Postgres(url) => {
                static N: AtomicU64 = AtomicU64::new(0);
                let schema = format!(
                    "bench_{}_{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                );
                let admin = postgres::Options::parse(url)?.0;
                connect(&admin)
                    .await?
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .with_context(|| format!("creating schema {schema}"))?;
                let store_url = in_schema(url, &schema);
                let place = if keep {
                    eprintln!("[bench] keeping schema {schema}: {store_url}");
                    Place::Kept
                } else {
                    Place::Schema {
                        admin: admin.clone(),
                        schema: schema.clone(),
                    }
                };
                Ok((
                    store_url,
                    Db::Postgres(in_schema(&admin, &schema)),
                    None,
                    place,
                ))
            }
        }
    }
}

/// `url` with its connections' `search_path` set to `schema` alone, named after it (so that the
/// drop can end them).
fn in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}&application_name={schema}")
}

/// A connection of the bench's own (not the store's) to a PostgreSQL database.
pub async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    tokio::spawn(conn);
    Ok(client)
}

/// What holds a fixture's store, removed on drop.
pub enum Place {
    /// The temporary directory of a SQLite store.
    Dir { _dir: tempfile::TempDir },
    /// The schema of a PostgreSQL store, dropped with everything in it.
    Schema { admin: String, schema: String },
    /// Kept (`--keep`): its path or schema was printed.
    Kept,
}

impl Drop for Place {
    fn drop(&mut self) {
        let Place::Schema { admin, schema } = self else {
            return;
        };
        // The store's connections may still be open, even inside a transaction whose rollback
        // waits for the runtime this drop blocks: end them first.
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{schema}' AND pid <> pg_backend_pid();
             DROP SCHEMA {schema} CASCADE"
        );
        let admin = admin.clone();
        // Drop runs inside the runtime: the schema goes on a thread and a runtime of its own.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(async { anyhow::Ok(connect(&admin).await?.batch_execute(&sql).await?) })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("[bench] could not drop schema {schema}: {dropped:?}");
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchDevice {
    pub id: String,
    pub creds: Credentials,
}

/// A field device and the remote device that drives it.
#[derive(Debug, Clone)]
pub struct Pair {
    pub field: BenchDevice,
    pub remote: BenchDevice,
}

pub struct Fixture {
    pub config: Config,
    /// The store's database.
    pub db: Db,
    /// Node 0's store, the one the bench drives and reads directly.
    pub domain: Domain,
    /// The other nodes' stores on the same database.
    others: Vec<Domain>,
    /// The naive baseline and its database.
    pub naive: Option<(Arc<Naive>, Db)>,
    /// Each node's address once served, node 0's first.
    pub addrs: Vec<SocketAddr>,
    pub account: AccountId,
    pub api: Credentials,
    pub project_id: String,
    pub pairs: Vec<Pair>,
    running: Vec<Running>,
    // Last: the directory or schema outlives the store.
    _place: Place,
}

/// The rate limit that is no limit: the bench measures the server, not its brakes.
pub const UNLIMITED: u32 = 10_000_000;

/// The server's configuration for the benchmark: listen anywhere, no rate limit in the way; secrets
/// sealed under `master_key` when given (as a production server does).
pub fn config(database: String, master_key: Option<String>) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        database,
        master_key: master_key.map(Secret),
        ..Config::default()
    };
    config.rate_limit_per_second = UNLIMITED;
    for limit in config.rate_limits.values_mut() {
        *limit = UNLIMITED;
    }
    config.device_rate_limit_per_second = UNLIMITED;
    config
}

/// Devices created at once by [`Tenant::provision`].
pub const PROVISION_IN_FLIGHT: usize = 16;

/// What the bench provisions in a fresh store: an account with an API key, a project, and device
/// pairs with their credentials.
pub struct Tenant {
    pub account: AccountId,
    pub api: Credentials,
    pub project_id: String,
    pub pairs: Vec<Pair>,
}

impl Tenant {
    /// Provision `pairs` device pairs through the domain, as `CreateDevice` would, `in_flight`
    /// devices at a time: each is its own write transaction (a commit, an fsync on SQLite), so the
    /// concurrency overlaps the domain's work with the commits (and lets PostgreSQL group them).
    pub async fn provision(
        domain: &Domain,
        pairs: usize,
        in_flight: usize,
    ) -> anyhow::Result<Tenant> {
        let key = domain.create_key(None, None, None).await.map_err(err)?;
        let account = AccountId(key.account_id.clone());
        let project = domain
            .create_project(&account, "bench", Some("teleoscope bench"), None)
            .await
            .map_err(err)?;
        let make = |kind: &str, i: usize| {
            let id = format!("{kind}_{i:03}");
            let creds = Credentials {
                secret_id: format!("{}:{id}", project.project_id),
                secret_key: ids::device_token(),
            };
            BenchDevice { id, creds }
        };
        let list: Vec<Pair> = (0..pairs)
            .map(|i| Pair {
                field: make("field", i),
                remote: make("remote", i),
            })
            .collect();
        let devices = list
            .iter()
            .flat_map(|p| [(&p.field, "field"), (&p.remote, "remote")]);
        let (account, project_id) = (&account, &project.project_id);
        let mut creating = stream::iter(devices)
            .map(|(d, kind)| {
                domain.create_device(
                    account,
                    project_id,
                    NewDevice {
                        device_id: &d.id,
                        name: &d.id,
                        device_type: kind,
                        token: &d.creds.secret_key,
                    },
                )
            })
            .buffer_unordered(in_flight.max(1));
        while let Some(created) = creating.next().await {
            created.map_err(err)?;
        }
        drop(creating);
        Ok(Tenant {
            account: account.clone(),
            api: Credentials {
                secret_id: key.secret_id,
                secret_key: key.secret_key,
            },
            project_id: project_id.clone(),
            pairs: list,
        })
    }
}

fn err(e: teleoscope_server::errors::DomainError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Fixture {
    /// A fresh store with an account, a project and `pairs` device pairs, opened by `nodes`
    /// servers (more than one on PostgreSQL only); not served yet. With `keep`, the directory or
    /// schema stays after the run (and is printed).
    pub async fn start(
        backend: &Backend,
        variant: Variant,
        pairs: usize,
        nodes: usize,
        keep: bool,
    ) -> anyhow::Result<Fixture> {
        anyhow::ensure!(
            nodes == 1 || (nodes > 1 && variant != Variant::Naive),
            "{nodes} nodes: the naive baseline runs on one"
        );
        let (database, db, naive_path, place) = backend.fresh(keep).await?;
        let config = config(database, None);
        let mut domains = Vec::with_capacity(nodes);
        let mut naive = None;
        for _ in 0..nodes {
            let mut domain = teleoscope_server::open_domain(&config).await?;
            match variant {
                Variant::Server => {}
                Variant::DecodeOnly => {
                    domain.store = Arc::new(DecodeOnly {
                        inner: domain.store.clone(),
                    })
                }
                Variant::Naive => {
                    let path = naive_path
                        .clone()
                        .context("the naive baseline needs a SQLite store")?;
                    let n = Arc::new(Naive::open(&path, domain.store.clone())?);
                    domain.store = n.clone();
                    naive = Some((n, Db::Sqlite(path)));
                }
            }
            domains.push(domain);
        }
        let domain = domains.remove(0);
        let Tenant {
            account,
            api,
            project_id,
            pairs,
        } = Tenant::provision(&domain, pairs, PROVISION_IN_FLIGHT).await?;
        Ok(Fixture {
            config,
            db,
            addrs: Vec::new(),
            domain,
            others: domains,
            naive,
            account,
            api,
            project_id,
            pairs,
            running: Vec::new(),
            _place: place,
        })
    }

    /// Start each node's HTTP server (and its upkeep) on its store.
    pub async fn serve(&mut self) -> anyhow::Result<()> {
        for domain in std::iter::once(&self.domain).chain(&self.others) {
            let running = http::start(self.config.clone(), domain.clone()).await?;
            self.addrs.push(running.addr);
            self.running.push(running);
        }
        Ok(())
    }

    /// Its devices and where they report, for `ingest`.
    pub fn fleet(&self) -> Fleet<'_> {
        Fleet {
            addrs: &self.addrs,
            pairs: &self.pairs,
        }
    }

    /// Node 0's address: where everything but ingest goes.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Stop the HTTP servers (the stores stay until the fixture is dropped).
    pub async fn stop_serving(&mut self) {
        for r in self.running.drain(..) {
            r.shutdown(Duration::from_secs(5)).await;
        }
        self.addrs.clear();
    }
}
