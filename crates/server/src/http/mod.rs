//! HTTP: the listener (plain or TLS), graceful shutdown on SIGTERM, and the routes — the API
//! endpoint `/` (see `gateway`), `/healthz`, `/readyz` and `/metrics`.

pub mod gateway;
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
    /// Per (account, action).
    pub api_limiter: ratelimit::RateLimiter<(String, String)>,
    /// Per (project, device), for the device API.
    pub device_limiter: ratelimit::RateLimiter<(String, String)>,
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(gateway::api)
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

/// A running server: its bound address and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: axum_server::Handle<SocketAddr>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Ends idle parts, expires heartbeats and scores sessions, every second.
    pub upkeep: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop accepting, let in-flight requests finish (up to `grace`), and wait.
    pub async fn shutdown(self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
        let _ = self.task.await;
        self.upkeep.abort();
    }
}

/// Bind and serve in the background.
pub async fn start(config: Config, domain: Domain) -> anyhow::Result<Running> {
    let listen = config.listen;
    let tls = config.tls.clone();
    let upkeep = tokio::spawn(upkeep_loop(domain.clone()));
    let state = Arc::new(AppState {
        config,
        domain,
        metrics: metrics::Metrics::new(),
        api_limiter: ratelimit::RateLimiter::new(),
        device_limiter: ratelimit::RateLimiter::new(),
    });
    let app = router(state).into_make_service();
    let handle = axum_server::Handle::new();
    let task = match tls {
        Some((cert, key)) => {
            // Pick the ring provider explicitly; a second call finds it installed, which is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await?;
            let server = axum_server::bind_rustls(listen, tls).handle(handle.clone());
            tokio::spawn(server.serve(app))
        }
        None => {
            let server = axum_server::bind(listen).handle(handle.clone());
            tokio::spawn(server.serve(app))
        }
    };
    let addr = handle
        .listening()
        .await
        .ok_or_else(|| anyhow::anyhow!("could not listen on {listen}"))?;
    Ok(Running {
        addr,
        handle,
        task,
        upkeep,
    })
}

async fn upkeep_loop(domain: Domain) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = domain.upkeep().await {
            tracing::error!(error = %e, "upkeep failed");
        }
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
