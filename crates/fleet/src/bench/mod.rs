//! `teleoscope bench`: the benchmark (docs/benchmark.md). Everything runs in this one process on
//! fresh stores (temporary SQLite files, or schemas in the PostgreSQL database `--database` names,
//! made and removed by `fixture`): real servers (`http::start` on `127.0.0.1:0`, rate limits lifted;
//! with `--nodes`, several on each PostgreSQL schema for ingest) and a client that signs every
//! request as the vendor's SDKs do, sharing the machine's cores.
//!
//! Figures: ingest throughput (acknowledged samples/s) at B = 30 and B = 1 samples per request,
//! DescribeDeviceSessionDetails latency on a one-hour session, DescribeDeviceSessionList latency at
//! N sessions (first, middle, last page, device filter), statistics latency over a year, bytes per
//! stored value, peak RSS. Two baselines run on the same data through the same HTTP path: a store
//! that stores nothing (decode-only: the ceiling) and one row per sample (naive).
//!
//! The `cpu` and `live` parts run the server as a child process instead (`child`), so that its CPU
//! and memory are read apart from the load generator's: CPU per report (`cpu`), and live devices at
//! their real rate, stepped up until the server no longer keeps up (`live`).
//!
//! Not a test: nothing here asserts a time. Layout: `client` (signed HTTP), `generate` (samples),
//! `stores` (baseline decorators), `fixture` (one server under test, and the provisioning every
//! store gets), `child` (the server in a child process), `ingest`, `cpu`, `live`, `queries`,
//! `report`.

mod child;
mod cpu;
mod fixture;
pub mod generate;
mod ingest;
mod live;
mod queries;
mod report;
mod stages;
mod stores;

use crate::client::Connection;
use child::Hosted;
use fixture::{Backend, Fixture, Variant};
use ingest::{IngestRun, Tally, Workload, POINTS};
use queries::{Footprint, Timed, Year};
use report::{fmt_num, p50_p99, status_mib, Row, Target};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teleoscope_server::store::upkeep::COMPACT_LIVE_CHUNKS;

/// The targets.
const INGEST_TARGET: f64 = 100_000.0;
const DETAILS_P99_MS: f64 = 10.0;
const LIST_P99_MS: f64 = 20.0;
const STATS_MS: f64 = 50.0;
const BYTES_PER_VALUE: f64 = 2.0;
const RSS_MIB: f64 = 300.0;
const LIVE_DEVICES: f64 = 25_000.0;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Sessions in the store of the list and statistics figures (default 1,000,000; 20,000 with
    /// --quick).
    #[arg(long)]
    pub sessions: Option<u64>,
    /// Smaller sizes and shorter runs, to finish in under a minute.
    #[arg(long)]
    pub quick: bool,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Device pairs reporting concurrently during ingest (default 32: 64 connections).
    #[arg(long, default_value_t = 32)]
    pub pairs: usize,
    /// Seconds of each ingest run (default 10; 3 with --quick).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Where the temporary stores go (default: the system's temporary directory). Use a directory on
    /// the disk the server would use: durability costs what that disk's fsync costs. SQLite only.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Run on PostgreSQL: each store is a fresh schema in this database
    /// (postgres://USER@HOST:PORT/DB), dropped at the end unless --keep. The naive baseline is
    /// SQLite only and is skipped. A sqlite:// URL changes nothing (the stores are temporary files).
    #[arg(long)]
    pub database: Option<String>,
    /// Servers in this process on each ingest store, each with its own store (connection pool,
    /// writer tasks) and listener, as nodes behind a load balancer: each pair's two devices report
    /// to different nodes. Queries go to the first. More than one needs a PostgreSQL --database.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Run only these parts (comma-separated): server30, server1, decode, naive, history, cpu,
    /// live. For profiling one path; the report then has only their figures.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Keep the temporary stores (their paths or schemas are printed), to look into them with
    /// `sqlite3` or `psql`.
    #[arg(long)]
    pub keep: bool,
    /// Format the request log as `serve` does (info level), written to nowhere: includes the cost
    /// of logging every request, which the default run leaves out.
    #[arg(long)]
    pub log: bool,
    /// Live stage: devices of the first step, and added at each next one.
    #[arg(long, default_value_t = 2500)]
    pub live_step: usize,
    /// Live stage: devices of the last step tried (all are provisioned first).
    #[arg(long, default_value_t = 40_000)]
    pub live_max: usize,
    /// Live stage: seconds measured at each step, after a two-second ramp (default 20; 6 with
    /// --quick).
    #[arg(long)]
    pub live_seconds: Option<u64>,
    /// Live stage: keep-alive connections the devices share, as behind a load balancer.
    #[arg(long, default_value_t = 256)]
    pub live_connections: usize,
}

/// The sizes of one run.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    sessions: u64,
    pairs: usize,
    /// Servers on each ingest store.
    nodes: usize,
    ingest_seconds: u64,
    batches: [usize; 2],
    details_calls: usize,
    list_calls: usize,
    stats_calls: usize,
    /// Seconds after which a figure stops calling (once it has `min_calls`).
    budget_seconds: u64,
    min_calls: usize,
    load_concurrency: usize,
    history_devices: usize,
    scored_sample: u64,
    live: live::Plan,
}

