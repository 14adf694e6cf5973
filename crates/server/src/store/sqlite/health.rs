//! Whether the store can write. A write that fails for lack of space (SQLITE_FULL: the disk is full,
//! or the database reached `max_database_bytes`) marks the store full: logged once with its cause,
//! every write answers `StoreError::Full` (the client sees a retryable error, not InternalError), and
//! `/readyz` answers 503 while it lasts. Nothing needs to be reset when space returns: writes simply
//! succeed again. The mark is cleared by a probe — a small write that needs free pages — run by the
//! readiness check and after each successful write (the upkeep writes every second) while the store
//! is marked, so readiness follows within a second; the first probe that succeeds logs the recovery.

use super::db;
use crate::errors::StoreError;
use crate::store::Result;
use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The probe writes this much: more than a batch of reports usually needs, so that a store with
/// room for a few rows only is not called ready (and then full again at the next batch: the log would
/// flap). `max_database_bytes` is at least four times as much.
pub const PROBE_BYTES: usize = 256 * 1024;

/// Probes at most this often, whoever asks (`/readyz` is unauthenticated; each probe is a write).
const PROBE_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Health {
    /// The cause of the first failure, while the store is marked full.
    full: Mutex<Option<String>>,
    /// When the last probe ran.
    probed: Mutex<Option<Instant>>,
}

impl Health {
    /// Notes a write's error: `Full` marks the store full (logged the first time only).
    pub fn saw(&self, e: &StoreError) {
        if let StoreError::Full(cause) = e {
            let mut full = self.full.lock().unwrap_or_else(|p| p.into_inner());
            if full.is_none() {
                tracing::error!(
                    cause = %cause,
                    "the store cannot write: the disk or the database is full; writes answer ServiceUnavailable \
                     and /readyz 503 until space returns"
                );
                *full = Some(cause.clone());
            }
        }
    }

    /// The cause, while the store is marked full.
    pub fn full(&self) -> Option<String> {
        self.full.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// While the store is marked full, probes whether it can write again: clears the mark if so
    /// (logged once), else returns the probe's error.
    pub fn check(&self, conn: &mut Connection) -> Result<()> {
        let Some(cause) = self.full() else {
            return Ok(());
        };
        {
            let mut probed = self.probed.lock().unwrap_or_else(|p| p.into_inner());
            if probed.is_some_and(|at| at.elapsed() < PROBE_EVERY) {
                return Err(StoreError::Full(cause));
            }
            *probed = Some(Instant::now());
        }
        match probe(conn) {
            Ok(()) => {
                let was = self.full.lock().unwrap_or_else(|p| p.into_inner()).take();
                if was.is_some() {
                    tracing::info!("the store writes again: space has returned");
                }
                Ok(())
            }
            Err(e) => {
                self.saw(&e);
                Err(e)
            }
        }
    }
}

/// A write that needs [`PROBE_BYTES`] of new pages and leaves nothing behind: a table created,
/// filled and dropped in one committed transaction. The pages it frees stay in the file's free list
/// (the upkeep gives them back with `incremental_vacuum`).
fn probe(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute_batch(&format!(
        "CREATE TABLE write_probe (pad BLOB NOT NULL);
         INSERT INTO write_probe (pad) VALUES (zeroblob({PROBE_BYTES}));
         DROP TABLE write_probe;"
    ))
    .map_err(db)?;
    tx.commit().map_err(db)
}
