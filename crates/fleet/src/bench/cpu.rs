//! The server's own CPU per report and per sample: the closed-loop ingest of `ingest::run` (device
//! pairs, one request in flight per device) against a server in a child process, its CPU read from
//! `/proc` before and after, apart from the load generator's (this process's). The in-process
//! ingest figures cannot separate the two: there, client and server share the cores' counters.

use super::child::{machine_cpu, own_cpu, Hosted};
use super::ingest::{self, IngestRun, Workload};
use super::report::{fmt_num, p50_p99, Row, Target};
use std::sync::Arc;
use std::time::Duration;

/// The targets, in microseconds of server CPU.
const PER_REPORT_B1_US: f64 = 60.0;
const PER_SAMPLE_B30_US: f64 = 4.0;

pub struct CpuRun {
    pub batch: usize,
    pub ingest: IngestRun,
    pub server: Duration,
    pub client: Duration,
    /// Every other process of the machine (a shared machine's neighbours).
    pub others: Duration,
}

/// Closed-loop ingest of batches of `batch` for `duration`, the server's and the load
/// generator's CPU over it.
pub async fn measure(
    hosted: &Hosted,
    work: &Arc<Workload>,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<CpuRun> {
    let (server0, client0, machine0) = (hosted.server.cpu()?, own_cpu()?, machine_cpu()?);
    let run = ingest::run(
        &hosted.fleet(),
        work,
        batch,
        duration,
        &format!("cpu-b{batch}"),
    )
    .await;
    let (server1, client1, machine1) = (hosted.server.cpu()?, own_cpu()?, machine_cpu()?);
    let (server, client) = (server1 - server0, client1 - client0);
    Ok(CpuRun {
        batch,
        ingest: run,
        server,
        client,
        others: machine1
            .saturating_sub(machine0)
            .saturating_sub(server + client),
    })
}

/// "server CPU per report B=1" and "server CPU per sample B=30" (target rows), and the other of
/// each (no target).
pub fn rows(runs: &[CpuRun]) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in runs {
        let t = &r.ingest.tally;
        let secs = r.ingest.elapsed.as_secs_f64();
        let server_us = r.server.as_secs_f64() * 1e6;
        let per_report = server_us / t.requests.max(1) as f64;
        let per_sample = server_us / t.accepted.max(1) as f64;
        let (p50, p99) = p50_p99(&t.latencies);
        let note = format!(
            "{} reports/s, {} samples/s; server {:.2} cores busy, {:.2} us/sample, {:.1} us/report; \
             load generator {:.2} cores, {:.1} us/report; other processes {:.2} cores; \
             {} devices, request p50 {p50:.1} ms p99 {p99:.1} ms",
            fmt_num(t.requests as f64 / secs),
            fmt_num(t.accepted as f64 / secs),
            r.server.as_secs_f64() / secs,
            per_sample,
            per_report,
            r.client.as_secs_f64() / secs,
            r.client.as_secs_f64() * 1e6 / t.requests.max(1) as f64,
            r.others.as_secs_f64() / secs,
            r.ingest.devices,
        );
        let row = if r.batch == 1 {
            Row::new("server CPU per report B=1", per_report, "us")
                .target(Target::AtMost(PER_REPORT_B1_US))
        } else {
            let row = Row::new(
                format!("server CPU per sample B={}", r.batch),
                per_sample,
                "us",
            );
            if r.batch == 30 {
                row.target(Target::AtMost(PER_SAMPLE_B30_US))
            } else {
                row
            }
        };
        rows.push(row.errors(t.errors).note(note));
    }
    rows
}