#[derive(Debug, Clone, Serialize)]
struct PhaseInfo {
    phase: String,
    seconds: f64,
    /// Peak RSS during the phase (VmHWM, reset at its start), MiB.
    peak_rss_mib: f64,
}

#[derive(Serialize)]
struct Output {
    machine: String,
    cores: usize,
    stores: String,
    sizes: Sizes,
    rows: Vec<RowOut>,
    phases: Vec<PhaseInfo>,
    errors: Vec<String>,
    footprints: Footprints,
    /// The live stage's steps, the queries' load last.
    live_steps: Vec<live::Step>,
    total_seconds: f64,
}

/// A row with its verdict (PASS, MISS, ERROR or "-").
#[derive(Serialize)]
struct RowOut {
    #[serde(flatten)]
    row: Row,
    result: &'static str,
}

/// (name, footprint, values stored) of each store measured.
type Footprints = Vec<(String, Footprint, u64)>;

struct Phases {
    list: Vec<PhaseInfo>,
    peak: f64,
    verbose: bool,
}

impl Phases {
    fn begin(&self, name: &str) -> Instant {
        report::reset_peak();
        if self.verbose {
            eprintln!("[bench] {name} ...");
        }
        Instant::now()
    }
    /// Runs `work` as the phase `name`.
    async fn run<T>(&mut self, name: &str, work: impl std::future::Future<Output = T>) -> T {
        let started = self.begin(name);
        let out = work.await;
        self.end(name, started);
        out
    }

