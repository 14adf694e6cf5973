//! Request-rate limits in one-second windows per key — (account, action) for the API, the device for
//! the device API — as the vendor documents them ("20 requests per second for this API") and words
//! its error ("request times equals to `21` in a second"), which needs the count of the window.
//!
//! The windows are Unix seconds and the counts are the store's (`store::Counters`): in the process
//! on SQLite, in the database on PostgreSQL, so a limit holds however many nodes share the work.

use crate::errors::StoreError;
use crate::store::Store;
use std::time::{SystemTime, UNIX_EPOCH};

/// Over the limit: how many requests this window has seen, and the limit.
#[derive(Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub count: u64,
    pub limit: u64,
}

/// Why a request may not go on: over its limit, or the counts could not be read.
#[derive(Debug)]
pub enum Limited {
    Exceeded(Exceeded),
    Store(StoreError),
}

/// Counts one request of `kind` (`api`, `device`) for `key` in the current second and says
/// whether it is within `limit` per second.
pub async fn check(store: &dyn Store, kind: &str, key: &[&str], limit: u32) -> Result<(), Limited> {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Parts joined by a byte no id may hold (ids are printable).
    let key = format!("{kind}\u{1}{}", key.join("\u{1}"));
    let count = store
        .count_request(&key, second)
        .await
        .map_err(Limited::Store)?;
    if count > u64::from(limit) {
        return Err(Limited::Exceeded(Exceeded {
            count,
            limit: u64::from(limit),
        }));
    }
    Ok(())
}
