//! Group commit: one thread owns a write connection and applies appends in batches — every append
//! waiting when a batch starts goes into the same transaction, each in its own savepoint so a refused
//! append changes nothing, and all are answered after the one commit (one fsync for the batch). An
//! answer therefore means "durable" (PRAGMA synchronous=FULL), while throughput does not pay one fsync
//! per request.
//!
//! A batch is all or nothing when the database fails: SQLite may roll back the whole transaction on
//! SQLITE_FULL (or an I/O error) while only one append's statement failed, so a failure for lack of
//! space — or any failure after which the transaction is gone — fails every append of the batch, and
//! none is answered as stored. Only a refusal (`AppendRejection`) stays within its savepoint.

use super::db;
use super::health::Health;
use super::sessions;
use crate::errors::StoreError;
use crate::model::sessions::{Append, AppendOutcome, AppendRejection};
use crate::store::codec::Encoded;
use crate::store::Result;
use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Reply = std::result::Result<AppendOutcome, AppendRejection>;

struct Job {
    append: Append,
    encoded: Encoded,
    reply: oneshot::Sender<Result<Reply>>,
}

/// The most appends one transaction takes.
const MAX_BATCH: usize = 512;

pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(conn: Connection, health: Arc<Health>) -> std::io::Result<Writer> {
        let (jobs, rx) = mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("teleoscope-writer".into())
            .spawn(move || run(conn, rx, &health))?;
        Ok(Writer { jobs })
    }

    pub async fn append(&self, append: Append, encoded: Encoded) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        // The queue is bounded: a full queue makes callers wait here (back-pressure).
        self.jobs
            .send(Job {
                append,
                encoded,
                reply,
            })
            .await
            .map_err(|_| StoreError::Database("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer dropped the append".into()))?
    }
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Job>, health: &Health) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let results = commit(&mut conn, &batch);
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            health.saw(e);
        }
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

fn commit(conn: &mut Connection, batch: &[Job]) -> Vec<Result<Reply>> {
    let fail_all = |e: &StoreError| batch.iter().map(|_| Err(e.clone())).collect();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(&db(e)),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let result = match tx.savepoint() {
            Err(e) => Err(db(e)),
            Ok(sp) => match sessions::apply(&sp, &job.append, &job.encoded) {
                Ok(Ok(outcome)) => sp.commit().map(|_| Ok(outcome)).map_err(db),
                // A refusal or an error leaves nothing behind: the savepoint rolls back on drop.
                other => other,
            },
        };
        if let Err(e) = &result {
            if matches!(e, StoreError::Full(_)) || tx.is_autocommit() {
                // The appends before this one may be gone with the transaction, and those after it
                // would each commit on their own: the batch fails whole, and the transaction (if
                // SQLite kept it) rolls back on drop.
                return fail_all(e);
            }
        }
        results.push(result);
    }
    if let Err(e) = tx.commit() {
        return fail_all(&db(e));
    }
    results
}
