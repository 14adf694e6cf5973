//! HTTP: the listener (`listener`: connections, TLS, timeouts, graceful shutdown), the routes — the
//! API endpoint `/` (see `gateway`), `/healthz`, `/readyz` and `/metrics` — and the admin listener
//! that can take the last three away from the public address (`admin_listen`); the web console
//! under `/console/` (`console`).

pub mod auth_failures;
pub mod bodies;
pub mod console;
pub mod gateway;
pub mod listener;
pub mod metrics;
pub mod ratelimit;

use crate::config::Config;
use crate::domain::Domain;
use crate::errors::StoreError;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct AppState {
    pub config: Config,
    pub domain: Domain,
    pub metrics: metrics::Metrics,
    /// Failed signatures per SecretId and per source address (the brake on guessing).
    pub auth_failures: auth_failures::AuthFailures,
    /// The memory that request bodies being read may take, all together.
    pub bodies: bodies::Budget,
}

impl AppState {
    pub fn new(config: Config, domain: Domain) -> AppState {
        AppState {
            auth_failures: auth_failures::AuthFailures::new(auth_failures::Limits {
                per_secret_id: config.failed_signatures_per_secret_id,
                per_address: config.failed_signatures_per_address,
                cooldown: Duration::from_secs(config.failed_signature_cooldown_seconds),
            }),
            bodies: bodies::Budget::new(config.max_body_bytes_in_flight),
            config,
            domain,
            metrics: metrics::Metrics::new(),
        }
    }
}

/// The public routes. `/metrics` is here unless an admin listener serves it (README, docs/security.md).
pub fn router(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz));
    let router = if state.config.admin_listen.is_none() {
        router.route("/metrics", get(metrics_text))
    } else {
        router
    };
    router
        .merge(console::routes())
        .fallback(gateway::api)
        .with_state(state)
}

/// The admin listener's routes: probes and metrics, nothing else.
fn admin_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

/// 200 while the store answers and can write; 503 with the reason otherwise (a full disk keeps
/// the server answering reads, but a balancer should send writes elsewhere).
async fn readyz(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> (axum::http::StatusCode, String) {
    match state.domain.store.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready\n".to_owned()),
        // Logged once by the store when writes started failing, not at every check.
        Err(StoreError::Full(cause)) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the store cannot write, the disk or the database is full ({cause})\n"
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "store not ready");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable\n".to_owned(),
            )
        }
    }
}

async fn metrics_text(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

/// A running server: its bound addresses and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    /// The admin listener's address, when `admin_listen` is set.
    pub admin_addr: Option<SocketAddr>,
    pub handle: listener::Handle,
    admin: Option<listener::Handle>,
    pub task: tokio::task::JoinHandle<()>,
    /// Ends idle parts, expires heartbeats and scores sessions, every second.
    pub upkeep: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop accepting, let in-flight requests finish (up to `grace`), and wait.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(admin) = &self.admin {
            admin.stop();
        }
        self.handle.drain();
        if tokio::time::timeout(grace, &mut self.task).await.is_err() {
            self.handle.stop();
            let _ = self.task.await;
        }
        self.upkeep.abort();
    }

    /// Drop every connection now (tests, and a second signal).
    pub fn stop(&self) {
        self.handle.stop();
        if let Some(admin) = &self.admin {
            admin.stop();
        }
        self.upkeep.abort();
    }
}

/// Bind and serve in the background.
pub async fn start(config: Config, domain: Domain) -> anyhow::Result<Running> {
    let tls = match &config.tls {
        Some((cert, key)) => Some(listener::tls_acceptor(cert, key)?),
        None => None,
    };
    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("could not listen on {addr}: {e}"))
    };
    let tcp = bind(config.listen).await?;
    let addr = tcp.local_addr()?;
    let admin_tcp = match config.admin_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let timeouts = listener::Timeouts {
        header_read: Duration::from_secs(config.header_read_timeout_seconds),
        idle: Duration::from_secs(config.connection_idle_timeout_seconds),
    };
    let max_connections = config.max_connections;
    let upkeep = tokio::spawn(upkeep_loop(domain.clone()));
    let state = Arc::new(AppState::new(config, domain));
    let (admin, admin_addr) = match admin_tcp {
        Some(tcp) => {
            let admin_addr = tcp.local_addr()?;
            let listener = listener::Listener { tcp, tls: None };
            // A few connections are plenty for probes and scrapes.
            let (handle, _task) =
                listener::serve(listener, admin_router(state.clone()), 64, timeouts);
            (Some(handle), Some(admin_addr))
        }
        None => (None, None),
    };
    let (handle, task) = listener::serve(
        listener::Listener { tcp, tls },
        router(state),
        max_connections,
        timeouts,
    );
    Ok(Running {
        addr,
        admin_addr,
        handle,
        admin,
        task,
        upkeep,
    })
}

/// The upkeep every second, and retention at start and every hour.
async fn upkeep_loop(domain: Domain) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        tick.tick().await;
        if let Err(e) = domain.upkeep().await {
            tracing::error!(error = %e, "upkeep failed");
        }
        if rounds.is_multiple_of(3600) {
            if let Err(e) = domain.apply_retention().await {
                tracing::error!(error = %e, "retention failed");
            }
        }
        rounds += 1;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
