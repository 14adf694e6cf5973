//! One server under test: a fresh SQLite store in its own temporary directory (optionally behind a
//! baseline decorator), the real HTTP server on `127.0.0.1:0` with rate limits lifted, an account
//! with an API key, a project, and device pairs with their credentials.

use super::stores::{DecodeOnly, Naive};
use crate::client::Credentials;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use teleoscope_server::config::Config;
use teleoscope_server::domain::devices::NewDevice;
use teleoscope_server::domain::{ids, Domain};
use teleoscope_server::http::{self, Running};
use teleoscope_server::model::AccountId;

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The real store.
    Server,
    /// Baseline: nothing stored (the ceiling).
    DecodeOnly,
    /// Baseline: one row per sample.
    Naive,
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
    pub db_path: PathBuf,
    pub naive_path: PathBuf,
    pub domain: Domain,
    pub naive: Option<Arc<Naive>>,
    pub addr: SocketAddr,
    pub account: AccountId,
    pub api: Credentials,
    pub project_id: String,
    pub pairs: Vec<Pair>,
    running: Option<Running>,
    // Last: the directory outlives the store (`None` when kept).
    _dir: Option<tempfile::TempDir>,
}

/// The server's configuration for the benchmark: listen anywhere, no rate limit in the way.
pub fn config(database: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("valid address"),
        database: format!("sqlite://{}", database.display()),
        ..Config::default()
    };
    config.rate_limit_per_second = 10_000_000;
    config.rate_limits.clear();
    config.device_rate_limit_per_second = 10_000_000;
    config
}

impl Fixture {
    /// A fresh store with an account, a project and `pairs` device pairs; not served yet.
    /// With `keep`, the directory stays after the run (and its path is printed).
    pub async fn start(
        base: &Path,
        variant: Variant,
        pairs: usize,
        keep: bool,
    ) -> anyhow::Result<Fixture> {
        let dir = tempfile::Builder::new()
            .prefix("teleoscope-bench-")
            .tempdir_in(base)
            .with_context(|| format!("creating a directory in {}", base.display()))?;
        let db_path = dir.path().join("teleoscope.db");
        let naive_path = dir.path().join("naive.db");
        let dir = if keep {
            eprintln!("[bench] keeping {}", dir.keep().display());
            None
        } else {
            Some(dir)
        };
        let config = config(&db_path);
        let mut domain = teleoscope_server::open_domain(&config).await?;
        let mut naive = None;
        match variant {
            Variant::Server => {}
            Variant::DecodeOnly => {
                domain.store = Arc::new(DecodeOnly {
                    inner: domain.store.clone(),
                })
            }
            Variant::Naive => {
                let n = Arc::new(Naive::open(&naive_path, domain.store.clone())?);
                domain.store = n.clone();
                naive = Some(n);
            }
        }
        let err = |e: teleoscope_server::errors::DomainError| anyhow::anyhow!("{e}");
        let key = domain.create_key(None, None, None).await.map_err(err)?;
        let account = AccountId(key.account_id.clone());
        let project = domain
            .create_project(&account, "bench", Some("teleoscope bench"), None)
            .await
            .map_err(err)?;
        let mut list = Vec::with_capacity(pairs);
        for i in 0..pairs {
            let make = |kind: &str| {
                let id = format!("{kind}_{i:03}");
                let creds = Credentials {
                    secret_id: format!("{}:{id}", project.project_id),
                    secret_key: ids::device_token(),
                };
                BenchDevice { id, creds }
            };
            let (field, remote) = (make("field"), make("remote"));
            for (d, kind) in [(&field, "field"), (&remote, "remote")] {
                domain
                    .create_device(
                        &account,
                        &project.project_id,
                        NewDevice {
                            device_id: &d.id,
                            name: &d.id,
                            device_type: kind,
                            token: &d.creds.secret_key,
                        },
                    )
                    .await
                    .map_err(err)?;
            }
            list.push(Pair { field, remote });
        }
        Ok(Fixture {
            config,
            db_path,
            naive_path,
            addr: "127.0.0.1:0".parse().expect("valid address"),
            domain,
            naive,
            account,
            api: Credentials {
                secret_id: key.secret_id,
                secret_key: key.secret_key,
            },
            project_id: project.project_id,
            pairs: list,
            running: None,
            _dir: dir,
        })
    }

    /// Start the HTTP server (and its upkeep) on the store.
    pub async fn serve(&mut self) -> anyhow::Result<()> {
        let running = http::start(self.config.clone(), self.domain.clone()).await?;
        self.addr = running.addr;
        self.running = Some(running);
        Ok(())
    }

    /// Stop the HTTP server (the store stays until the fixture is dropped).
    pub async fn stop_serving(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown(Duration::from_secs(5)).await;
        }
    }
}
