//! Device credentials resolved recently, so that a live device's reports (one every 2 s) do not
//! each read the store and open the sealed token before the signature check.
//!
//! An entry holds what the store said about a registered device and its project, with the secrets
//! already opened. Every change that can alter a credential (a device's token, a deleted device or
//! project, the project's key mode) goes through the domain, which clears the cache
//! ([`CredentialCache::forget_all`]): on one node the cache is never stale. Several nodes share a
//! PostgreSQL store, and a change made on another node is seen here once the entry is older than
//! `Settings::credential_ttl` (docs/deploy.md). A resolution that started before a clear is not
//! cached (the generation check), so it cannot bring back what the clear removed.

use crate::model::{Device, Project};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A registered device's credential as the store has it, secrets opened.
#[derive(Debug)]
pub struct Known {
    pub project: Project,
    pub device: Option<Device>,
    /// The device's token (the key of `<ProjectId>:<DeviceId>` logins).
    pub token: Option<String>,
    /// The project's key, when its key mode is on.
    pub project_key: Option<String>,
}

/// Above this many entries the cache starts over (memory stays bounded by it).
const MAX_ENTRIES: usize = 1 << 20;

#[derive(Default)]
pub struct CredentialCache {
    /// By `<ProjectId>:<DeviceId>`: the credential and when it was read.
    entries: RwLock<HashMap<String, (Arc<Known>, Instant)>>,
    /// Bumped by every clear.
    generation: AtomicU64,
}

impl CredentialCache {
    /// The entry for a device (`<ProjectId>:<DeviceId>`), if read within `ttl`.
    pub fn get(&self, device: &str, ttl: Duration) -> Option<Arc<Known>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let (known, at) = entries.get(device)?;
        (at.elapsed() < ttl).then(|| known.clone())
    }

    /// The generation to pass to [`CredentialCache::put`], read before the store is.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches what the store said, unless the cache was cleared since `generation` was read.
    pub fn put(&self, generation: u64, device: &str, known: Arc<Known>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(device.to_owned(), (known, Instant::now()));
    }

    /// Forgets every entry: a credential may have changed.
    pub fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}
