//! `teleoscope bench`: the benchmark (docs/benchmark.md). Everything runs in this one process on
//! fresh temporary SQLite stores: real servers (`http::start` on `127.0.0.1:0`, rate limits lifted)
//! and a client that signs every request as the vendor's SDKs do, sharing the machine's cores.
//!
//! Figures: ingest throughput (acknowledged samples/s) at B = 30 and B = 1 samples per request,
//! DescribeDeviceSessionDetails latency on a one-hour session, DescribeDeviceSessionList latency at
//! N sessions (first, middle, last page, device filter), statistics latency over a year, bytes per
//! stored value, peak RSS. Two baselines run on the same data through the same HTTP path: a store
//! that stores nothing (decode-only: the ceiling) and one row per sample (naive).
//!
//! Not a test: nothing here asserts a time. Layout: `client` (signed HTTP), `generate` (samples),
//! `stores` (baseline decorators), `fixture` (one server under test), `ingest`, `queries`, `report`.

mod client;
mod fixture;
mod generate;
mod ingest;
mod queries;
mod report;
mod stores;

use client::Connection;
use fixture::{Fixture, Variant};
use ingest::{IngestRun, Tally, Workload, POINTS};
use queries::{Footprint, Timed, Year};
use report::{fmt_num, p50_p99, status_mib, Row, Target};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The targets.
const INGEST_TARGET: f64 = 100_000.0;
const DETAILS_P99_MS: f64 = 10.0;
const LIST_P99_MS: f64 = 20.0;
const STATS_MS: f64 = 50.0;
const BYTES_PER_VALUE: f64 = 2.0;
const RSS_MIB: f64 = 300.0;

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
    /// the disk the server would use: durability costs what that disk's fsync costs.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// The sizes of one run.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    sessions: u64,
    pairs: usize,
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
    sizes: Sizes,
    rows: Vec<Row>,
    phases: Vec<PhaseInfo>,
    errors: Vec<String>,
    footprints: Vec<(String, Footprint, u64)>,
    total_seconds: f64,
}

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
        .note(format!("p50 {p50:.2} ms, {} calls", t.latencies.len()));
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

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let sizes = Sizes {
        sessions: args
            .sessions
            .unwrap_or(if args.quick { 20_000 } else { 1_000_000 }),
        pairs: args.pairs.max(1),
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
    };
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let machine = format!(
        "{} x {}; server, client and baselines share them in this one process",
        cores,
        cpu_model()
    );
    let verbose = !args.json;
    if verbose {
        eprintln!("[bench] {machine}");
        eprintln!("[bench] stores in {}; sizes {sizes:?}", base.display());
    }
    let mut phases = Phases {
        list: Vec::new(),
        peak: 0.0,
        verbose,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut footprints = Vec::new();
    let budget = Duration::from_secs(sizes.budget_seconds);
    let duration = Duration::from_secs(sizes.ingest_seconds);
    let work = Arc::new(Workload::new());

    // --- The server, batched (B = 30): ingest, a one-hour session's details, bytes per value.
    let p = phases.begin("server, B=30: ingest, details, footprint");
    let mut fx = Fixture::start(&base, Variant::Server, sizes.pairs).await?;
    fx.serve().await?;
    let server30 = ingest::run(&fx, &work, 30, duration, "b30").await;
    collect_errors(&mut errors, "server ingest B=30", &server30.tally);
    let detail30 = ingest::one_session(&fx, &work, 0, 30, "detail-b30").await;
    collect_errors(&mut errors, "details session B=30", &detail30);
    // Let the upkeep score the new session before timing reads.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut conn = Connection::open(fx.addr).await?;
    let details30 = queries::timed(
        &mut conn,
        &fx.api,
        "DescribeDeviceSessionDetails",
        &json!({"SessionId": "detail-b30"}),
        sizes.details_calls,
        sizes.details_calls,
        Duration::MAX,
        |v| queries::check_details(v, POINTS),
    )
    .await;
    let mut store_read = Vec::new();
    for _ in 0..sizes.details_calls {
        let t = Instant::now();
        let (_, parts) = fx
            .domain
            .session_details(&fx.account, "detail-b30", None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store_read.push(t.elapsed());
        anyhow::ensure!(parts.iter().all(|p| p.columns.len() == POINTS));
    }
    fx.stop_serving().await;
    let fp30 = queries::footprint(&fx.db_path, true)?;
    let values30 = server30.tally.values + detail30.values;
    drop(fx);
    phases.end("server, B=30: ingest, details, footprint", p);

    // --- The server at live cadence (B = 1).
    let p = phases.begin("server, B=1: ingest, details, footprint");
    let mut fx = Fixture::start(&base, Variant::Server, sizes.pairs).await?;
    fx.serve().await?;
    let server1 = ingest::run(&fx, &work, 1, duration, "b1").await;
    collect_errors(&mut errors, "server ingest B=1", &server1.tally);
    let detail1 = ingest::one_session(&fx, &work, 0, 1, "detail-b1").await;
    collect_errors(&mut errors, "details session B=1", &detail1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut conn = Connection::open(fx.addr).await?;
    let details1 = queries::timed(
        &mut conn,
        &fx.api,
        "DescribeDeviceSessionDetails",
        &json!({"SessionId": "detail-b1"}),
        sizes.details_calls,
        sizes.min_calls,
        budget,
        |v| queries::check_details(v, POINTS),
    )
    .await;
    fx.stop_serving().await;
    let fp1 = queries::footprint(&fx.db_path, true)?;
    let values1 = server1.tally.values + detail1.values;
    drop(fx);
    phases.end("server, B=1: ingest, details, footprint", p);

    // --- Baseline: decode-only (the ceiling).
    let p = phases.begin("decode-only: ingest B=30, B=1");
    let mut fx = Fixture::start(&base, Variant::DecodeOnly, sizes.pairs).await?;
    fx.serve().await?;
    let decode30 = ingest::run(&fx, &work, 30, duration, "b30").await;
    let decode1 = ingest::run(&fx, &work, 1, duration, "b1").await;
    collect_errors(&mut errors, "decode-only ingest B=30", &decode30.tally);
    collect_errors(&mut errors, "decode-only ingest B=1", &decode1.tally);
    fx.stop_serving().await;
    drop(fx);
    phases.end("decode-only: ingest B=30, B=1", p);

    // --- Baseline: naive, one row per sample.
    let p = phases.begin("naive: ingest B=30, B=1, details read, footprint");
    let mut fx = Fixture::start(&base, Variant::Naive, sizes.pairs).await?;
    fx.serve().await?;
    let naive30 = ingest::run(&fx, &work, 30, duration, "b30").await;
    let naive1 = ingest::run(&fx, &work, 1, duration, "b1").await;
    collect_errors(&mut errors, "naive ingest B=30", &naive30.tally);
    collect_errors(&mut errors, "naive ingest B=1", &naive1.tally);
    let naive_detail = ingest::one_session(&fx, &work, 0, 30, "detail-b30").await;
    collect_errors(&mut errors, "naive details session", &naive_detail);
    let naive = fx.naive.clone().expect("the naive fixture has its store");
    let (field_id, remote_id) = (fx.pairs[0].field.id.clone(), fx.pairs[0].remote.id.clone());
    let mut naive_read = Vec::new();
    for _ in 0..sizes.details_calls {
        let t = Instant::now();
        let f = naive.read_part("detail-b30", &field_id)?;
        let r = naive.read_part("detail-b30", &remote_id)?;
        naive_read.push(t.elapsed());
        anyhow::ensure!(f.len() == POINTS && r.len() == POINTS && f.nets.len() == 2);
    }
    fx.stop_serving().await;
    let fp_naive = queries::footprint(&fx.naive_path, false)?;
    let values_naive = naive30.tally.values + naive1.tally.values + naive_detail.values;
    drop(naive);
    drop(fx);
    phases.end("naive: ingest B=30, B=1, details read, footprint", p);

    // --- A year of history: the list and statistics figures.
    let p = phases.begin("history: load");
    let mut fx = Fixture::start(&base, Variant::Server, sizes.history_devices).await?;
    let year = Year::ending_yesterday();
    let load =
        queries::load_history(&fx, sizes.sessions, year, sizes.load_concurrency, verbose).await?;
    phases.end("history: load", p);

    let p = phases.begin("history: scoring rate");
    let scored = sizes.scored_sample.min(sizes.sessions);
    let t = Instant::now();
    for key in 1..=scored as i64 {
        fx.domain
            .score(key)
            .await
            .map_err(|e| anyhow::anyhow!("scoring session {key}: {e}"))?;
    }
    let score_rate = scored as f64 / t.elapsed().as_secs_f64();
    queries::mark_scored(&fx.db_path)?;
    phases.end("history: scoring rate", p);

    let p = phases.begin("history: list and statistics");
    fx.serve().await?;
    let mut conn = Connection::open(fx.addr).await?;
    let n = sizes.sessions;
    let page_size = 10u64;
    let last_page = n.div_ceil(page_size).max(1);
    let mut list = Vec::new();
    for (name, page, device) in [
        ("List page 1", 1, None),
        ("List middle page", last_page.div_ceil(2), None),
        ("List last page", last_page, None),
        (
            "List page 1, DeviceId filter",
            1,
            Some(fx.pairs[7].field.id.clone()),
        ),
    ] {
        let mut body =
            json!({"ProjectId": fx.project_id, "PageNumber": page, "PageSize": page_size});
        if let Some(d) = &device {
            body["DeviceId"] = json!(d);
        }
        let expect_total = device.is_none().then_some(n);
        let t = queries::timed(
            &mut conn,
            &fx.api,
            "DescribeDeviceSessionList",
            &body,
            sizes.list_calls,
            sizes.min_calls,
            budget,
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
    let window = (year.from, year.to);
    let mut stats = Vec::new();
    for (name, action, body) in [
        (
            "DescribeSessionStatistics, year",
            "DescribeSessionStatistics",
            json!({"ProjectId": fx.project_id, "StartTime": window.0, "EndTime": window.1}),
        ),
        (
            "ByInterval month, year",
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": fx.project_id, "StatisticInterval": "month", "StartTime": window.0, "EndTime": window.1}),
        ),
        (
            "ByInterval day, year",
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": fx.project_id, "StatisticInterval": "day", "StartTime": window.0, "EndTime": window.1}),
        ),
        (
            "GetTotalDuration, year",
            "GetTotalDuration",
            json!({"ProjectId": fx.project_id, "StartTime": window.0, "EndTime": window.1}),
        ),
        (
            "GetDurationDetails, year",
            "GetDurationDetails",
            json!({"ProjectId": fx.project_id, "StartTime": window.0, "EndTime": window.1, "PageNum": 1, "PageSize": 100}),
        ),
    ] {
        let t = queries::timed(
            &mut conn,
            &fx.api,
            action,
            &body,
            sizes.stats_calls,
            sizes.min_calls,
            budget,
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
    let fp_history = queries::footprint(&fx.db_path, true)?;
    drop(fx);
    phases.end("history: list and statistics", p);

    // --- The report.
    let row_ingest = |b: usize, s: &IngestRun, d: &IngestRun, nv: &IngestRun| {
        let mut r = Row::new(
            format!("ingest B={b} (acknowledged samples/s)"),
            s.samples_per_second(),
            "samples/s",
        )
        .baseline("decode-only", d.samples_per_second())
        .baseline("naive", nv.samples_per_second())
        .errors(s.tally.errors + d.tally.errors + nv.tally.errors)
        .note(ingest_note(s));
        if b > 1 {
            r = r.target(Target::AtLeast(INGEST_TARGET));
        } else {
            r.note
                .push_str("; no target: one sample per request is request-bound (see decode-only)");
        }
        r
    };
    rows.push(row_ingest(30, &server30, &decode30, &naive30));
    rows.push(row_ingest(1, &server1, &decode1, &naive1));
    rows.push(
        timed_row(
            "Details, 1 h session, 30 samples/request",
            &details30,
            Some(DETAILS_P99_MS),
            &mut errors,
        )
        .note_append(&format!(
            "; 2 x {POINTS} points checked; {} chunks per part",
            POINTS / 30
        )),
    );
    rows.push(
        timed_row(
            "Details, 1 h session, 1 sample/request",
            &details1,
            Some(DETAILS_P99_MS),
            &mut errors,
        )
        .note_append(&format!("; {POINTS} chunks per part")),
    );
    let (sr50, sr99) = p50_p99(&store_read);
    let (nr50, nr99) = p50_p99(&naive_read);
    rows.push(
        Row::new("Details store read, in process, p99", sr99, "ms")
            .baseline("naive", nr99)
            .note(format!(
                "p50 {sr50:.2} ms (naive {nr50:.2} ms): rows/chunks to arrays, no HTTP, no JSON"
            )),
    );
    rows.push(
        Row::new(
            format!("history load, {} sessions", fmt_num(n as f64)),
            load.as_secs_f64(),
            "s",
        )
        .note(format!(
            "{} sessions/s through Store::append, 2 one-sample parts each, {} in flight",
            fmt_num(n as f64 / load.as_secs_f64()),
            sizes.load_concurrency
        )),
    );
    rows.push(
        Row::new("upkeep scoring of history", score_rate, "sessions/s").note(format!(
            "{} sessions would take {:.0} s to score after an import",
            fmt_num(n as f64),
            n as f64 / score_rate
        )),
    );
    for (name, t) in &list {
        rows.push(timed_row(name, t, Some(LIST_P99_MS), &mut errors));
    }
    for (name, t) in &stats {
        rows.push(
            timed_row(name, t, Some(STATS_MS), &mut errors)
                .note_append(&format!("; {} sessions in the year", fmt_num(n as f64))),
        );
    }
    let naive_file = fp_naive.file as f64 / values_naive.max(1) as f64;
    let naive_table = naive_tables(&fp_naive) as f64 / values_naive.max(1) as f64;
    for (label, fp, values) in [("B=30", &fp30, values30), ("B=1", &fp1, values1)] {
        let v = values.max(1) as f64;
        rows.push(
            Row::new(
                format!("bytes/value, whole file, {label}"),
                fp.file as f64 / v,
                "B/value",
            )
            .target(Target::AtMost(BYTES_PER_VALUE))
            .baseline("naive", naive_file)
            .note(format!(
                "{} B file after checkpoint / {} values (TimeOffset, 21 metrics, 4 per link)",
                fmt_num(fp.file as f64),
                fmt_num(v)
            )),
        );
        rows.push(
            Row::new(format!("bytes/value, sample tables, {label}"), sample_tables(fp) as f64 / v, "B/value")
                .target(Target::AtMost(BYTES_PER_VALUE))
                .baseline("naive", naive_table)
                .note(format!(
                    "pages of chunks + parts + parts indexes (dbstat); chunk payload alone {:.2} B/value",
                    fp.chunk_payload as f64 / v
                )),
        );
    }
    footprints.push(("server B=30".to_owned(), fp30, values30));
    footprints.push(("server B=1".to_owned(), fp1, values1));
    footprints.push(("naive".to_owned(), fp_naive, values_naive));
    footprints.push(("history".to_owned(), fp_history, n));
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

    let total = started.elapsed().as_secs_f64();
    if args.json {
        let out = Output {
            machine,
            cores,
            sizes,
            rows,
            phases: phases.list,
            errors,
            footprints,
            total_seconds: total,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("teleoscope bench: {machine}");
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
    }
    Ok(())
}
