//! Time as the domain sees it: whole UNIX seconds, from a clock that tests can control, and the
//! range of times a request may name.

use crate::errors::DomainError;
use std::sync::atomic::{AtomicI64, Ordering};

pub use crate::model::LATEST;

/// What a time parameter may be, for error messages.
pub const TIME_RANGE: &str =
    "UNIX seconds from 0 (1970-01-01T00:00:00Z) to 253402300799 (9999-12-31T23:59:59Z)";

/// `t` when it lies in [0, [`LATEST`]], else `InvalidParameterValue` naming `param`.
pub fn time(param: &'static str, t: i64) -> Result<i64, DomainError> {
    if (0..=LATEST).contains(&t) {
        Ok(t)
    } else {
        Err(DomainError::invalid(param, t.to_string(), TIME_RANGE))
    }
}

/// [`time`] of an optional parameter.
pub fn time_opt(param: &'static str, t: Option<i64>) -> Result<Option<i64>, DomainError> {
    t.map(|t| time(param, t)).transpose()
}

pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that only moves when told to (tests of timeouts and windows).
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: i64) -> ManualClock {
        ManualClock(AtomicI64::new(start))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_of_times_is_the_four_digit_years() {
        use chrono::{DateTime, Datelike};
        assert_eq!(DateTime::from_timestamp(LATEST, 0).unwrap().year(), 9999);
        assert_eq!(
            DateTime::from_timestamp(LATEST + 1, 0).unwrap().year(),
            10000
        );
        assert_eq!(time("StartTime", 0).unwrap(), 0);
        assert_eq!(time("EndTime", LATEST).unwrap(), LATEST);
        for bad in [-1, LATEST + 1, 1 << 43, i64::MAX, i64::MIN] {
            assert!(time("EndTime", bad).is_err(), "{bad}");
        }
    }
}
