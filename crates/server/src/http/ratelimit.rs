//! Request-rate limits in one-second windows per key — (account, action) for the API, the device for
//! the device API — as the vendor documents them ("20 requests per second for this API") and words
//! its error ("request times equals to `21` in a second"), which needs the count of the window.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter<K> {
    start: Instant,
    windows: Mutex<HashMap<K, (u64, u64)>>,
}

/// Over the limit: how many requests this window has seen, and the limit.
#[derive(Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub count: u64,
    pub limit: u64,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new() -> Self {
        RateLimiter {
            start: Instant::now(),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count one request for `key` and say whether it is within `limit` per second.
    pub fn check(&self, key: &K, limit: u32) -> Result<(), Exceeded> {
        self.check_at(key, limit, self.start.elapsed().as_secs())
    }

    fn check_at(&self, key: &K, limit: u32, second: u64) -> Result<(), Exceeded> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s == second);
        }
        let entry = windows.entry(key.clone()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        if entry.1 > u64::from(limit) {
            return Err(Exceeded {
                count: entry.1,
                limit: u64::from(limit),
            });
        }
        Ok(())
    }
}

impl<K: Hash + Eq + Clone> Default for RateLimiter<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_each_second_and_keys_are_independent() {
        let rl = RateLimiter::new();
        for _ in 0..20 {
            assert!(rl.check_at(&"a", 20, 7).is_ok());
        }
        assert_eq!(
            rl.check_at(&"a", 20, 7),
            Err(Exceeded {
                count: 21,
                limit: 20
            })
        );
        assert!(rl.check_at(&"b", 20, 7).is_ok());
        assert!(rl.check_at(&"a", 20, 8).is_ok());
    }
}
