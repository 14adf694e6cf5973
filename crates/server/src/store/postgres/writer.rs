//! Group commit, as in `sqlite/writer.rs`, by several writers at once: [`WRITERS`] tasks, each on
//! a pooled connection of its own and with a bounded queue of its own. A writer takes every append
//! waiting when its batch starts into one transaction (a refused append has changed nothing: the
//! store decides a refusal before it writes), and answers them all after the one commit: an answer means
//! "committed", while throughput does not pay one commit per request.
//!
//! A session's appends always go to the same writer (its queue is chosen by the SessionId): the
//! field and the remote device of a session report at the same time, and an append locks its
//! session's row until its batch commits. With one shared queue, the two devices' appends landed in
//! two writers' batches, each waiting for the other's commit, which chained every writer behind
//! one another (seen in `pg_stat_activity` as `Lock:transactionid` on the session row; B=1 ingest
//! stayed at ~1,000 reports/s whatever the number of writers).
//!
//! Before the transaction, the weeks of the batch's chunks get their partitions
//! (`partitions.rs`). In it, the appends run sorted by session (stably: one session's appends
//! keep their order), so that two writers lock session rows in the same order; what they change in
//! the devices' status and the rollups is written last, in key order (`sessions::Statuses`,
//! `sums.rs`), so device and rollup rows too are locked in one order, and only until the commit.
//!
//! A batch is all or nothing when the database fails: an error fails every append of the batch,
//! and none is answered as stored. Only a refusal (`AppendRejection`) is answered alone.
//! A deadlock or a serialization failure (`Unavailable` from `super::db`, on a connection that is
//! still open) rolls the batch back and runs it again, a few times; so does a chunk whose week has
//! no partition, once the partition is made.

use super::partitions::{self, week_of, Partitions};
use super::sessions::{apply, Applied, Statuses};
use super::sums::Changes;
use super::{db, pool_error};
use crate::errors::StoreError;
use crate::model::sessions::{Append, AppendOutcome, AppendRejection};
use crate::store::codec::Encoded;
use crate::store::Result;
use deadpool_postgres::{Object, Pool};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Connections the writer commits batches on, in parallel.
pub const WRITERS: usize = 8;

/// The most appends one transaction takes.
const MAX_BATCH: usize = 512;

/// Appends waiting for the writers, shared out among their queues; one more is refused with
/// `StoreError::Busy`.
const QUEUE: usize = 4096;

/// How many times a batch runs before a deadlock, a serialization failure or a missing partition
/// fails it.
const TRIES: u32 = 4;

type Reply = std::result::Result<AppendOutcome, AppendRejection>;

struct Job {
    append: Append,
    encoded: Encoded,
    reply: oneshot::Sender<Result<Reply>>,
}

pub struct Writer {
    /// One queue per writer task.
    queues: Vec<mpsc::Sender<Job>>,
}

impl Writer {
    /// Starts the writers: [`WRITERS`] of them, but at most half the pool's connections (the
    /// other requests need the rest). `day_offset`: the local days the rollups count
    /// (`PgStore::day_offset`). They stop when the `Writer` is dropped.
    pub fn start(pool: Pool, partitions: Partitions, day_offset: i64) -> Writer {
        let writers = WRITERS.min(pool.status().max_size / 2).max(1);
        let queues = (0..writers)
            .map(|_| {
                let (jobs, queue) = mpsc::channel(QUEUE / writers);
                tokio::spawn(run(pool.clone(), partitions.clone(), queue, day_offset));
                jobs
            })
            .collect();
        Writer { queues }
    }

    pub async fn append(&self, append: Append, encoded: Encoded) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        let mut session = DefaultHasher::new();
        (&append.account.0, &append.session_id).hash(&mut session);
        let queue = &self.queues[session.finish() as usize % self.queues.len()];
        // A full queue refuses at once (`sqlite/writer.rs` says why).
        queue
            .try_send(Job {
                append,
                encoded,
                reply,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Busy,
                mpsc::error::TrySendError::Closed(_) => {
                    StoreError::Database("the writer has stopped".into())
                }
            })?;
        answer
            .await
            .map_err(|_| StoreError::Database("the writer dropped the append".into()))?
    }
}

