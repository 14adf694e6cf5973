//! Teleoscope: a self-hosted telemetry server for remote operation, wire-compatible with the TRRO API.
//! This crate is the server as a library; the `teleoscope` command is in `crates/teleoscope`.
//!
//! The request path reads in one direction, and so do the modules:
//! `http` (listener, gateway) -> `teleoscope_protocol` (signatures, envelope, params) -> `actions`
//! (one handler per action) -> `domain` (rules, scoped by account) -> `store` (persistence: SQLite
//! or PostgreSQL) -> `model` (the values every layer speaks). Lower modules never import upper ones
//! (`tools/check_layers.sh`; `docs/architecture.md`). `cli` holds the commands that work on the store
//! directly (keys, import).

pub mod actions;
pub mod cli;
pub mod config;
pub mod domain;
pub mod errors;
pub mod http;
pub mod model;
pub mod store;

use config::Config;
use domain::{clock::SystemClock, Domain, Sealer, Settings};
use std::sync::Arc;

/// Open the store and build the domain for a configuration.
pub async fn open_domain(config: &Config) -> anyhow::Result<Domain> {
    let store = store::open(&config.database, config.time_zone.local_minus_utc().into()).await?;
    Ok(Domain {
        store,
        sealer: Sealer::new(config.master_key.as_ref().map(|k| k.0.as_str())),
        clock: Arc::new(SystemClock),
        settings: Arc::new(Settings {
            idle_timeout: config.idle_timeout_seconds,
            heartbeat_timeout: config.heartbeat_timeout_seconds,
            quality: config.quality.clone(),
            latency_budget_ms: config.latency_budget_ms,
            retention: config.retention_days.map(|d| i64::from(d) * 86_400),
            credential_ttl: if config.database.starts_with("sqlite://") {
                domain::OWN_STORE_CREDENTIAL_TTL
            } else {
                domain::SHARED_STORE_CREDENTIAL_TTL
            },
        }),
        credentials: Default::default(),
    })
}
