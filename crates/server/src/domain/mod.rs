//! The product's rules, independent of the wire and of the database: accounts and keys, projects,
//! devices, policies, device login, sessions (ingest, reads, upkeep), quality, statistics. Sits
//! between `actions` (which speak the vendor's wire types) and `store` (which persists the `model`'s
//! values). Every operation takes the caller's account and scopes by it.

pub mod accounts;
pub mod clock;
pub mod console_sessions;
pub mod credential_cache;
pub mod device_login;
pub mod devices;
pub mod ids;
pub mod incidents;
pub mod policy;
pub mod projects;
pub mod quality;
pub mod rules;
pub mod secrets;
pub mod sessions;
pub mod usage;

use crate::store::Store;
use credential_cache::CredentialCache;
use std::sync::Arc;
use std::time::Duration;

/// [`Settings::credential_ttl`] on a store only this node writes: every change clears the cache, so
/// the limit only bounds how long the entry of a device that stopped reporting stays.
pub const OWN_STORE_CREDENTIAL_TTL: Duration = Duration::from_secs(600);
/// [`Settings::credential_ttl`] on a store shared by several nodes: how long a device's token
/// changed or deleted on another node may still be accepted here (docs/deploy.md).
pub const SHARED_STORE_CREDENTIAL_TTL: Duration = Duration::from_secs(5);

pub use clock::Clock;
pub use secrets::Sealer;

/// The entry point of the domain layer: the store, the secret sealer, the clock, the settings and
/// the device credentials read recently.
#[derive(Clone)]
pub struct Domain {
    pub store: Arc<dyn Store>,
    pub sealer: Sealer,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub credentials: Arc<CredentialCache>,
}

/// The product's tunables that the domain applies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seconds without a report after which a device's part of a session ends (docs/api.md §4.6: 60).
    pub idle_timeout: i64,
    /// Seconds a `ready` heartbeat lasts (docs/api.md §4.6: 30).
    pub heartbeat_timeout: i64,
    pub quality: quality::QualityConfig,
    /// The glass-to-glass latency target the console draws, ms (`latency_budget_ms`, default 150).
    pub latency_budget_ms: u32,
    /// Seconds samples are kept (`retention_days`); `None`: forever.
    pub retention: Option<i64>,
    /// How long a cached device credential is used (`credential_cache.rs`): long on a store of
    /// this node's own, short on one shared with other nodes, whose changes it cannot see.
    pub credential_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            idle_timeout: 60,
            heartbeat_timeout: 30,
            quality: quality::QualityConfig::default(),
            latency_budget_ms: 150,
            retention: None,
            credential_ttl: OWN_STORE_CREDENTIAL_TTL,
        }
    }
}
