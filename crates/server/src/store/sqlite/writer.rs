//! Group commit: one thread owns the write connection and runs every write of the store — the
//! device API's appends and status reports, and the rest (API changes, upkeep) — in batches: every
//! write waiting when a batch starts goes into the same transaction, and all are answered after the
//! one commit (one fsync for the batch). An append decides its refusal before it writes anything, so
//! it needs no savepoint; the other writes each run in a savepoint of their own. An answer therefore means "durable" (PRAGMA synchronous=FULL), while throughput does not
//! pay one fsync per request. With one writer, writes never wait for each other's locks: a second
//! writing connection made the writer sleep in SQLite's busy handler (milliseconds at a time) while
//! the upkeep held the lock.
//!
//! The queue is bounded and a full queue refuses at once (`StoreError::Busy`, answered as the
//! retryable `RequestLimitExceeded`): a writer that falls behind answers quickly instead of letting
//! waits and memory grow without bound. [`QUEUE`] writes of at most `wire::MAX_SAMPLES` samples each
//! bound the memory held.
//!
//! A batch is all or nothing when the database fails: SQLite may roll back the whole transaction on
//! SQLITE_FULL (or an I/O error) while only one write's statement failed, so a failure for lack of
//! space — or any failure after which the transaction is gone — fails every write of the batch, and
//! none is answered as stored; so does an append's error. A savepoint's error or refusal stays
//! within it.

use super::db;
use super::health::Health;
use crate::errors::StoreError;
use crate::store::Result;
use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 512;

/// Writes waiting for the writer; one more is refused with `StoreError::Busy`. Two full batches:
/// at the writer's pace (docs/benchmark.md), well under a second of waiting.
const QUEUE: usize = 2 * MAX_BATCH;

/// A write waiting in the queue, its answer's type erased.
trait Job: Send {
    /// Runs the write: whether to keep what it changed (a refusal does not).
    fn apply(&mut self, c: &Connection) -> Result<bool>;
    /// Whether the write runs in a savepoint of its own. One that decides a refusal before it
    /// changes anything needs none, and its error fails the batch (appends: a savepoint copies
    /// every page it changes first, which was a fifth of the writer's time).
    fn in_savepoint(&self) -> bool;
    /// Answers the caller once the batch is committed, or failed whole with `failed`.
    fn answer(self: Box<Self>, failed: Option<StoreError>);
}

/// A write `F` answering `T`.
struct Write<T, F> {
    in_savepoint: bool,
    work: Option<F>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Write<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<(T, bool)> + Send,
{
    fn apply(&mut self, c: &Connection) -> Result<bool> {
        let work = self.work.take().expect("a write runs once");
        let (out, keep) = match work(c) {
            Ok((t, keep)) => (Ok(t), Ok(keep)),
            Err(e) => (Err(e.clone()), Err(e)),
        };
        self.out = Some(out);
        keep
    }

    fn in_savepoint(&self) -> bool {
        self.in_savepoint
    }

    fn answer(self: Box<Self>, failed: Option<StoreError>) {
        let out = match failed {
            Some(e) => Err(e),
            None => self.out.expect("a committed write has run"),
        };
        let _ = self.reply.send(out);
    }
}

pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    pub fn start(conn: Connection, health: Arc<Health>) -> std::io::Result<Writer> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("teleoscope-writer".into())
            .spawn(move || run(conn, rx, &health))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the next batch, in a savepoint of its own: its answer, and whether to keep
    /// what it changed.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool)> + Send + 'static,
    {
        self.submit(true, work).await
    }

    /// Runs `work` in the next batch with no savepoint: it must decide a refusal (keep = false)
    /// before it changes anything, and its error fails the whole batch.
    pub async fn write_checked_first<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool)> + Send + 'static,
    {
        self.submit(false, work).await
    }

    async fn submit<T, F>(&self, in_savepoint: bool, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool)> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Write {
            in_savepoint,
            work: Some(work),
            out: None,
            reply,
        });
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Database("the writer has stopped".into())
            }
        })?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer dropped the write".into()))?
    }
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>, health: &Health) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let failed = commit(&mut conn, &mut batch);
        match &failed {
            Some(e) => health.saw(e),
            // Marked full: this success may mean space is back (the probe says).
            None => {
                let _ = health.check(&mut conn);
            }
        }
        for job in batch.drain(..) {
            job.answer(failed.clone());
        }
    }
}

/// Runs a batch in one transaction; the error that failed it whole, if any.
fn commit(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Option<StoreError> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return Some(db(e)),
    };
    for job in batch.iter_mut() {
        if !job.in_savepoint() {
            match job.apply(&tx) {
                // Refused before it changed anything.
                Ok(_) => continue,
                // What it changed cannot be told apart from the rest: the batch fails whole.
                Err(e) => return Some(e),
            }
        }
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => return Some(db(e)),
        };
        match job.apply(&sp) {
            Ok(true) => {
                if let Err(e) = sp.commit() {
                    return Some(db(e));
                }
            }
            // A refusal or an error leaves nothing behind: the savepoint rolls back on drop.
            Ok(false) => {}
            Err(e) => {
                drop(sp);
                if matches!(e, StoreError::Full(_)) || tx.is_autocommit() {
                    // The writes before this one may be gone with the transaction, and those
                    // after it would each commit on their own: the batch fails whole, and the
                    // transaction (if SQLite kept it) rolls back on drop.
                    return Some(e);
                }
            }
        }
    }
    tx.commit().err().map(db)
}