/// One writer: takes a batch of what waits in its queue, commits it, answers it.
async fn run(pool: Pool, partitions: Partitions, mut queue: mpsc::Receiver<Job>, day_offset: i64) {
    let mut conn: Option<Object> = None;
    loop {
        let batch = {
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let results = match conn.take() {
            Some(c) => Ok(c),
            None => pool.get().await.map_err(pool_error),
        };
        let results = match results {
            Ok(c) => {
                let c = conn.insert(c);
                let results = commit(c, &partitions, &batch, day_offset).await;
                // A connection that broke goes back to the pool, which drops it; the next batch
                // takes another.
                if c.is_closed() {
                    conn = None;
                }
                results
            }
            Err(e) => Err(e),
        };
        match results {
            Ok(replies) => {
                for (job, reply) in batch.into_iter().zip(replies) {
                    let _ = job.reply.send(Ok(reply));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Commits a batch: its partitions, then the transaction; both again after a deadlock, a
/// serialization failure or a missing partition, at most [`TRIES`] times in all.
async fn commit(
    c: &mut Object,
    partitions: &Partitions,
    batch: &[Job],
    day_offset: i64,
) -> Result<Vec<Reply>> {
    let mut starts: Vec<i64> = batch
        .iter()
        .filter_map(|job| {
            let a = &job.append;
            a.columns.time_offset.first().map(|o| a.start_time + o)
        })
        .collect();
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| (&batch[i].append.account.0, &batch[i].append.session_id));
    let mut tries = 0;
    loop {
        tries += 1;
        let ran = match partitions.ensure(&*c, starts.iter().copied()).await {
            Ok(()) => attempt(c, batch, &order, day_offset).await,
            Err(e) => Err(e),
        };
        match ran {
            Ok(Attempt::Committed(replies)) => return Ok(replies),
            Ok(Attempt::NoPartition(t)) if tries < TRIES => {
                partitions.forget(week_of(t));
                starts.push(t);
            }
            Ok(Attempt::NoPartition(t)) => {
                return Err(StoreError::Database(format!(
                    "chunks has no partition for time {t}"
                )))
            }
            Err(StoreError::Unavailable(_)) if tries < TRIES && !c.is_closed() => {
                tokio::time::sleep(Duration::from_millis(10 * u64::from(tries))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// How one run of a batch's transaction ended.
enum Attempt {
    /// The replies, in the order of the batch.
    Committed(Vec<Reply>),
    /// Rolled back: a chunk starts at this time, in a week without a partition.
    NoPartition(i64),
}

/// One run of a batch's transaction: the appends in `order`, then the devices' status and the
/// rollups they changed, then the commit. Rolled back (on drop) unless it commits. No savepoint per
/// append: a refusal is decided before the append writes anything (`sessions::apply`), and a
/// session row locked in two savepoints of one transaction becomes a MultiXact, which made every
/// read of it slow (a year of history loaded at 60 sessions/s, PostgreSQL's CPU in MultiXact
/// look-ups).
async fn attempt(
    c: &mut Object,
    batch: &[Job],
    order: &[usize],
    day_offset: i64,
) -> Result<Attempt> {
    let tx = c.transaction().await.map_err(db)?;
    partitions::writing_chunks(&tx).await?;
    let (mut changes, mut statuses) = (Changes::default(), Statuses::default());
    let mut replies: Vec<Option<Reply>> = vec![None; batch.len()];
    for &i in order {
        let job = &batch[i];
        let gathered = (&mut changes, &mut statuses);
        match apply(&tx, &job.append, &job.encoded, gathered, day_offset).await? {
            Applied::Answer(reply) => replies[i] = Some(reply),
            Applied::NoPartition(t) => return Ok(Attempt::NoPartition(t)),
        }
    }
    statuses.write(&tx).await?;
    changes.write(&tx).await?;
    tx.commit().await.map_err(db)?;
    Ok(Attempt::Committed(replies.into_iter().flatten().collect()))
}
