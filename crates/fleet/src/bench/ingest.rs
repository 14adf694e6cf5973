//! Ingest: device pairs reporting concurrently, each device on its own connection with one request
//! in flight (as a real device), `ReportSessionMetrics` batches of B samples of realistic data,
//! one-hour sessions one after the other. Throughput counts only what the server acknowledged as
//! accepted; every answer is checked and errors are counted and kept for the report. With several
//! nodes, the devices are spread over them, each pair's two devices on different nodes.

use super::fixture::{BenchDevice, Pair};
use super::generate::{self, Series};
use crate::client::Connection;
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teleoscope_protocol::wire::ReportSessionMetricsResponse;

/// One hour at one sample every two seconds.
pub const POINTS: usize = 1800;
/// Links of the field device and of the remote device.
pub const FIELD_LINKS: usize = 2;
pub const REMOTE_LINKS: usize = 1;

/// Pre-serialized hours, shared by all devices (a few distinct ones per device type).
pub struct Workload {
    pub field: Vec<Series>,
    pub remote: Vec<Series>,
}

impl Workload {
    pub fn new() -> Workload {
        Workload {
            field: (0..4)
                .map(|i| generate::series(100 + i, FIELD_LINKS, POINTS))
                .collect(),
            remote: (0..4)
                .map(|i| generate::series(200 + i, REMOTE_LINKS, POINTS))
                .collect(),
        }
    }
}

impl Default for Workload {
    fn default() -> Self {
        Workload::new()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub requests: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Metric values accepted (`Columns::value_count` of the accepted samples).
    pub values: u64,
    pub body_bytes: u64,
    pub errors: u64,
    /// "Code: message" (or transport error) and how often.
    pub error_kinds: BTreeMap<String, u64>,
    pub latencies: Vec<Duration>,
}

impl Tally {
    pub fn merge(&mut self, o: Tally) {
        self.requests += o.requests;
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.values += o.values;
        self.body_bytes += o.body_bytes;
        self.errors += o.errors;
        for (k, v) in o.error_kinds {
            *self.error_kinds.entry(k).or_default() += v;
        }
        self.latencies.extend(o.latencies);
    }

    pub fn error(&mut self, what: String) {
        self.errors += 1;
        *self.error_kinds.entry(what).or_default() += 1;
    }

