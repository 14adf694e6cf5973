//! WAL checkpoints beside the writer: a thread of their own copies the WAL's pages into the database
//! file every [`EVERY`] (`PRAGMA wal_checkpoint(PASSIVE)`, which waits for no one and lets the writer
//! go on), so that the writer's commits do not do it (it was a tenth of the writer's time under a
//! live fleet). The writer checkpoints by itself only if the WAL grows past
//! [`WRITER_CHECKPOINT_PAGES`], which keeps the WAL bounded should this thread fall behind. The
//! thread stops within [`EVERY`] of the store being dropped.

use r2d2_sqlite::rusqlite::Connection;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the WAL is checkpointed.
const EVERY: Duration = Duration::from_millis(200);

/// The WAL's size, in pages, at which the writer checkpoints itself (SQLite's default is 1000).
pub const WRITER_CHECKPOINT_PAGES: u32 = 16_000;

/// Held by the store: the thread stops once it is dropped.
pub struct Checkpointer {
    _alive: Arc<()>,
}

pub fn start(conn: Connection) -> std::io::Result<Checkpointer> {
    let alive = Arc::new(());
    let watch = Arc::downgrade(&alive);
    std::thread::Builder::new()
        .name("teleoscope-checkpoint".into())
        .spawn(move || run(&conn, &watch))?;
    Ok(Checkpointer { _alive: alive })
}

fn run(conn: &Connection, alive: &Weak<()>) {
    while alive.strong_count() > 0 {
        std::thread::sleep(EVERY);
        // Busy or failing: the next round tries again, and the writer's own checkpoint bounds the
        // WAL meanwhile.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "checkpoint");
        }
    }
}
