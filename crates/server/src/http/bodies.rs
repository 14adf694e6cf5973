//! Request bodies: read with a per-request cap and a deadline, and held against one memory budget
//! shared by every request in flight; bodies the gateway refuses unread are drained in the background.
//!
//! Why a budget: a body is buffered whole (the TC3 signature covers its hash, and the parameters are
//! decoded from it), so N slow clients could otherwise hold N × the cap. With the budget, memory for
//! bodies never exceeds `max_body_bytes_in_flight`; a request that cannot get memory before its
//! deadline gets `RequestLimitExceeded` (retryable) instead of the server growing.
//!
//! Why a drain: a client that is still sending when the answer comes (an oversized body, a refused
//! signature) would otherwise see its connection reset and lose the answer. The answer goes out at once
//! and the rest of the body is read and thrown away, up to `DRAIN_LIMIT` bytes and the body deadline,
//! without buffering it.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How much of a refused body is read and thrown away so that the client receives the answer.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The memory that bodies being read or handled may take, together.
pub struct Budget {
    bytes: Arc<Semaphore>,
}

impl Budget {
    pub fn new(max_bytes: usize) -> Budget {
        Budget {
            bytes: Arc::new(Semaphore::new(max_bytes.min(Semaphore::MAX_PERMITS))),
        }
    }

    /// `n` bytes of the budget, waiting for them until `deadline`.
    async fn take(&self, n: usize, deadline: Instant) -> Result<OwnedSemaphorePermit, Refused> {
        let n = u32::try_from(n).map_err(|_| Refused::TooLarge)?;
        if let Ok(p) = self.bytes.clone().try_acquire_many_owned(n) {
            return Ok(p);
        }
        match tokio::time::timeout_at(deadline, self.bytes.clone().acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed; a budget smaller than one body never fills it.
            Ok(Err(_)) | Err(_) => Err(Refused::Busy),
        }
    }
}

/// A body read whole; its memory stays counted against the budget until it is dropped.
pub struct Held {
    pub bytes: Bytes,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// A body that was never read (a GET).
    pub fn empty() -> Held {
        Held {
            bytes: Bytes::new(),
            _permit: None,
        }
    }
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Over the cap (the rest is drained).
    TooLarge,
    /// Not complete by the deadline.
    TimedOut,
    /// No memory in the budget before the deadline.
    Busy,
    /// The connection broke mid-body.
    Broken,
}

/// Read `body` whole if it is at most `limit` bytes and arrives before `deadline`. The memory is
/// taken from the budget before the bytes are read: all of a declared length at once (so that two
/// half-read bodies cannot each wait for the other's memory), chunk by chunk otherwise.
pub async fn read(
    body: Body,
    limit: usize,
    budget: &Budget,
    deadline: Instant,
) -> Result<Held, Refused> {
    let declared = declared_length(&body);
    if declared > limit as u64 {
        drain(body, deadline);
        return Err(Refused::TooLarge);
    }
    let mut permit = match declared {
        0 => None,
        n => Some(budget.take(n as usize, deadline).await?),
    };
    let mut body = body;
    let mut buf = BytesMut::with_capacity(declared as usize);
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(Refused::TimedOut),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(Refused::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let len = buf.len() + data.len();
        if len > limit {
            drain(body, deadline);
            return Err(Refused::TooLarge);
        }
        let taken = permit.as_ref().map_or(0, |p| p.num_permits());
        if len > taken {
            let more = budget.take(len - taken, deadline).await?;
            match &mut permit {
                Some(p) => p.merge(more),
                None => permit = Some(more),
            }
        }
        buf.extend_from_slice(&data);
    }
    Ok(Held {
        bytes: buf.freeze(),
        _permit: permit,
    })
}

/// Read a body to its end and throw it away (at most `limit` bytes, before `deadline`): for a
/// request that will be refused whatever it says, without holding its bytes.
pub async fn discard(body: Body, limit: usize, deadline: Instant) -> Result<(), Refused> {
    let mut body = body;
    let mut seen = 0usize;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(Refused::TimedOut),
            Ok(None) => return Ok(()),
            Ok(Some(Err(_))) => return Err(Refused::Broken),
            Ok(Some(Ok(frame))) => seen += frame.data_ref().map_or(0, |d| d.len()),
        }
        if seen > limit {
            drain(body, deadline);
            return Err(Refused::TooLarge);
        }
    }
}

/// The body's declared length (Content-Length), or 0 when it does not say.
pub fn declared_length(body: &Body) -> u64 {
    use http_body::Body as _;
    body.size_hint().lower()
}

/// Read and discard the rest of a refused body in the background (see the module doc).
pub fn drain(body: Body, deadline: Instant) {
    tokio::spawn(async move {
        let mut body = body;
        let mut seen = 0usize;
        while seen <= DRAIN_LIMIT {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    seen += frame.data_ref().map_or(0, |d| d.len());
                }
                _ => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(200)
    }

    #[tokio::test]
    async fn a_body_is_held_against_the_budget_until_dropped() {
        let budget = Budget::new(100);
        let held = read(Body::from(vec![b'x'; 60]), 100, &budget, soon())
            .await
            .unwrap();
        assert_eq!(held.bytes.len(), 60);
        assert_eq!(budget.bytes.available_permits(), 40);
        // Another 60 bytes cannot be had while the first body is held.
        let second = read(Body::from(vec![b'y'; 60]), 100, &budget, soon()).await;
        assert_eq!(second.err(), Some(Refused::Busy));
        drop(held);
        assert_eq!(budget.bytes.available_permits(), 100);
        assert!(read(Body::from(vec![b'y'; 60]), 100, &budget, soon())
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn over_the_cap_is_too_large_and_discard_holds_nothing() {
        let budget = Budget::new(1000);
        let refused = read(Body::from(vec![b'x'; 101]), 100, &budget, soon()).await;
        assert_eq!(refused.err(), Some(Refused::TooLarge));
        assert_eq!(budget.bytes.available_permits(), 1000);
        assert_eq!(
            discard(Body::from(vec![b'x'; 100]), 100, soon()).await,
            Ok(())
        );
        assert_eq!(
            discard(Body::from(vec![b'x'; 101]), 100, soon()).await,
            Err(Refused::TooLarge)
        );
    }
}
