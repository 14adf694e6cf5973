//! The read side: timed signed calls of the query actions, the load of a year of history into the
//! store, and the size of what was stored.

use super::fixture::{connect, Db, Fixture};
use super::generate::Device;
use crate::client::{Connection, Credentials};
use crate::rng::Rng;
use anyhow::Context;
use r2d2_sqlite::rusqlite::Connection as SqliteDb;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use teleoscope_server::model::samples::Columns;
use teleoscope_server::model::sessions::{Append, PartMeta};
use teleoscope_server::model::DeviceType;
use teleoscope_server::store::codec;
use teleoscope_server::store::upkeep::COMPACT_LIVE_CHUNKS;

/// Latencies of one kind of call.
#[derive(Debug, Default)]
pub struct Timed {
    /// The first call, kept out of the percentiles: it finds the database pages and statement
    /// caches cold (the first query of its kind after a restart).
    pub first: Duration,
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Call `action` once (the cold call), then up to `calls` times (at least `min` times, then only
/// while within `budget`), checking each answer with `check`.
#[allow(clippy::too_many_arguments)]
pub async fn timed(
    conn: &mut Connection,
    creds: &Credentials,
    action: &str,
    body: &Value,
    calls: usize,
    min: usize,
    budget: Duration,
    check: impl Fn(&Value) -> anyhow::Result<()>,
) -> Timed {
    let mut t = Timed::default();
    let started = Instant::now();
    for i in 0..=calls {
        if i > min && started.elapsed() > budget {
            break;
        }
        match conn.ok(creds, action, body).await {
            Ok((v, took)) => {
                if i == 0 {
                    t.first = took;
                } else {
                    t.latencies.push(took);
                }
                if let Err(e) = check(&v) {
                    t.errors += 1;
                    t.first_error.get_or_insert(format!("{action}: {e}"));
                }
            }
            Err(e) => {
                t.errors += 1;
                t.first_error.get_or_insert(e.to_string());
            }
        }
    }
    t
}

/// The answer of DescribeDeviceSessionDetails has both devices with `points` points each.
pub fn check_details(v: &Value, points: usize) -> anyhow::Result<()> {
    let details = v["Details"].as_array().context("no Details")?;
    anyhow::ensure!(details.len() == 2, "{} details, not 2", details.len());
    for d in details {
        let n = d["TimeOffset"].as_array().map_or(0, Vec::len);
        anyhow::ensure!(
            n == points,
            "{} has {n} TimeOffsets, not {points}",
            d["DeviceId"]
        );
        anyhow::ensure!(
            d["CpuUsed"].as_array().map_or(0, Vec::len) == points,
            "CpuUsed is not aligned"
        );
    }
    Ok(())
}

/// Where the history goes: a year ending a day ago.
#[derive(Debug, Clone, Copy)]
pub struct Year {
    pub from: i64,
    pub to: i64,
}

impl Year {
    pub fn ending_yesterday() -> Year {
        let to = chrono::Utc::now().timestamp() - 86_400;
        Year {
            from: to - 365 * 86_400,
            to,
        }
    }
}

/// One-sample parts of a few lengths: (length, field part, remote part).
struct Parts {
    variants: Vec<(i64, Columns, Columns)>,
}

impl Parts {
    fn new() -> Parts {
        let mut rng = Rng::new(42);
        let variants = (0..64)
            .map(|i| {
                // Durations from a minute to two hours, as TimeOffset of the part's one sample.
                let d = 2 * rng.int(30, 3600);
                let field = Device::new(1000 + i, 2).next(d).to_columns();
                let remote = Device::new(2000 + i, 1).next(d).to_columns();
                (d, field, remote)
            })
            .collect();
        Parts { variants }
    }
}

/// The history's session ids: UUID-shaped, as the vendor's SDK makes them.
pub fn history_session_id(i: u64) -> String {
    let mut r = Rng::new(i);
    let id = uuid::Uuid::from_u64_pair(r.next_u64(), r.next_u64());
    format!("{id}-1")
}

/// Load `n` finished sessions spread over `year` through `Store::append` (a one-sample part per
/// device, as `import` stores history), `concurrency` sessions in flight so the writer commits many
/// appends per transaction. Session `i` is field device `i % k`'s, with remote device `(i / k) % k`.
pub async fn load_history(
    fx: &Fixture,
    n: u64,
    year: Year,
    concurrency: usize,
    progress: bool,
) -> anyhow::Result<Duration> {
    let parts = Arc::new(Parts::new());
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let span = (year.to - year.from - 7200) as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (parts, next) = (parts.clone(), next.clone());
        let store = fx.domain.store.clone();
        let account = fx.account.clone();
        let project = fx.project_id.clone();
        let pairs: Vec<(String, String)> = fx
            .pairs
            .iter()
            .map(|p| (p.field.id.clone(), p.remote.id.clone()))
            .collect();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                if progress && i > 0 && i % 100_000 == 0 {
                    eprintln!(
                        "[bench]   {i} sessions loaded ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                let session_id = history_session_id(i);
                // Evenly over the year, oldest first, with a jitter.
                let start = year.from + (i * span / n) as i64 + (i % 17) as i64;
                // Every field device meets every remote device over the year.
                let k = pairs.len() as u64;
                let field_id = &pairs[(i % k) as usize].0;
                let remote_id = &pairs[((i / k) % k) as usize].1;
                let (d, fc, rc) = &parts.variants[(i as usize * 13) % parts.variants.len()];
                let meta = PartMeta {
                    ver: "2.4".into(),
                    sdk_mode: "server2".into(),
                    width: 1280,
                    height: 720,
                    config_width: 1920,
                    config_height: 1080,
                    multi_mode: 0,
                };
                let append =
                    |device_id: &String, peer: &String, ty: DeviceType, c: &Columns| Append {
                        account: account.clone(),
                        project_id: project.clone(),
                        session_id: session_id.clone(),
                        device_id: device_id.clone(),
                        device_type: ty,
                        peer_device_id: peer.clone(),
                        start_time: start,
                        meta: meta.clone(),
                        columns: c.clone(),
                        last: true,
                        now: start + d,
                        from_device: false,
                        joined_only: false,
                    };
                let (a, b) = tokio::join!(
                    store.append(append(field_id, remote_id, DeviceType::Field, fc)),
                    store.append(append(remote_id, field_id, DeviceType::Remote, rc)),
                );
                for r in [a, b] {
                    match r {
                        Ok(Ok(o)) if o.accepted == 1 => {}
                        Ok(Ok(o)) => anyhow::bail!("session {session_id}: {o:?}"),
                        Ok(Err(r)) => anyhow::bail!("session {session_id}: refused {r:?}"),
                        Err(e) => anyhow::bail!("session {session_id}: {e}"),
                    }
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(started.elapsed())
}

/// Marks the history as scored, with a realistic spread of grades (70% good, 20% normal, 10% bad),
/// so that the server's upkeep does not re-score a year of imported sessions while the queries are
/// timed (that cost is measured separately). The same statement on either backend.
pub async fn mark_scored(db: &Db) -> anyhow::Result<u64> {
    const SQL: &str = "UPDATE sessions SET quality = CASE WHEN session_key % 10 = 0 THEN 'bad'
           WHEN session_key % 10 < 3 THEN 'normal' ELSE 'good' END,
           quality_final = TRUE, scored_at = last_update WHERE NOT quality_final";
    match db {
        Db::Sqlite(path) => Ok(sqlite(path)?.execute(SQL, [])? as u64),
        Db::Postgres(url) => Ok(connect(url).await?.execute(SQL, &[]).await?),
    }
}

/// PostgreSQL: the planner statistics of the loaded tables, as autovacuum's analyze takes them
/// within a minute of a bulk load. Right after the load the planner still believes the tables
/// empty, and lists a device's sessions through the wrong index (75 ms instead of 0.14 ms).
/// SQLite plans by its indexes and needs nothing.
pub async fn analyze(db: &Db) -> anyhow::Result<()> {
    if let Db::Postgres(url) = db {
        connect(url).await?.batch_execute("ANALYZE").await?;
    }
    Ok(())
}

fn sqlite(path: &Path) -> anyhow::Result<SqliteDb> {
    let db = SqliteDb::open(path)?;
    db.busy_timeout(Duration::from_secs(30))?;
    Ok(db)
}

/// What a store occupies, in bytes.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Footprint {
    /// SQLite: the database file after `PRAGMA wal_checkpoint(TRUNCATE)` (the WAL is then empty).
    /// PostgreSQL: every table of the schema with its indexes and TOAST (`pg_total_relation_size`).
    pub file: u64,
    /// Each table's bytes, by name: SQLite, the pages of each table and index (`dbstat`);
    /// PostgreSQL, each table with its indexes and TOAST, a partitioned table (`chunks`) summed over
    /// its partitions.
    pub tables: BTreeMap<String, u64>,
    /// How `tables` was measured: `dbstat` or `pg_total_relation_size`.
    pub measured: &'static str,
    /// Bytes of the encoded chunks themselves (`SUM(length(data))`), for the real store.
    pub chunk_payload: u64,
    /// Free pages inside the SQLite file (space left by deleted rows, e.g. chunks merged by
    /// compaction); PostgreSQL's dead space is not measured (`None`).
    pub free: Option<u64>,
}

/// The encoded chunks' bytes: the same query on either backend.
const CHUNK_PAYLOAD: &str = "SELECT CAST(COALESCE(SUM(length(data)), 0) AS BIGINT) FROM chunks";

pub async fn footprint(db: &Db, chunks: bool) -> anyhow::Result<Footprint> {
    match db {
        Db::Sqlite(path) => sqlite_footprint(path, chunks),
        Db::Postgres(url) => {
            let pg = connect(url).await?;
            let mut tables = BTreeMap::new();
            for r in pg
                .query(
                    "SELECT COALESCE(pg_partition_root(c.oid), c.oid::regclass)::text,
                            CAST(SUM(pg_total_relation_size(c.oid)) AS BIGINT)
                     FROM pg_class c
                     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                     GROUP BY 1",
                    &[],
                )
                .await?
            {
                tables.insert(r.get::<_, String>(0), r.get::<_, i64>(1) as u64);
            }
            let chunk_payload = if chunks {
                pg.query_one(CHUNK_PAYLOAD, &[]).await?.get::<_, i64>(0) as u64
            } else {
                0
            };
            Ok(Footprint {
                file: tables.values().sum(),
                tables,
                measured: "pg_total_relation_size",
                chunk_payload,
                free: None,
            })
        }
    }
}

fn sqlite_footprint(path: &Path, chunks: bool) -> anyhow::Result<Footprint> {
    let db = sqlite(path)?;
    db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let file = std::fs::metadata(path)?.len();
    let mut tables = BTreeMap::new();
    {
        let mut s = db.prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")?;
        let rows = s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for r in rows {
            let (name, size) = r?;
            tables.insert(name, size as u64);
        }
    }
    let chunk_payload = if chunks {
        db.query_row(CHUNK_PAYLOAD, [], |r| r.get::<_, i64>(0))? as u64
    } else {
        0
    };
    let page_size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let free_pages: i64 = db.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    Ok(Footprint {
        file,
        tables,
        measured: "dbstat",
        chunk_payload,
        free: Some((page_size * free_pages) as u64),
    })
}

/// What one compaction of a live part costs once the part holds `samples` samples: the part gets
/// them as one chunk, then one-sample chunks (a live device's next two minutes) until it is due
/// for compaction; the store's `compact_parts` then merges what is due, timed. Run on a store with no server
/// (so no upkeep compacts behind our back).
pub async fn live_compaction(fx: &Fixture, samples: usize) -> anyhow::Result<Duration> {
    let pair = &fx.pairs[0];
    let session_id = format!("compaction-{samples}");
    let mut device = Device::new(7, 2);
    let one = |v: super::generate::Values| v.to_columns();
    let history: Vec<Columns> = (0..samples)
        .map(|i| one(device.next(2 * i as i64)))
        .collect();
    let big = codec::merge(history).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = chrono::Utc::now().timestamp();
    let append = |c: Columns| Append {
        account: fx.account.clone(),
        project_id: fx.project_id.clone(),
        session_id: session_id.clone(),
        device_id: pair.field.id.clone(),
        device_type: DeviceType::Field,
        peer_device_id: pair.remote.id.clone(),
        start_time: now - 2 * samples as i64 - 62,
        meta: PartMeta::default(),
        columns: c,
        last: false,
        now,
        from_device: true,
        joined_only: false,
    };
    let store = &fx.domain.store;
    let mut chunks = vec![big];
    for k in 0..COMPACT_LIVE_CHUNKS as usize - 1 {
        chunks.push(one(device.next(2 * (samples + k) as i64)));
    }
    for c in chunks {
        match store.append(append(c)).await? {
            Ok(_) => {}
            Err(r) => anyhow::bail!("{session_id}: refused {r:?}"),
        }
    }
    let started = Instant::now();
    let compacted = store.compact_parts(100).await?;
    let took = started.elapsed();
    anyhow::ensure!(
        compacted >= 1,
        "{session_id}: nothing was due for compaction"
    );
    Ok(took)
}