    fn end(&mut self, name: &str, started: Instant) {
        let hwm = status_mib("VmHWM:");
        self.peak = self.peak.max(hwm);
        let seconds = started.elapsed().as_secs_f64();
        if self.verbose {
            eprintln!("[bench] {name}: {seconds:.1} s, peak RSS {hwm:.0} MiB");
        }
        self.list.push(PhaseInfo {
            phase: name.to_owned(),
            seconds,
            peak_rss_mib: hwm,
        });
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn ingest_note(run: &IngestRun) -> String {
    let t = &run.tally;
    let (p50, p99) = p50_p99(&t.latencies);
    format!(
        "{} devices, {} req/s, body {} B/sample, request p50 {:.1} ms p99 {:.1} ms",
        run.devices,
        fmt_num(t.requests as f64 / run.elapsed.as_secs_f64()),
        if t.accepted > 0 {
            t.body_bytes / t.accepted.max(1)
        } else {
            0
        },
        p50,
        p99
    )
}

fn collect_errors(errors: &mut Vec<String>, what: &str, t: &Tally) {
    for e in t.error_summary() {
        errors.push(format!("{what}: {e}"));
    }
}

fn timed_row(figure: &str, t: &Timed, target: Option<f64>, errors: &mut Vec<String>) -> Row {
    let (p50, p99) = p50_p99(&t.latencies);
    if let Some(e) = &t.first_error {
        errors.push(format!("{figure}: {} errors, first: {e}", t.errors));
    }
    let mut row = Row::new(format!("{figure} p99"), p99, "ms")
        .errors(t.errors)
        .note(format!(
            "p50 {p50:.2} ms, {} calls after a first (cold) call of {:.1} ms",
            t.latencies.len(),
            report::ms(t.first)
        ));
    if let Some(limit) = target {
        row = row.target(Target::AtMost(limit));
    }
    row
}

/// Sample tables of the real store: chunks, parts and the parts' indexes.
fn sample_tables(f: &Footprint) -> u64 {
    f.tables
        .iter()
        .filter(|(name, _)| {
            name.starts_with("chunks")
                || name.starts_with("parts")
                || name.starts_with("sqlite_autoindex_parts")
                || name.starts_with("sqlite_autoindex_chunks")
        })
        .map(|(_, size)| *size)
        .sum()
}

fn naive_tables(f: &Footprint) -> u64 {
    f.tables
        .iter()
        .filter(|(name, _)| name.contains("naive_samples"))
        .map(|(_, size)| *size)
        .sum()
}

/// The server on batched (B = 30) or live (B = 1) ingest: throughput, a one-hour session's
/// details, and what the store occupies.
struct ServerRun {
    ingest: IngestRun,
    details: Timed,
    /// In-process `session_details` (B = 30 only).
    store_read: Vec<Duration>,
    footprint: Footprint,
    values: u64,
    /// (samples in the part, time of one compaction of it) (B = 1 only).
    compaction: Vec<(usize, Duration)>,
}

struct NaiveRun {
    ingest30: IngestRun,
    ingest1: IngestRun,
    read: Vec<Duration>,
    footprint: Footprint,
    values: u64,
}

struct HistoryRun {
    load: Duration,
    score_rate: f64,
    list: Vec<(String, Timed)>,
    stats: Vec<(&'static str, Timed)>,
    footprint: Footprint,
}

struct Ctx {
    backend: Backend,
    keep: bool,
    sizes: Sizes,
    work: Arc<Workload>,
    budget: Duration,
    duration: Duration,
    verbose: bool,
    errors: Vec<String>,
}

async fn server_run(cx: &mut Ctx, batch: usize) -> anyhow::Result<ServerRun> {
    let mut fx = Fixture::start(
        &cx.backend,
        Variant::Server,
        cx.sizes.pairs,
        cx.sizes.nodes,
        cx.keep,
    )
    .await?;
    fx.serve().await?;
    let ingest = ingest::run(
        &fx.fleet(),
        &cx.work,
        batch,
        cx.duration,
        &format!("b{batch}"),
    )
    .await;
    collect_errors(
        &mut cx.errors,
        &format!("server ingest B={batch}"),
        &ingest.tally,
    );
    let session = format!("detail-b{batch}");
    let detail = ingest::one_session(&fx.fleet(), &cx.work, 0, batch, &session).await;
    collect_errors(
        &mut cx.errors,
        &format!("details session B={batch}"),
        &detail,
    );
    // Reads are timed on a settled server: the upkeep (scoring, compaction) has digested the
    // ingest burst, which left seconds of merging behind it (the server's own upkeep runs too).
    let mut rounds = 0;
    while fx
        .domain
        .upkeep()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        != Default::default()
    {
        rounds += 1;
        anyhow::ensure!(rounds < 10_000, "the upkeep does not settle");
    }
    let mut conn = Connection::open(fx.addr()).await?;
    let calls = cx.sizes.details_calls;
    let details = queries::timed(
        &mut conn,
        &fx.api,
        "DescribeDeviceSessionDetails",
        &json!({ "SessionId": session }),
        calls,
        if batch > 1 { calls } else { cx.sizes.min_calls },
        if batch > 1 { Duration::MAX } else { cx.budget },
        |v| queries::check_details(v, POINTS),
    )
    .await;
    let mut store_read = Vec::new();
    if batch > 1 {
        for _ in 0..calls {
            let t = Instant::now();
            let parts = fx
                .domain
                .session_details(&fx.account, &session, None, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .parts;
            store_read.push(t.elapsed());
            anyhow::ensure!(parts.iter().all(|p| p.columns.len() == POINTS));
        }
    }
    fx.stop_serving().await;
    let footprint = queries::footprint(&fx.db, true).await?;
    let mut compaction = Vec::new();
    if batch == 1 {
        for samples in [1800, 14_400] {
            compaction.push((samples, queries::live_compaction(&fx, samples).await?));
        }
    }
    Ok(ServerRun {
        compaction,
        values: ingest.tally.values + detail.values,
        ingest,
        details,
        store_read,
        footprint,
    })
}

async fn decode_run(cx: &mut Ctx) -> anyhow::Result<(IngestRun, IngestRun)> {
    let mut fx = Fixture::start(
        &cx.backend,
        Variant::DecodeOnly,
        cx.sizes.pairs,
        cx.sizes.nodes,
        cx.keep,
    )
    .await?;
    fx.serve().await?;
    let b30 = ingest::run(&fx.fleet(), &cx.work, 30, cx.duration, "b30").await;
    let b1 = ingest::run(&fx.fleet(), &cx.work, 1, cx.duration, "b1").await;
    collect_errors(&mut cx.errors, "decode-only ingest B=30", &b30.tally);
    collect_errors(&mut cx.errors, "decode-only ingest B=1", &b1.tally);
    fx.stop_serving().await;
    Ok((b30, b1))
}

async fn naive_run(cx: &mut Ctx) -> anyhow::Result<NaiveRun> {
    let mut fx = Fixture::start(&cx.backend, Variant::Naive, cx.sizes.pairs, 1, cx.keep).await?;
    fx.serve().await?;
    let ingest30 = ingest::run(&fx.fleet(), &cx.work, 30, cx.duration, "b30").await;
    let ingest1 = ingest::run(&fx.fleet(), &cx.work, 1, cx.duration, "b1").await;
    collect_errors(&mut cx.errors, "naive ingest B=30", &ingest30.tally);
    collect_errors(&mut cx.errors, "naive ingest B=1", &ingest1.tally);
    let detail = ingest::one_session(&fx.fleet(), &cx.work, 0, 30, "detail-b30").await;
    collect_errors(&mut cx.errors, "naive details session", &detail);
    let (naive, naive_db) = fx.naive.clone().expect("the naive fixture has its store");
    let (field_id, remote_id) = (fx.pairs[0].field.id.clone(), fx.pairs[0].remote.id.clone());
    let mut read = Vec::new();
    for _ in 0..cx.sizes.details_calls {
        let t = Instant::now();
        let f = naive.read_part("detail-b30", &field_id)?;
        let r = naive.read_part("detail-b30", &remote_id)?;
        read.push(t.elapsed());
        anyhow::ensure!(f.len() == POINTS && r.len() == POINTS && f.nets.len() == 2);
    }
    fx.stop_serving().await;
    let footprint = queries::footprint(&naive_db, false).await?;
    Ok(NaiveRun {
        values: ingest30.tally.values + ingest1.tally.values + detail.values,
        ingest30,
        ingest1,
        read,
        footprint,
    })
}

async fn history_run(cx: &mut Ctx, phases: &mut Phases) -> anyhow::Result<HistoryRun> {
    let p = phases.begin("history: load");
    let mut fx = Fixture::start(
        &cx.backend,
        Variant::Server,
        cx.sizes.history_devices,
        1,
        cx.keep,
    )
    .await?;
    let year = Year::ending_yesterday();
    let n = cx.sizes.sessions;
    let load = queries::load_history(&fx, n, year, cx.sizes.load_concurrency, cx.verbose).await?;
    phases.end("history: load", p);

    let p = phases.begin("history: scoring rate");
    let scored = cx.sizes.scored_sample.min(n);
    let t = Instant::now();
    for key in 1..=scored as i64 {
        fx.domain
            .score(key)
            .await
            .map_err(|e| anyhow::anyhow!("scoring session {key}: {e}"))?;
    }
    let score_rate = scored as f64 / t.elapsed().as_secs_f64();
    queries::mark_scored(&fx.db).await?;
    queries::analyze(&fx.db).await?;
    phases.end("history: scoring rate", p);

    let p = phases.begin("history: list and statistics");
    fx.serve().await?;
    let mut conn = Connection::open(fx.addr()).await?;
    let page_size = 10u64;
    let last_page = n.div_ceil(page_size).max(1);
    // load_history gives field device k the sessions i with i % devices == k.
    let device = fx.pairs[7].field.id.clone();
    let device_sessions = (7..n).step_by(cx.sizes.history_devices).count() as u64;
    let device_pages = device_sessions.div_ceil(page_size).max(1);
    let mut list = Vec::new();
    for (name, page, device) in [
        ("List page 1", 1, None),
        ("List middle page", last_page.div_ceil(2), None),
        ("List last page", last_page, None),
        ("List page 1, DeviceId filter", 1, Some(device.clone())),
        (
            "List last page, DeviceId filter",
            device_pages,
            Some(device.clone()),
        ),
    ] {
        let mut body =
            json!({"ProjectId": fx.project_id, "PageNumber": page, "PageSize": page_size});
        if let Some(d) = &device {
            body["DeviceId"] = json!(d);
        }
        let expect_total = Some(if device.is_none() { n } else { device_sessions });
        let t = queries::timed(
            &mut conn,
            &fx.api,
            "DescribeDeviceSessionList",
            &body,
            cx.sizes.list_calls,
            cx.sizes.min_calls,
            cx.budget,
            |v| {
                let total = v["Total"].as_u64().unwrap_or(0);
                if let Some(e) = expect_total {
                    anyhow::ensure!(total == e, "Total {total}, not {e}");
                }
                let num = v["DeviceSessionList"].as_array().map_or(0, Vec::len);
                anyhow::ensure!(num > 0, "an empty page");
                Ok(())
            },
        )
        .await;
        list.push((format!("{name} (PageNumber {page})"), t));
    }
    let (from, to) = (year.from, year.to);
    let pid = fx.project_id.clone();
    let mut stats = Vec::new();
    for (name, action, body) in [
        (
            "DescribeSessionStatistics, year",
            "DescribeSessionStatistics",
            json!({"ProjectId": pid, "StartTime": from, "EndTime": to}),
        ),
        (
            "ByInterval month, year",
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "month", "StartTime": from, "EndTime": to}),
        ),
        (
            "ByInterval day, year",
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "day", "StartTime": from, "EndTime": to}),
        ),
        (
            "GetTotalDuration, year",
            "GetTotalDuration",
            json!({"ProjectId": pid, "StartTime": from, "EndTime": to}),
        ),
        (
            "GetDurationDetails, year",
            "GetDurationDetails",
            json!({"ProjectId": pid, "StartTime": from, "EndTime": to, "PageNum": 1, "PageSize": 100}),
        ),
    ] {
        let t = queries::timed(
            &mut conn,
            &fx.api,
            action,
            &body,
            cx.sizes.stats_calls,
            cx.sizes.min_calls,
            cx.budget,
            |v| {
                if action == "DescribeSessionStatistics" {
                    let s = v["SessionNum"].as_u64().unwrap_or(0);
                    anyhow::ensure!(s == n, "SessionNum {s}, not {n}");
                }
                Ok(())
            },
        )
        .await;
        stats.push((name, t));
    }
    fx.stop_serving().await;
    let footprint = queries::footprint(&fx.db, true).await?;
    phases.end("history: list and statistics", p);
    Ok(HistoryRun {
        load,
        score_rate,
        list,
        stats,
        footprint,
    })
}

