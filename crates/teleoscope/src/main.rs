//! The `teleoscope` binary: parses the command line and runs one command. The server is
//! `teleoscope-server`; `simulate` and `bench` are `teleoscope-fleet`'s; `demo` runs both.

mod demo;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::time::Duration;

/// jemalloc rather than glibc's allocator: a request allocates and frees many small buffers on the
/// runtime's threads and the writer's, and glibc's malloc and free took a third of the request
/// threads' CPU (docs/benchmark.md). mimalloc was as fast but held three times the memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use teleoscope_fleet::{bench, simulate};
use teleoscope_server::config::{Config, ServeArgs, StoreArgs};
use teleoscope_server::{cli, http, open_domain};

#[derive(Parser)]
#[command(
    name = "teleoscope",
    version,
    about = "Self-hosted telemetry server for remote operation (TRRO-compatible)"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, device API and metrics.
    Serve(ServeArgs),
    /// Serve a fresh embedded store with a demo account, project and devices.
    Demo(ServeArgs),
    /// Import DescribeDeviceSessionDetails responses (JSON files as the vendor returns them).
    Import {
        /// The project to import into; missing devices are created in it.
        #[arg(long)]
        project: String,
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Copy an installation from SQLite to PostgreSQL (accounts, keys, projects, devices,
    /// policies, sessions and samples), verifying each table's counts. The source is never
    /// modified; run it again to resume a copy that stopped.
    Migrate {
        /// The store to copy: sqlite://PATH.
        #[arg(long)]
        from: String,
        /// The database to copy into: postgres://USER@HOST:PORT/DATABASE.
        #[arg(long)]
        to: String,
    },
    /// Simulate a fleet: field/remote device pairs reporting realistic sessions through the device API.
    Simulate(simulate::SimulateArgs),
    /// The benchmark: ingest, query latencies, bytes per value, peak RSS, with two baselines
    /// (docs/benchmark.md). Runs on its own temporary stores.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key pair (and a new account unless --account is given).
    Create {
        #[arg(long)]
        account: Option<String>,
        #[arg(long, requires = "secret_key")]
        secret_id: Option<String>,
        #[arg(long, requires = "secret_id")]
        secret_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List key pairs (secret keys are never shown again).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a key pair; requests signed with it fail from now on.
    Delete { secret_id: String },
}

/// Logs to stderr, filtered by `TELEOSCOPE_LOG` (tracing `EnvFilter` syntax) or else `default_filter`;
/// coloured only on a terminal (a log file or a collector gets no escape codes, and the server does
/// not spend a request's time writing them).
fn init_logging(default_filter: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TELEOSCOPE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if std::env::var("TELEOSCOPE_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(serve) => {
            init_logging("info");
            teleoscope_server::config::raise_open_file_limit();
            let config = Config::load(&cli.store, &serve)?;
            let domain = open_domain(&config)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            if !domain.sealer.is_sealing() {
                tracing::warn!(
                    "no master key configured: secret keys and device tokens are stored unsealed"
                );
            }
            let running = http::start(config.clone(), domain).await?;
            tracing::info!(addr = %running.addr, tls = config.tls.is_some(), database = %config.database, "listening");
            http::shutdown_signal().await;
            tracing::info!("shutting down: draining in-flight requests");
            running.shutdown(Duration::from_secs(30)).await;
        }
        Command::Demo(serve) => {
            // The demo's terminal is for a person: session starts and ends, not a line per request.
            init_logging(&format!("info,{}=warn", http::gateway::REQUEST_LOG));
            teleoscope_server::config::raise_open_file_limit();
            let mut config = Config::load(&cli.store, &serve)?;
            // A fresh store each run unless the user named one.
            let _dir = match cli.store.database {
                Some(_) => None,
                None => {
                    let dir = tempfile::Builder::new()
                        .prefix("teleoscope-demo-")
                        .tempdir()?;
                    config.database = format!("sqlite://{}", dir.path().join("demo.db").display());
                    Some(dir)
                }
            };
            let domain = open_domain(&config).await?;
            let setup = demo::seed(&domain).await?;
            let running = http::start(config.clone(), domain).await?;
            demo::print(&setup, &config, running.addr);
            let fleet = demo::start_fleet(&setup, &config, running.addr);
            http::shutdown_signal().await;
            if let Some(fleet) = fleet {
                fleet.stop().await;
            }
            running.shutdown(Duration::from_secs(5)).await;
        }
        Command::Simulate(args) => simulate::main(args).await?,
        Command::Bench(args) => bench::run(args).await?,
        Command::Import { project, files } => {
            let config = Config::load(&cli.store, &ServeArgs::default())?;
            let domain = open_domain(&config)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            cli::import::run(&domain, &project, &files).await?;
        }
        Command::Migrate { from, to } => {
            init_logging("warn");
            cli::migrate::run(&from, &to).await?;
        }
        Command::Keys(cmd) => {
            let config = Config::load(&cli.store, &ServeArgs::default())?;
            let domain = open_domain(&config)
                .await
                .with_context(|| format!("opening {}", config.database))?;
            match cmd {
                KeysCommand::Create {
                    account,
                    secret_id,
                    secret_key,
                    json,
                } => {
                    cli::keys::create(
                        &domain,
                        account.as_deref(),
                        secret_id.as_deref(),
                        secret_key.as_deref(),
                        json,
                    )
                    .await?
                }
                KeysCommand::List { json } => cli::keys::list(&domain, json).await?,
                KeysCommand::Delete { secret_id } => cli::keys::delete(&domain, &secret_id).await?,
            }
        }
    }
    Ok(())
}
