//! The brake on guessing credentials: failed signatures are counted per SecretId and per source
//! address in one-minute windows; past the limit, that SecretId (or address) gets
//! `RequestLimitExceeded` for a cool-down without its signature being checked at all.
//!
//! Only failures count, so a well-behaved client never meets the brake. The per-SecretId limit is
//! the tight one (a device's token or an API key is guessed through one SecretId); the per-address
//! limit is looser because a whole fleet may sit behind one NAT address. The price, written down in
//! docs/security.md: someone who knows a SecretId (a device's is `<ProjectId>:<DeviceId>`) can keep
//! it in cool-down. Both maps are bounded.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits (README "Configuration").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed signatures per SecretId per minute before its cool-down. 0: no limit.
    pub per_secret_id: u32,
    /// Failed signatures (and unknown SecretIds) per source address per minute. 0: no limit.
    pub per_address: u32,
    /// How long the cool-down lasts.
    pub cooldown: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_secret_id: 10,
            per_address: 100,
            cooldown: Duration::from_secs(60),
        }
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Entries per map; beyond it, entries neither counting nor cooling down are forgotten.
const MAX_ENTRIES: usize = 100_000;

/// In cool-down: who, and for how much longer.
#[derive(Debug, PartialEq, Eq)]
pub struct Blocked {
    /// "SecretId" or "address".
    pub who: &'static str,
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    window_start: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

struct Counter<K> {
    limit: u32,
    tallies: Mutex<HashMap<K, Tally>>,
}

impl<K: Hash + Eq> Counter<K> {
    fn new(limit: u32) -> Self {
        Counter {
            limit,
            tallies: Mutex::new(HashMap::new()),
        }
    }

    fn blocked(&self, key: &K, now: Instant) -> Option<Duration> {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let until = tallies.get(key)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(&self, key: K, now: Instant, cooldown: Duration) {
        if self.limit == 0 {
            return;
        }
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        if tallies.len() >= MAX_ENTRIES && !tallies.contains_key(&key) {
            tallies.retain(|_, t| {
                t.blocked_until.is_some_and(|u| u > now) || now - t.window_start < WINDOW
            });
            if tallies.len() >= MAX_ENTRIES {
                return;
            }
        }
        let t = tallies.entry(key).or_insert(Tally {
            window_start: now,
            failures: 0,
            blocked_until: None,
        });
        if now - t.window_start >= WINDOW {
            t.window_start = now;
            t.failures = 0;
        }
        t.failures += 1;
        if t.failures > self.limit {
            t.blocked_until = Some(now + cooldown);
            t.window_start = now;
            t.failures = 0;
        }
    }
}

pub struct AuthFailures {
    cooldown: Duration,
    by_secret_id: Counter<String>,
    by_address: Counter<IpAddr>,
}

impl AuthFailures {
    pub fn new(limits: Limits) -> AuthFailures {
        AuthFailures {
            cooldown: limits.cooldown,
            by_secret_id: Counter::new(limits.per_secret_id),
            by_address: Counter::new(limits.per_address),
        }
    }

    /// Whether a request naming `secret_id` from `address` may have its signature checked.
    pub fn check(&self, secret_id: &str, address: Option<IpAddr>) -> Result<(), Blocked> {
        self.check_at(secret_id, address, Instant::now())
    }

    /// A signature failed (or a SecretId was unknown: then `secret_id` is `None`, so that random
    /// SecretIds cannot fill the map).
    pub fn failed(&self, secret_id: Option<&str>, address: Option<IpAddr>) {
        self.failed_at(secret_id, address, Instant::now())
    }

    fn check_at(
        &self,
        secret_id: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Blocked> {
        if let Some(retry_after) = self.by_secret_id.blocked(&secret_id.to_owned(), now) {
            return Err(Blocked {
                who: "SecretId",
                retry_after,
            });
        }
        if let Some(retry_after) = address.and_then(|a| self.by_address.blocked(&a, now)) {
            return Err(Blocked {
                who: "address",
                retry_after,
            });
        }
        Ok(())
    }

    fn failed_at(&self, secret_id: Option<&str>, address: Option<IpAddr>, now: Instant) {
        if let Some(s) = secret_id {
            self.by_secret_id.fail(s.to_owned(), now, self.cooldown);
        }
        if let Some(a) = address {
            self.by_address.fail(a, now, self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    fn limits() -> Limits {
        Limits {
            per_secret_id: 3,
            per_address: 5,
            cooldown: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_secret_id_cools_down_after_its_limit_and_recovers() {
        let f = AuthFailures::new(limits());
        let t0 = Instant::now();
        for _ in 0..3 {
            f.failed_at(Some("p:d"), A, t0);
        }
        assert!(
            f.check_at("p:d", A, t0).is_ok(),
            "the limit itself is allowed"
        );
        f.failed_at(Some("p:d"), B, t0);
        let blocked = f.check_at("p:d", A, t0).unwrap_err();
        assert_eq!(blocked.who, "SecretId");
        assert_eq!(blocked.retry_after, Duration::from_secs(60));
        // Other SecretIds are not affected; the cool-down ends.
        assert!(f.check_at("p:other", B, t0).is_ok());
        assert!(f.check_at("p:d", A, t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn an_address_cools_down_for_every_secret_id_and_old_failures_expire() {
        let f = AuthFailures::new(limits());
        let t0 = Instant::now();
        for i in 0..5 {
            f.failed_at(Some(&format!("s{i}")), A, t0);
        }
        // Failures of an earlier window do not add up.
        f.failed_at(None, A, t0 + Duration::from_secs(61));
        assert!(f.check_at("x", A, t0 + Duration::from_secs(61)).is_ok());
        for _ in 0..5 {
            f.failed_at(None, A, t0 + Duration::from_secs(62));
        }
        let blocked = f
            .check_at("x", A, t0 + Duration::from_secs(62))
            .unwrap_err();
        assert_eq!(blocked.who, "address");
        assert!(f.check_at("x", B, t0 + Duration::from_secs(62)).is_ok());
    }

    #[test]
    fn a_zero_limit_is_no_limit() {
        let f = AuthFailures::new(Limits {
            per_secret_id: 0,
            per_address: 0,
            cooldown: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for _ in 0..1000 {
            f.failed_at(Some("s"), A, t0);
        }
        assert!(f.check_at("s", A, t0).is_ok());
    }
}