/// The closed-loop ingest at B = 30 then B = 1 against a server in a child process: its CPU per
/// report and sample, and its peak RSS.
async fn cpu_run(cx: &mut Ctx) -> anyhow::Result<(Vec<cpu::CpuRun>, f64)> {
    let hosted = Hosted::start(&cx.backend, cx.sizes.pairs, cx.keep).await?;
    let mut runs = Vec::new();
    for batch in cx.sizes.batches {
        let run = cpu::measure(&hosted, &cx.work, batch, cx.duration).await?;
        collect_errors(
            &mut cx.errors,
            &format!("cpu ingest B={batch}"),
            &run.ingest.tally,
        );
        runs.push(run);
    }
    Ok((runs, hosted.server.memory().peak_mib))
}

/// The live stage on a server in a child process, every device of its last step provisioned first.
async fn live_run(cx: &Ctx) -> anyhow::Result<live::LiveRun> {
    let plan = cx.sizes.live.clone();
    let pairs = plan.steps().last().copied().unwrap_or(0) / 2;
    anyhow::ensure!(
        pairs > 0,
        "--live-max {} is below --live-step {}: no step to run",
        plan.max,
        plan.step
    );
    let hosted = Hosted::start(&cx.backend, pairs.max(1), cx.keep).await?;
    if cx.verbose {
        eprintln!(
            "[bench]   {} devices provisioned in {:.1} s",
            2 * pairs,
            hosted.provisioning.as_secs_f64()
        );
    }
    live::run(
        &hosted,
        &cx.work,
        plan,
        cx.sizes.details_calls,
        cx.sizes.list_calls,
        cx.verbose,
    )
    .await
}

