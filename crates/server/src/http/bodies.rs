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

    /// Bytes not taken now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
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

/// Read `body` whole if it is at most `limit` bytes and arrives before `deadline`.
pub async fn read(
    body: Body,
    limit: usize,
    budget: &Budget,
    deadline: Instant,
) -> Result<Held, Refused> {
    // Refuse at once what says it is too large.
    if declared_length(&body) > limit as u64 {
        drain(body, deadline);
        return Err(Refused::TooLarge);
    }
    let mut body = body;
    let mut buf = BytesMut::new();
    let mut permit: Option<OwnedSemaphorePermit> = None;
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
        if buf.len() + data.len() > limit {
            drain(body, deadline);
            return Err(Refused::TooLarge);
        }
        let n = u32::try_from(data.len()).map_err(|_| Refused::TooLarge)?;
        let more = match budget.bytes.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(_) => tokio::time::timeout_at(deadline, budget.bytes.clone().acquire_many_owned(n))
                .await
                .map_err(|_| Refused::Busy)?
                .map_err(|_| Refused::Busy)?,
        };
        match &mut permit {
            Some(p) => p.merge(more),
            None => permit = Some(more),
        }
        buf.extend_from_slice(&data);
    }
    Ok(Held {
        bytes: buf.freeze(),
        _permit: permit,
    })
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
