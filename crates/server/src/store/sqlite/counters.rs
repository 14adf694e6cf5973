//! Rate-limit windows in the process: one node serves a SQLite file, so its counts are all there
//! is (`store::Counters`).

use super::SqliteStore;
use crate::store::{Counters, Result};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// Per key, the window (Unix second) and its count.
#[derive(Default)]
pub struct Windows(Mutex<HashMap<String, (i64, u64)>>);

impl Windows {
    pub fn count(&self, key: &str, second: i64) -> u64 {
        let mut windows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (s, _)| *s >= second);
        }
        let entry = match windows.get_mut(key) {
            Some(entry) => entry,
            None => windows.entry(key.to_owned()).or_insert((second, 0)),
        };
        if entry.0 < second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        entry.1
    }
}

#[async_trait]
impl Counters for SqliteStore {
    async fn count_request(&self, key: &str, second: i64) -> Result<u64> {
        Ok(self.windows.count(key, second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_each_second_and_keys_are_independent() {
        let w = Windows::default();
        for n in 1..=20 {
            assert_eq!(w.count("a", 7), n);
        }
        assert_eq!(w.count("a", 7), 21);
        assert_eq!(w.count("b", 7), 1);
        assert_eq!(w.count("a", 8), 1);
    }
}