/// The rows of the live stage: the largest N that held, the server's RSS, and the queries under
/// load.
fn live_rows(l: &live::LiveRun, cpu_peak: Option<f64>, errors: &mut Vec<String>) -> Vec<Row> {
    let mut rows = Vec::new();
    let n = l.held.unwrap_or(0);
    let mut note = match l.steps.iter().find(|s| s.devices == n) {
        Some(s) => format!(
            "at {} devices: {} reports/s offered, {} achieved, p99 {:.1} ms, server {:.2} cores, \
             {:.0} us/request, {:.0} MiB RSS",
            fmt_num(n as f64),
            fmt_num(s.offered_reports_per_s),
            fmt_num(s.achieved_reports_per_s),
            s.p99_ms,
            s.server_cores,
            s.server_us_per_request,
            s.server_rss_mib
        ),
        None => "no step held".to_owned(),
    };
    match l.steps.iter().find(|s| !s.held) {
        Some(s) => note.push_str(&format!(
            "; {} devices did not hold: p99 {:.1} ms, {} errors, {} of {} reports/s{}",
            fmt_num(s.devices as f64),
            s.p99_ms,
            s.errors,
            fmt_num(s.achieved_reports_per_s),
            fmt_num(s.offered_reports_per_s),
            if s.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.note)
            }
        )),
        None => note.push_str(&format!(
            "; every step held up to --live-max {}",
            fmt_num(l.plan.max as f64)
        )),
    }
    note.push_str(&format!(
        "; 1 sample/2 s + a heartbeat/10 s per device over {} shared connections, {} s per step; \
         devices provisioned in {:.1} s",
        l.plan.connections,
        l.plan.seconds,
        l.provisioning.as_secs_f64()
    ));
    rows.push(
        Row::new(
            format!("live devices (p99 <= {} ms, no errors)", live::P99_MS),
            n as f64,
            "devices",
        )
        .target(Target::AtLeast(LIVE_DEVICES))
        .note(note),
    );
    let mut rss = format!("VmHWM of the live stage's server {:.0} MiB", l.peak_rss_mib);
    let mut peak = l.peak_rss_mib;
    if let Some(c) = cpu_peak {
        rss.push_str(&format!("; of the cpu part's {c:.0} MiB"));
        peak = peak.max(c);
    }
    rows.push(
        Row::new("server peak RSS (child process)", peak, "MiB")
            .target(Target::AtMost(RSS_MIB))
            .note(rss),
    );
    for (devices, e) in &l.step_errors {
        for e in e {
            errors.push(format!("live, {devices} devices: {e}"));
        }
    }
    if let Some((devices, details, list)) = &l.queries {
        let load = format!(
            "; under {} live devices ({}); {} sessions in the store",
            fmt_num(*devices as f64),
            if l.held.is_some() {
                "80% of the largest N that held"
            } else {
                "80% of the first step, which did not hold"
            },
            fmt_num(l.sessions as f64)
        );
        rows.push(
            timed_row(
                "Details, 1 h session, under live load",
                details,
                Some(DETAILS_P99_MS),
                errors,
            )
            .note_append(&format!("; 2 x {POINTS} points checked{load}")),
        );
        rows.push(
            timed_row(
                "List page 1, under live load",
                list,
                Some(LIST_P99_MS),
                errors,
            )
            .note_append(&load),
        );
    }
    rows
}