    /// The first few kinds of error, for the report.
    pub fn error_summary(&self) -> Vec<String> {
        self.error_kinds
            .iter()
            .take(5)
            .map(|(k, n)| format!("{n} x {k}"))
            .collect()
    }
}

pub struct IngestRun {
    pub devices: usize,
    pub elapsed: Duration,
    pub tally: Tally,
}

impl IngestRun {
    pub fn samples_per_second(&self) -> f64 {
        self.tally.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// The devices that report and the servers they report to: the nodes of an in-process
/// [`super::fixture::Fixture`], or a server in a child process.
#[derive(Clone, Copy)]
pub struct Fleet<'a> {
    /// The nodes, the first one first.
    pub addrs: &'a [SocketAddr],
    pub pairs: &'a [Pair],
}

/// What one device sends: its credentials, its node, its peer, its hour of samples.
struct Plan {
    device: BenchDevice,
    addr: SocketAddr,
    peer: String,
    field: bool,
    series: usize,
}

/// The field and the remote device of pair `pair`: the field device reports to node
/// `pair % nodes`, the remote device to the next one.
fn plans(fleet: &Fleet, work: &Workload, pair: usize) -> [Plan; 2] {
    let p = &fleet.pairs[pair];
    let node = |k: usize| fleet.addrs[(pair + k) % fleet.addrs.len()];
    [
        Plan {
            device: p.field.clone(),
            addr: node(0),
            peer: p.remote.id.clone(),
            field: true,
            series: pair % work.field.len(),
        },
        Plan {
            device: p.remote.clone(),
            addr: node(1),
            peer: p.field.id.clone(),
            field: false,
            series: pair % work.remote.len(),
        },
    ]
}

/// Every device of the fleet reports for `duration`, sessions named `<tag>-<pair>-<n>`.
pub async fn run(
    fleet: &Fleet<'_>,
    work: &Arc<Workload>,
    batch: usize,
    duration: Duration,
    tag: &str,
) -> IngestRun {
    let plans: Vec<_> = (0..fleet.pairs.len())
        .flat_map(|i| plans(fleet, work, i).map(|plan| (i, plan)))
        .collect();
    let devices = plans.len();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (pair, plan) in plans {
        let work = work.clone();
        let tag = tag.to_owned();
        tasks.spawn(
            async move { device_loop(&work, plan, batch, deadline, &tag, pair, None).await },
        );
    }
    let mut tally = Tally::default();
    while let Some(t) = tasks.join_next().await {
        match t {
            Ok(t) => tally.merge(t),
            Err(e) => tally.error(format!("task: {e}")),
        }
    }
    IngestRun {
        devices,
        elapsed: started.elapsed(),
        tally,
    }
}

/// One complete one-hour session of pair `pair` (both devices, concurrently), batches of `batch`.
pub async fn one_session(
    fleet: &Fleet<'_>,
    work: &Arc<Workload>,
    pair: usize,
    batch: usize,
    session_id: &str,
) -> Tally {
    let far = Instant::now() + Duration::from_secs(3600);
    let [field, remote] = plans(fleet, work, pair);
    let (a, b) = tokio::join!(
        device_loop(work, field, batch, far, "", pair, Some(session_id)),
        device_loop(work, remote, batch, far, "", pair, Some(session_id)),
    );
    let mut t = a;
    t.merge(b);
    t
}

/// Report until `deadline`; with `only`, report that one session and stop.
async fn device_loop(
    work: &Workload,
    plan: Plan,
    batch: usize,
    deadline: Instant,
    tag: &str,
    pair: usize,
    only: Option<&str>,
) -> Tally {
    let mut t = Tally::default();
    let mut conn = match Connection::open(plan.addr).await {
        Ok(c) => c,
        Err(e) => {
            t.error(format!("connect: {e}"));
            return t;
        }
    };
    let series = if plan.field {
        &work.field[plan.series]
    } else {
        &work.remote[plan.series]
    };
    // Sessions that started an hour ago: every sample is in the past, as after an outage.
    let start_time = chrono::Utc::now().timestamp() - 3600;
    let head = generate::report_head(&plan.peer, start_time, plan.field);
    let mut session_no = 0u64;
    loop {
        let session_id = match only {
            Some(s) => s.to_owned(),
            None => format!("{tag}-{pair}-{session_no}"),
        };
        let chunks = series.samples.len().div_ceil(batch);
        // A fleet is not in lockstep: each pair joins the benchmark somewhere in its first hour.
        let skip = match (only, session_no) {
            (None, 0) => Rng::new(pair as u64).int(0, chunks as i64 - 1) as usize,
            _ => 0,
        };
        for (k, chunk) in series.samples.chunks(batch).enumerate().skip(skip) {
            if Instant::now() >= deadline {
                return t;
            }
            let body = generate::report_body(&session_id, &head, chunk, k + 1 == chunks);
            t.requests += 1;
            t.body_bytes += body.len() as u64;
            let answer = conn
                .answer::<ReportSessionMetricsResponse>(
                    &plan.device.creds,
                    "ReportSessionMetrics",
                    body,
                )
                .await;
            match answer {
                Ok((Ok(r), took)) => {
                    let (accepted, duplicates) = (r.Accepted as u64, r.Duplicates as u64);
                    t.accepted += accepted;
                    t.duplicates += duplicates;
                    t.values += accepted * series.values_per_sample;
                    t.latencies.push(took);
                    if accepted + duplicates != chunk.len() as u64 {
                        t.error(format!(
                            "answer counts {accepted} + {duplicates} samples of {}",
                            chunk.len()
                        ));
                    }
                }
                Ok((Err(e), _)) => {
                    let mut msg = e.message;
                    msg.truncate(160);
                    t.error(format!("{}: {msg}", e.code));
                }
                Err(e) => {
                    t.error(format!("transport: {e}"));
                    match Connection::open(plan.addr).await {
                        Ok(c) => conn = c,
                        Err(_) => return t,
                    }
                }
            }
        }
        if only.is_some() {
            return t;
        }
        session_no += 1;
    }
}
