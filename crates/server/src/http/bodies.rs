//! Request bodies: read with a per-request cap and a deadline, and held against one memory budget
//! shared by every request in flight; bodies the gateway refuses unread are drained in the background.
//!
//! Why a budget: a body is buffered whole (the TC3 signature covers its hash, and the parameters are
//! decoded from it), so N slow clients could otherwise hold N × the cap. With the budget, memory for
//! bodies never exceeds `max_body_bytes_in_flight`. Memory is taken as the bytes arrive, never for a
//! length a client merely announces (which would let idle connections hold the budget for free); a
//! request that cannot get memory within `BUDGET_WAIT` gets `RequestLimitExceeded` (retryable) rather
//! than waiting for memory that other half-read bodies may be waiting for too.
//!
//! Why a drain: a client that is still sending when the answer comes (an oversized body, a refused
//! signature) would otherwise see its connection reset and lose the answer. The answer goes out at once
//! and the rest of the body is read and thrown away, up to `DRAIN_LIMIT` bytes and the body deadline,
//! without buffering it.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How much of a refused body is read and thrown away so that the client receives the answer.
pub const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// How long a body waits for memory before its request is refused as busy.
const BUDGET_WAIT: Duration = Duration::from_secs(1);

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

    /// `n` more bytes of the budget, waiting for them until `BUDGET_WAIT` or `deadline`.
    async fn take(&self, n: usize, deadline: Instant) -> Result<OwnedSemaphorePermit, Refused> {
        let n = u32::try_from(n).map_err(|_| Refused::TooLarge)?;
        if let Ok(p) = self.bytes.clone().try_acquire_many_owned(n) {
            return Ok(p);
        }
        let until = deadline.min(Instant::now() + BUDGET_WAIT);
        match tokio::time::timeout_at(until, self.bytes.clone().acquire_many_owned(n)).await {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed.
            Ok(Err(_)) | Err(_) => Err(Refused::Busy),
        }
    }
}

/// Memory taken from the budget by one body so far.
#[derive(Default)]
struct Taken(Option<OwnedSemaphorePermit>);

impl Taken {
    /// Grow to `len` bytes.
    async fn grow(
        &mut self,
        budget: &Budget,
        len: usize,
        deadline: Instant,
    ) -> Result<(), Refused> {
        let have = self.0.as_ref().map_or(0, |p| p.num_permits());
        if len > have {
            let more = budget.take(len - have, deadline).await?;
            match &mut self.0 {
                Some(p) => p.merge(more),
                None => self.0 = Some(more),
            }
        }
        Ok(())
    }
}

/// A body read whole; its memory stays counted against the budget until it is dropped.
pub struct Held {
    pub bytes: Bytes,
    _taken: Taken,
}