const PARTS: [&str; 7] = [
    "server30", "server1", "decode", "naive", "history", "cpu", "live",
];

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    for o in &args.only {
        anyhow::ensure!(
            PARTS.contains(&o.as_str()),
            "--only {o}: expected some of {}",
            PARTS.join(", ")
        );
    }
    let wanted = |part: &str| args.only.is_empty() || args.only.iter().any(|o| o == part);
    let backend = Backend::new(args.database.as_deref(), args.dir.clone());
    anyhow::ensure!(
        args.nodes == 1 || (args.nodes > 1 && matches!(backend, Backend::Postgres(_))),
        "--nodes {}: expected 1, or more with a PostgreSQL --database (a SQLite store is one \
         server's file)",
        args.nodes
    );
    if args.log {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::sink)
            .try_init();
    }
    let sizes = Sizes {
        sessions: args
            .sessions
            .unwrap_or(if args.quick { 20_000 } else { 1_000_000 }),
        pairs: args.pairs.max(1),
        nodes: args.nodes,
        ingest_seconds: args.seconds.unwrap_or(if args.quick { 3 } else { 10 }),
        batches: [30, 1],
        details_calls: if args.quick { 50 } else { 200 },
        list_calls: 50,
        stats_calls: 20,
        budget_seconds: if args.quick { 3 } else { 15 },
        min_calls: 5,
        load_concurrency: 256,
        history_devices: 100,
        scored_sample: if args.quick { 300 } else { 2000 },
        live: live::Plan {
            step: args.live_step,
            max: args.live_max,
            seconds: args.live_seconds.unwrap_or(if args.quick { 6 } else { 20 }),
            connections: args.live_connections,
        },
    };
    let mut stores = backend.describe();
    if sizes.nodes > 1 {
        stores.push_str(&format!(
            "; ingest on {} nodes per schema (servers with their own pools)",
            sizes.nodes
        ));
    }
    if wanted("naive") && !backend.has_naive() {
        stores.push_str("; the naive baseline (one SQLite file by nature) is skipped");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let machine = format!(
        "{} x {}; server, client and baselines share them in this one process",
        cores,
        cpu_model()
    );
    let verbose = !args.json;
    if verbose {
        eprintln!("[bench] {machine}");
        eprintln!("[bench] stores: {stores}; {sizes:?}");
    }
    let mut phases = Phases {
        list: Vec::new(),
        peak: 0.0,
        verbose,
    };
    let mut cx = Ctx {
        backend,
        keep: args.keep,
        budget: Duration::from_secs(sizes.budget_seconds),
        duration: Duration::from_secs(sizes.ingest_seconds),
        sizes: sizes.clone(),
        work: Arc::new(Workload::new()),
        verbose,
        errors: Vec::new(),
    };

    // CPU per request, stage by stage (one thread, no I/O).
    let mut stage_rows = Vec::new();
    for batch in sizes.batches {
        let series = &cx.work.field[0];
        let stages = tokio::task::spawn_blocking({
            let work = cx.work.clone();
            move || stages::measure(&work.field[0], batch)
        })
        .await??;
        let total: f64 = stages.iter().take(4).map(|s| s.micros).sum();
        for s in stages {
            stage_rows.push(
                Row::new(format!("cpu/request B={batch}: {}", s.name), s.micros, "us")
                    .note(format!("{:.2} us/sample", s.micros / batch as f64)),
            );
        }
        stage_rows.push(
            Row::new(
                format!("cpu/request B={batch}: the four ingest stages"),
                total,
                "us",
            )
            .note(format!(
                "one core: at most {} samples/s for these stages alone ({} values/sample)",
                fmt_num(1e6 * batch as f64 / total),
                series.values_per_sample
            )),
        );
    }

    let server30 = if wanted("server30") {
        Some(
            phases
                .run(
                    "server, B=30: ingest, details, footprint",
                    server_run(&mut cx, 30),
                )
                .await?,
        )
    } else {
        None
    };
    let server1 = if wanted("server1") {
        Some(
            phases
                .run(
                    "server, B=1: ingest, details, footprint",
                    server_run(&mut cx, 1),
                )
                .await?,
        )
    } else {
        None
    };
    let decode = if wanted("decode") {
        Some(
            phases
                .run("decode-only: ingest B=30, B=1", decode_run(&mut cx))
                .await?,
        )
    } else {
        None
    };
    let naive = if wanted("naive") && cx.backend.has_naive() {
        Some(
            phases
                .run(
                    "naive: ingest B=30, B=1, details read, footprint",
                    naive_run(&mut cx),
                )
                .await?,
        )
    } else {
        None
    };
    let history = if wanted("history") {
        Some(history_run(&mut cx, &mut phases).await?)
    } else {
        None
    };
    let cpu = if wanted("cpu") {
        Some(
            phases
                .run("cpu: server in a child, ingest B=30, B=1", cpu_run(&mut cx))
                .await?,
        )
    } else {
        None
    };
    let live = if wanted("live") {
        Some(
            phases
                .run("live: server in a child, devices stepped up", live_run(&cx))
                .await?,
        )
    } else {
        None
    };

    // --- The report.
    let mut errors = std::mem::take(&mut cx.errors);
    let mut rows: Vec<Row> = Vec::new();
    for (b, server) in [(30, &server30), (1, &server1)] {
        let decode = decode
            .as_ref()
            .map(|(d30, d1)| if b > 1 { d30 } else { d1 });
        let nv = naive
            .as_ref()
            .map(|n| if b > 1 { &n.ingest30 } else { &n.ingest1 });
        let main = server.as_ref().map(|s| &s.ingest).or(decode).or(nv);
        let Some(main) = main else { continue };
        let label = match (server.is_some(), decode.is_some()) {
            (true, _) => "",
            (false, true) => " [decode-only]",
            (false, false) => " [naive]",
        };
        let mut r = Row::new(
            format!("ingest B={b}{label} (acknowledged samples/s)"),
            main.samples_per_second(),
            "samples/s",
        )
        .note(ingest_note(main));
        let mut errs = main.tally.errors;
        if server.is_some() {
            if let Some(d) = decode {
                r = r.baseline("decode-only", d.samples_per_second());
                errs += d.tally.errors;
                let (p50, p99) = p50_p99(&d.tally.latencies);
                r.note
                    .push_str(&format!("; decode-only p50 {p50:.1} ms p99 {p99:.1} ms"));
            }
        }
        if server.is_some() || decode.is_some() {
            if let Some(n) = nv {
                r = r.baseline("naive", n.samples_per_second());
                errs += n.tally.errors;
                let (p50, p99) = p50_p99(&n.tally.latencies);
                r.note
                    .push_str(&format!("; naive p50 {p50:.1} ms p99 {p99:.1} ms"));
            }
        }
        r = r.errors(errs);
        if b > 1 {
            r = r.target(Target::AtLeast(INGEST_TARGET));
        } else {
            r.note
                .push_str("; no target: one sample per request is request-bound (see decode-only)");
        }
        rows.push(r);
    }
    if let Some(s) = &server30 {
        rows.push(
            timed_row(
                "Details, 1 h session, 30 samples/request",
                &s.details,
                Some(DETAILS_P99_MS),
                &mut errors,
            )
            .note_append(&format!("; 2 x {POINTS} points checked")),
        );
    }
    if let Some(s) = &server1 {
        rows.push(
            timed_row(
                "Details, 1 h session, 1 sample/request",
                &s.details,
                Some(DETAILS_P99_MS),
                &mut errors,
            )
            .note_append(&format!("; 2 x {POINTS} points checked")),
        );
    }
    if let Some(s) = &server30 {
        let (p50, p99) = p50_p99(&s.store_read);
        let mut r = Row::new("Details store read, in process, p99", p99, "ms");
        let mut note = format!("p50 {p50:.2} ms");
        if let Some(n) = &naive {
            let (n50, n99) = p50_p99(&n.read);
            r = r.baseline("naive", n99);
            note.push_str(&format!(" (naive {n50:.2} ms)"));
        }
        note.push_str(": stored rows or chunks to arrays, no HTTP, no JSON");
        rows.push(r.note(note));
    }
    if let Some(s) = &server1 {
        for (samples, took) in &s.compaction {
            let hours = *samples as f64 / 1800.0;
            rows.push(
                Row::new(
                    format!("compaction of a live part, {hours:.0} h of samples"),
                    report::ms(*took),
                    "ms",
                )
                .note(format!(
                    "a {samples}-sample chunk + {small} one-sample chunks; the newest merge, back to a chunk \
                     over twice their bytes; a live device (1 sample / 2 s) is due every ~{every} s",
                    small = COMPACT_LIVE_CHUNKS - 1,
                    every = 2 * COMPACT_LIVE_CHUNKS,
                )),
            );
        }
    }
    if let Some(h) = &history {
        let n = cx.sizes.sessions as f64;
        rows.push(
            Row::new(
                format!("history load, {} sessions", fmt_num(n)),
                h.load.as_secs_f64(),
                "s",
            )
            .note(format!(
                "{} sessions/s through Store::append, 2 one-sample parts each, {} in flight",
                fmt_num(n / h.load.as_secs_f64()),
                cx.sizes.load_concurrency
            )),
        );
        rows.push(
            Row::new("upkeep scoring of history", h.score_rate, "sessions/s").note(format!(
                "{} imported sessions take {:.0} s to score (Domain::score, one at a time)",
                fmt_num(n),
                n / h.score_rate
            )),
        );
        let fp = &h.footprint;
        let biggest = fp
            .tables
            .iter()
            .filter(|(name, _)| !name.starts_with("sqlite_schema"))
            .map(|(name, size)| (size, name))
            .max()
            .map(|(size, name)| format!("; largest: {name} {:.0} MiB", *size as f64 / 1048576.0))
            .unwrap_or_default();
        rows.push(
            Row::new(
                "history store, per session",
                fp.file as f64 / n,
                "B/session",
            )
            .note(format!(
                "{:.0} MiB file for {} sessions with one-sample parts{biggest}",
                fp.file as f64 / 1048576.0,
                fmt_num(n)
            )),
        );
        for (name, t) in &h.list {
            rows.push(timed_row(name, t, Some(LIST_P99_MS), &mut errors));
        }
        for (name, t) in &h.stats {
            rows.push(
                timed_row(name, t, Some(STATS_MS), &mut errors)
                    .note_append(&format!("; {} sessions in the year", fmt_num(n))),
            );
        }
    }
    let naive_bytes = naive.as_ref().map(|n| {
        let v = n.values.max(1) as f64;
        (
            n.footprint.file as f64 / v,
            naive_tables(&n.footprint) as f64 / v,
        )
    });
    for (label, s) in [("B=30", &server30), ("B=1", &server1)] {
        let Some(s) = s else { continue };
        let v = s.values.max(1) as f64;
        let fp = &s.footprint;
        let mut whole = Row::new(
            format!("bytes/value, whole file, {label}"),
            fp.file as f64 / v,
            "B/value",
        )
        .target(Target::AtMost(BYTES_PER_VALUE))
        .note(format!(
            "{} B {}; {} values (TimeOffset, 21 metrics, 4 per link)",
            fmt_num(fp.file as f64),
            match fp.free {
                Some(free) => format!(
                    "after checkpoint, {} B of it free pages",
                    fmt_num(free as f64)
                ),
                None => "in the schema's tables and indexes".to_owned(),
            },
            fmt_num(v)
        ));
        let mut tables = Row::new(
            format!("bytes/value, sample tables, {label}"),
            sample_tables(fp) as f64 / v,
            "B/value",
        )
        .target(Target::AtMost(BYTES_PER_VALUE))
        .note(format!(
            "chunks + parts + their indexes ({}); chunk payload alone {:.2} B/value",
            fp.measured,
            fp.chunk_payload as f64 / v
        ));
        if let Some((file, table)) = naive_bytes {
            whole = whole.baseline("naive", file);
            tables = tables.baseline("naive", table);
        }
        rows.push(whole);
        rows.push(tables);
    }
    if let (None, None, Some(n)) = (&server30, &server1, &naive) {
        let (file, table) = naive_bytes.unwrap_or_default();
        rows.push(Row::new("bytes/value, whole file [naive]", file, "B/value"));
        rows.push(
            Row::new("bytes/value, sample table [naive]", table, "B/value").note(format!(
                "naive_samples and its primary-key index (dbstat), {} values",
                fmt_num(n.values as f64)
            )),
        );
    }
    if let Some((runs, _)) = &cpu {
        rows.extend(cpu::rows(runs));
    }
    if let Some(l) = &live {
        rows.extend(live_rows(l, cpu.as_ref().map(|c| c.1), &mut errors));
    } else if let Some((_, peak)) = &cpu {
        rows.push(
            Row::new("server peak RSS (child process)", *peak, "MiB")
                .target(Target::AtMost(RSS_MIB))
                .note("VmHWM of the cpu part's server"),
        );
    }
    rows.extend(stage_rows);
    let rss_phases = phases
        .list
        .iter()
        .map(|p| format!("{:.0}", p.peak_rss_mib))
        .collect::<Vec<_>>()
        .join("/");
    rows.push(
        Row::new("peak RSS, whole bench process", phases.peak, "MiB")
            .target(Target::AtMost(RSS_MIB))
            .note(format!(
                "VmHWM; per phase {rss_phases} MiB (server, client and baselines in one process)"
            )),
    );
    let mut footprints = Vec::new();
    if let Some(s) = server30 {
        footprints.push(("server B=30".to_owned(), s.footprint, s.values));
    }
    if let Some(s) = server1 {
        footprints.push(("server B=1".to_owned(), s.footprint, s.values));
    }
    if let Some(n) = naive {
        footprints.push(("naive".to_owned(), n.footprint, n.values));
    }
    if let Some(h) = history {
        footprints.push(("history".to_owned(), h.footprint, 0));
    }

    let total = started.elapsed().as_secs_f64();
    if args.json {
        let out = Output {
            machine,
            cores,
            stores,
            sizes,
            rows: rows
                .into_iter()
                .map(|row| RowOut {
                    result: row.result(),
                    row,
                })
                .collect(),
            phases: phases.list,
            errors,
            footprints,
            live_steps: live.map(|l| l.steps).unwrap_or_default(),
            total_seconds: total,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("teleoscope bench: {machine}");
    println!("stores: {stores}");
    println!(
        "ingest: {} device pairs ({} connections, one request in flight each), {} s per run, B = samples per request",
        sizes.pairs,
        2 * sizes.pairs,
        sizes.ingest_seconds
    );
    println!(
        "history: {} sessions over a year, {} field and {} remote devices; PageSize 10",
        fmt_num(sizes.sessions as f64),
        sizes.history_devices,
        sizes.history_devices
    );
    println!();
    print!("{}", report::table(&rows));
    println!();
    if let Some(l) = &live {
        println!(
            "live stage: devices at their real rate (1 sample/2 s, a heartbeat/10 s) over {} connections; \
             {} s measured per step; server CPU per request (reports and heartbeats); gen = this load generator, oth = other processes",
            l.plan.connections, l.plan.seconds
        );
        print!("{}", live::table(&l.steps));
        println!();
    }
    for p in &phases.list {
        println!(
            "phase {:<52} {:>7.1} s  peak RSS {:>5.0} MiB",
            p.phase, p.seconds, p.peak_rss_mib
        );
    }
    if errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors ({}): THIS RUN HAD ERRORS", errors.len());
        for e in &errors {
            println!("  {e}");
        }
    }
    println!("total {total:.0} s");
    Ok(())
}
