//! The brake on guessing credentials: failed signatures are counted per SecretId and per source
//! address in one-minute windows; past the limit, that SecretId (or address) gets
//! `RequestLimitExceeded` for a cool-down without its signature being checked at all.
//!
//! Only failures count, so a well-behaved client never meets the brake. The per-SecretId limit is
//! the tight one (a device's token or an API key is guessed through one SecretId); the per-address
//! limit is looser because a whole fleet may sit behind one NAT address. The price, written down in
//! docs/security.md §4: someone who knows a SecretId (a device's is `<ProjectId>:<DeviceId>`) can keep
//! it in cool-down. A device SecretId that does not exist is counted like one that does, or the brake
//! would tell them apart.
//!
//! Bounded whatever clients send: SecretIds are kept as 64-bit keyed hashes (not the text), IPv6
//! addresses by their /64 network (one host is given a /64), and a full map forgets every entry not
//! in cool-down.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
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
/// Entries per map.
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

/// Failures per key (a keyed hash of a SecretId or of an address's network).
struct Counter {
    limit: u32,
    tallies: Mutex<HashMap<u64, Tally>>,
}

impl Counter {
    fn new(limit: u32) -> Self {
        Counter {
            limit,
            tallies: Mutex::new(HashMap::new()),
        }
    }

    fn blocked(&self, key: u64, now: Instant) -> Option<Duration> {
        if self.limit == 0 {
            return None;
        }
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let until = tallies.get(&key)?.blocked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(&self, key: u64, now: Instant, cooldown: Duration) {
        if self.limit == 0 {
            return;
        }
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        if tallies.len() >= MAX_ENTRIES && !tallies.contains_key(&key) {
            let active = |t: &Tally| t.blocked_until.is_some_and(|u| u > now);
            tallies.retain(|_, t| active(t) || now - t.window_start < WINDOW);
            if tallies.len() >= MAX_ENTRIES {
                // Full of fresh entries (someone sending many SecretIds or addresses): keep the cool-downs.
                tallies.retain(|_, t| active(t));
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
    /// Keys the hashes, differently in every process.
    hasher: RandomState,
    by_secret_id: Counter,
    by_address: Counter,
}

impl AuthFailures {
    pub fn new(limits: Limits) -> AuthFailures {
        AuthFailures {
            cooldown: limits.cooldown,
            hasher: RandomState::new(),
            by_secret_id: Counter::new(limits.per_secret_id),
            by_address: Counter::new(limits.per_address),
        }
    }

    /// Whether a request naming `secret_id` from `address` may have its signature checked.
    pub fn check(&self, secret_id: &str, address: Option<IpAddr>) -> Result<(), Blocked> {
        self.check_at(secret_id, address, Instant::now())
    }

    /// A signature failed (`secret_id`: the SecretId it named, known or not), or an API SecretId was
    /// unknown (`None`: counted for the address only).
    pub fn failed(&self, secret_id: Option<&str>, address: Option<IpAddr>) {
        self.failed_at(secret_id, address, Instant::now())
    }

    fn key(&self, value: impl Hash) -> u64 {
        self.hasher.hash_one(value)
    }

    /// An address's key: IPv4 as it is, IPv6 by its /64 network.
    fn address_key(&self, address: IpAddr) -> u64 {
        match address {
            IpAddr::V4(v4) => self.key(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.key(v4),
                None => self.key(u128::from(v6) >> 64),
            },
        }
    }

    fn check_at(
        &self,
        secret_id: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Blocked> {
        if let Some(retry_after) = self.by_secret_id.blocked(self.key(secret_id), now) {
            return Err(Blocked {
                who: "SecretId",
                retry_after,
            });
        }
        if let Some(retry_after) =
            address.and_then(|a| self.by_address.blocked(self.address_key(a), now))
        {
            return Err(Blocked {
                who: "address",
                retry_after,
            });
        }
        Ok(())
    }

    fn failed_at(&self, secret_id: Option<&str>, address: Option<IpAddr>, now: Instant) {
        if let Some(s) = secret_id {
            self.by_secret_id.fail(self.key(s), now, self.cooldown);
        }
        if let Some(a) = address {
            self.by_address
                .fail(self.address_key(a), now, self.cooldown);
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
    fn an_ipv6_network_counts_as_one_address_and_a_full_map_keeps_its_cool_downs() {
        let f = AuthFailures::new(limits());
        let t0 = Instant::now();
        let host = |i: u16| {
            Some(IpAddr::V6(std::net::Ipv6Addr::new(
                0x2001, 0xdb8, 0, 1, 0, 0, 0, i,
            )))
        };
        for i in 0..6 {
            f.failed_at(None, host(i), t0);
        }
        assert_eq!(f.check_at("x", host(999), t0).unwrap_err().who, "address");
        // Many distinct SecretIds fill the map; the cool-down of the one under attack survives.
        for _ in 0..4 {
            f.failed_at(Some("target"), None, t0);
        }
        assert!(f.check_at("target", None, t0).is_err());
        for i in 0..MAX_ENTRIES + 10 {
            f.failed_at(Some(&format!("junk{i}")), None, t0);
        }
        assert!(
            f.check_at("target", None, t0).is_err(),
            "the cool-down was forgotten"
        );
        assert!(f.by_secret_id.tallies.lock().unwrap().len() <= MAX_ENTRIES);
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