impl Held {
    /// A body that was never read (a GET).
    pub fn empty() -> Held {
        Held {
            bytes: Bytes::new(),
            _taken: Taken::default(),
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
    /// No memory in the budget soon enough.
    Busy,
    /// The connection broke mid-body.
    Broken,
}

/// The next chunk of data, `None` at the end.
async fn next_chunk(body: &mut Body, deadline: Instant) -> Result<Option<Bytes>, Refused> {
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(Refused::TimedOut),
            Ok(None) => return Ok(None),
            Ok(Some(Err(_))) => return Err(Refused::Broken),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Read `body` whole if it is at most `limit` bytes and arrives before `deadline`, each chunk's
/// memory taken from the budget as it arrives.
pub async fn read(
    mut body: Body,
    limit: usize,
    budget: &Budget,
    deadline: Instant,
) -> Result<Held, Refused> {
    if declared_length(&body) > limit as u64 {
        drain(body, deadline);
        return Err(Refused::TooLarge);
    }
    let mut buf = BytesMut::new();
    let mut taken = Taken::default();
    while let Some(data) = next_chunk(&mut body, deadline).await? {
        let len = buf.len() + data.len();
        if len > limit {
            drain(body, deadline);
            return Err(Refused::TooLarge);
        }
        taken.grow(budget, len, deadline).await?;
        buf.extend_from_slice(&data);
    }
    Ok(Held {
        bytes: buf.freeze(),
        _taken: taken,
    })
}

/// Read a body to its end under the same rules and at the same cost as [`read`] (its memory counted
/// while it arrives), keeping only its SHA-256: for a request refused whatever its body says, whose
/// signature must still be checked like any other's.
pub async fn discard(
    mut body: Body,
    limit: usize,
    budget: &Budget,
    deadline: Instant,
) -> Result<[u8; 32], Refused> {
    if declared_length(&body) > limit as u64 {
        drain(body, deadline);
        return Err(Refused::TooLarge);
    }
    let mut sha = Sha256::new();
    let mut seen = 0usize;
    let mut taken = Taken::default();
    while let Some(data) = next_chunk(&mut body, deadline).await? {
        seen += data.len();
        if seen > limit {
            drain(body, deadline);
            return Err(Refused::TooLarge);
        }
        taken.grow(budget, seen, deadline).await?;
        sha.update(&data);
    }
    Ok(sha.finalize().into())
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
    use http_body_util::StreamBody;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(200)
    }

    /// A body of `n` bytes that does not say its length.
    fn unannounced(n: usize) -> Body {
        let chunk = Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from(vec![b'x'; n])));
        Body::new(StreamBody::new(futures_util::stream::iter([chunk])))
    }

    #[tokio::test]
    async fn a_body_is_held_against_the_budget_until_dropped() {
        let budget = Budget::new(100);
        let held = read(Body::from(vec![b'x'; 60]), 100, &budget, soon())
            .await
            .unwrap();
        assert_eq!(held.bytes.len(), 60);
        assert_eq!(budget.bytes.available_permits(), 40);
        // Another 60 bytes cannot be had while the first body is held: refused as busy, soon.
        let second = read(Body::from(vec![b'y'; 60]), 100, &budget, soon()).await;
        assert_eq!(second.err(), Some(Refused::Busy));
        drop(held);
        assert_eq!(budget.bytes.available_permits(), 100);
        assert!(read(unannounced(60), 100, &budget, soon()).await.is_ok());
    }

    /// A client that announces `self.0` bytes and sends none.
    struct Silent(u64);

    impl http_body::Body for Silent {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Pending
        }
        fn size_hint(&self) -> http_body::SizeHint {
            http_body::SizeHint::with_exact(self.0)
        }
    }

    #[tokio::test]
    async fn a_length_announced_but_not_sent_takes_no_memory() {
        let budget = Budget::new(100);
        let reading = read(Body::new(Silent(90)), 100, &budget, soon());
        tokio::pin!(reading);
        tokio::select! {
            _ = &mut reading => panic!("a silent body was read"),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        assert_eq!(
            budget.bytes.available_permits(),
            100,
            "memory taken for nothing"
        );
        assert_eq!(reading.await.err(), Some(Refused::TimedOut));
    }

    #[tokio::test]
    async fn over_the_cap_is_too_large_and_a_discarded_body_keeps_only_its_digest() {
        let budget = Budget::new(1000);
        let refused = read(Body::from(vec![b'x'; 101]), 100, &budget, soon()).await;
        assert_eq!(refused.err(), Some(Refused::TooLarge));
        let refused = read(unannounced(101), 100, &budget, soon()).await;
        assert_eq!(refused.err(), Some(Refused::TooLarge));
        assert_eq!(budget.bytes.available_permits(), 1000);
        let digest = discard(unannounced(100), 100, &budget, soon())
            .await
            .unwrap();
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest([b'x'; 100])));
        assert_eq!(budget.bytes.available_permits(), 1000, "nothing kept");
        assert_eq!(
            discard(unannounced(101), 100, &budget, soon()).await,
            Err(Refused::TooLarge)
        );
    }
}
