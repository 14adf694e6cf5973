//! The live stage: N devices reporting at their real rate against a server in a child process,
//! N stepped up until the server no longer keeps up. A live device sends one sample every two
//! seconds (`ReportSessionMetrics`, B = 1) and a `ReportDeviceStatus` "ready" heartbeat every ten;
//! each pair's two devices report into one session. Each device is a task with its own phase in
//! the two seconds, so the load is spread as a real fleet's is, not in bursts.
//!
//! The devices share a bounded pool of keep-alive connections, as devices behind a load balancer
//! reach a server over the balancer's few connections: a server is not sized by one connection per
//! device. A request waiting for a free connection waits inside its measured latency, as it would
//! at a balancer.
//!
//! A device whose previous request is still in flight when its next slot comes skips that slot
//! (counted), rather than queueing behind it: an offered load that the server cannot take shows as
//! achieved < offered, not as an ever-growing queue.

use super::child::{machine_cpu, own_cpu, Hosted};
use super::fixture::BenchDevice;
use super::ingest::{Tally, Workload, POINTS};
use super::queries::{self, Timed};
use super::report::{fmt_num, ms, percentile};
use crate::client::{ApiError, Credentials, Endpoint, Pool, Timeouts};
use crate::rng::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teleoscope_protocol::wire::ReportSessionMetricsResponse;
use tokio::sync::Semaphore;
use tokio::time::sleep_until;

/// A live device's sample period and heartbeat period (in sample periods).
const PERIOD: Duration = Duration::from_secs(2);
const HEARTBEAT_EVERY: u64 = 5;
/// Reports per second one live device offers.
const REPORTS_PER_DEVICE: f64 = 0.5;
/// What a step must keep to hold.
pub const P99_MS: f64 = 50.0;
pub const ACHIEVED_SHARE: f64 = 0.97;
/// The load generator is called behind when its timers fire this late at p99 (it is then the
/// bottleneck, not the server).
const LATE_TIMER_MS: f64 = 10.0;

/// How the stage runs.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Devices of the first step, and added at each next one.
    pub step: usize,
    /// Devices of the last step tried.
    pub max: usize,
    /// Seconds measured at each step, after a ramp of one period.
    pub seconds: u64,
    /// Keep-alive connections the devices share.
    pub connections: usize,
}

impl Plan {
    /// The device counts to try, in order (even numbers: devices come in pairs).
    pub fn steps(&self) -> Vec<usize> {
        let step = self.step.max(2) / 2 * 2;
        (1..)
            .map(|k| k * step)
            .take_while(|n| *n <= self.max)
            .collect()
    }
}

/// One step's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub devices: usize,
    pub offered_reports_per_s: f64,
    pub achieved_reports_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Reports and heartbeats that failed (transport or an API error), ramp included.
    pub errors: u64,
    /// Slots skipped because the device's previous request was still in flight.
    pub skipped: u64,
    pub heartbeats_per_s: f64,
    /// Server CPU over the measured window: cores busy, and per request (reports and heartbeats).
    pub server_cores: f64,
    pub server_us_per_request: f64,
    pub server_rss_mib: f64,
    /// The load generator's (this process's) CPU over the window.
    pub client_cores: f64,
    /// Cores busy in other processes over the window (a shared machine's neighbours).
    pub other_cores: f64,
    /// p99 of how late the devices' timers fired: the load generator's own lag.
    pub timer_late_p99_ms: f64,
    pub held: bool,
    pub note: String,
}

/// Whether a step held: p99 within the target, no error, and nearly all of the offered reports
/// achieved.
pub fn holds(p99_ms: f64, errors: u64, achieved: f64, offered: f64) -> bool {
    p99_ms <= P99_MS && errors == 0 && achieved >= ACHIEVED_SHARE * offered
}

/// Connections shared by all devices, at most `slots` calls at once.
struct Balancer {
    pool: Pool,
    slots: Semaphore,
}

impl Balancer {
    async fn answer<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Result<T, ApiError>> {
        let _slot = self.slots.acquire().await?;
        self.pool.answer(creds, action, body).await
    }
}

/// The measured window: requests sent in `[from, to)` count.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    to: Instant,
}

impl Window {
    fn holds(&self, t: Instant) -> bool {
        t >= self.from && t < self.to
    }
}

/// What one device saw.
#[derive(Default)]
struct Seen {
    /// Reports (latencies, errors) in the window; errors outside it too.
    reports: Tally,
    heartbeats: u64,
    skipped: u64,
    late: Vec<Duration>,
}

struct Device {
    me: BenchDevice,
    peer: String,
    field: bool,
    series: usize,
    session: String,
    first_slot: Instant,
    heartbeat_phase: u64,
}

async fn device(lb: Arc<Balancer>, work: Arc<Workload>, d: Device, window: Window) -> Seen {
    let mut seen = Seen::default();
    let series = if d.field {
        &work.field[d.series]
    } else {
        &work.remote[d.series]
    };
    sleep_until(d.first_slot.into()).await;
    // Its session starts at its first slot; sample k is 2k seconds in, as its TimeOffset says.
    let head = super::generate::report_head(&d.peer, chrono::Utc::now().timestamp(), d.field);
    let mut k = 0u64;
    loop {
        let slot = d.first_slot + PERIOD * k as u32;
        if slot >= window.to || k as usize >= POINTS {
            return seen;
        }
        sleep_until(slot.into()).await;
        let sent = Instant::now();
        let counted = window.holds(slot);
        if counted {
            seen.late.push(sent - slot);
        }
        let body = super::generate::report_body(
            &d.session,
            &head,
            std::slice::from_ref(&series.samples[k as usize]),
            false,
        );
        let answer = lb
            .answer::<ReportSessionMetricsResponse>(&d.me.creds, "ReportSessionMetrics", body)
            .await;
        let took = sent.elapsed();
        let t = &mut seen.reports;
        match answer {
            Ok(Ok(r)) if r.Accepted + r.Duplicates == 1 => {
                if counted {
                    t.requests += 1;
                    t.accepted += r.Accepted as u64;
                    t.latencies.push(took);
                }
            }
            Ok(Ok(r)) => t.error(format!(
                "ReportSessionMetrics answer counts {} + {} samples of 1",
                r.Accepted, r.Duplicates
            )),
            Ok(Err(e)) => t.error(format!("ReportSessionMetrics {}: {}", e.code, e.message)),
            Err(e) => t.error(format!("ReportSessionMetrics transport: {e:#}")),
        }
        if (k + d.heartbeat_phase).is_multiple_of(HEARTBEAT_EVERY) {
            let body = br#"{"Status":"ready"}"#.to_vec();
            match lb
                .answer::<Value>(&d.me.creds, "ReportDeviceStatus", body)
                .await
            {
                Ok(Ok(_)) => seen.heartbeats += u64::from(counted),
                Ok(Err(e)) => t.error(format!("ReportDeviceStatus {}: {}", e.code, e.message)),
                Err(e) => t.error(format!("ReportDeviceStatus transport: {e:#}")),
            }
        }
        // The slots that passed while this one was in flight are skipped, not queued.
        let now = Instant::now();
        k += 1;
        while d.first_slot + PERIOD * k as u32 <= now {
            if window.holds(d.first_slot + PERIOD * k as u32) {
                seen.skipped += 1;
            }
            k += 1;
        }
    }
}

/// The server's and the load generator's CPU, and the server's memory, at one instant.
struct Reading {
    server: Duration,
    client: Duration,
    machine: Duration,
    rss_mib: f64,
}

fn reading(hosted: &Hosted) -> anyhow::Result<Reading> {
    Ok(Reading {
        server: hosted.server.cpu()?,
        client: own_cpu()?,
        machine: machine_cpu()?,
        rss_mib: hosted.server.memory().rss_mib,
    })
}

/// `devices` live devices (the first `devices / 2` pairs, sessions `<tag>-<pair>`) for a ramp of
/// one period and `seconds` measured; `during` runs within the measured window.
async fn step<T>(
    hosted: &Hosted,
    work: &Arc<Workload>,
    plan: &Plan,
    devices: usize,
    tag: &str,
    during: impl Future<Output = T>,
) -> anyhow::Result<(Step, Vec<String>, T)> {
    let lb = Arc::new(Balancer {
        pool: Pool::new(
            Endpoint::from(hosted.server.addr),
            Timeouts {
                connect: Duration::from_secs(5),
                call: Duration::from_secs(10),
            },
        ),
        slots: Semaphore::new(plan.connections.max(1)),
    });
    let start = Instant::now() + Duration::from_millis(200);
    let window = Window {
        from: start + PERIOD,
        to: start + PERIOD + Duration::from_secs(plan.seconds),
    };
    let mut rng = Rng::new(devices as u64);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, pair) in hosted.tenant.pairs[..devices / 2].iter().enumerate() {
        for field in [true, false] {
            let (me, peer) = if field {
                (&pair.field, &pair.remote)
            } else {
                (&pair.remote, &pair.field)
            };
            let phase = Duration::from_micros(rng.int(0, PERIOD.as_micros() as i64 - 1) as u64);
            let d = Device {
                me: me.clone(),
                peer: peer.id.clone(),
                field,
                series: i % work.field.len().min(work.remote.len()),
                session: format!("{tag}-{i}"),
                first_slot: start + phase,
                heartbeat_phase: rng.int(0, HEARTBEAT_EVERY as i64 - 1) as u64,
            };
            tasks.spawn(device(lb.clone(), work.clone(), d, window));
        }
    }
    sleep_until(window.from.into()).await;
    let before = reading(hosted)?;
    let at_end = async {
        sleep_until(window.to.into()).await;
        reading(hosted)
    };
    let (out, after) = tokio::join!(during, at_end);
    let after = after?;
    let mut reports = Tally::default();
    let (mut heartbeats, mut skipped, mut late) = (0, 0, Vec::new());
    while let Some(seen) = tasks.join_next().await {
        let seen = seen?;
        reports.merge(seen.reports);
        heartbeats += seen.heartbeats;
        skipped += seen.skipped;
        late.extend(seen.late);
    }
    let secs = plan.seconds as f64;
    let offered = devices as f64 * REPORTS_PER_DEVICE;
    let achieved = reports.requests as f64 / secs;
    let server = (after.server - before.server).as_secs_f64();
    let client = (after.client - before.client).as_secs_f64();
    let client_cores = client / secs;
    let other_cores =
        ((after.machine.saturating_sub(before.machine)).as_secs_f64() - server - client).max(0.0)
            / secs;
    let p99_ms = ms(percentile(&reports.latencies, 0.99));
    let timer_late_p99_ms = ms(percentile(&late, 0.99));
    let held = holds(p99_ms, reports.errors, achieved, offered);
    let mut note = Vec::new();
    if timer_late_p99_ms > LATE_TIMER_MS || client_cores > 0.9 {
        note.push(format!(
            "the load generator lags: its timers fire p99 {timer_late_p99_ms:.0} ms late, \
             it uses {client_cores:.2} cores, other processes {other_cores:.2}"
        ));
    }
    if achieved < ACHIEVED_SHARE * offered {
        note.push(format!(
            "achieved {:.1}% of the offered reports",
            100.0 * achieved / offered
        ));
    }
    let s = Step {
        devices,
        offered_reports_per_s: offered,
        achieved_reports_per_s: achieved,
        p50_ms: ms(percentile(&reports.latencies, 0.50)),
        p99_ms,
        max_ms: ms(percentile(&reports.latencies, 1.0)),
        errors: reports.errors,
        skipped,
        heartbeats_per_s: heartbeats as f64 / secs,
        server_cores: server / secs,
        server_us_per_request: server * 1e6 / (reports.requests + heartbeats).max(1) as f64,
        server_rss_mib: after.rss_mib,
        client_cores,
        other_cores,
        timer_late_p99_ms,
        held,
        note: note.join("; "),
    };
    Ok((s, reports.error_summary(), out))
}

/// The stage's outcome.
pub struct LiveRun {
    pub plan: Plan,
    pub steps: Vec<Step>,
    /// Error kinds of the steps that had errors, by step.
    pub step_errors: Vec<(usize, Vec<String>)>,
    /// The largest N that held.
    pub held: Option<usize>,
    /// Devices under which the queries were timed, and the figures.
    pub queries: Option<(usize, Timed, Timed)>,
    /// Sessions in the store when the list was timed.
    pub sessions: u64,
    pub peak_rss_mib: f64,
    pub provisioning: Duration,
}

/// Steps up until one does not hold, then times the queries under 80% of the largest N that held.
/// `verbose` prints each step as it ends.
pub async fn run(
    hosted: &Hosted,
    work: &Arc<Workload>,
    plan: Plan,
    details_calls: usize,
    list_calls: usize,
    verbose: bool,
) -> anyhow::Result<LiveRun> {
    // The one-hour session the details query reads, complete before any live load.
    let details_session = "live-details";
    let loaded = super::ingest::one_session(&hosted.fleet(), work, 0, 30, details_session).await;
    anyhow::ensure!(
        loaded.errors == 0,
        "loading {details_session}: {:?}",
        loaded.error_summary()
    );
    let mut steps = Vec::new();
    let mut step_errors = Vec::new();
    let mut held = None;
    let mut sessions = 0u64;
    for (k, devices) in plan.steps().into_iter().enumerate() {
        let (s, errors, ()) =
            step(hosted, work, &plan, devices, &format!("live-{k}"), async {}).await?;
        sessions += devices as u64 / 2;
        if verbose {
            eprintln!(
                "[bench]   {} devices: {} of {} reports/s, p99 {:.1} ms, {} errors, server {:.2} cores, \
                 {:.0} MiB: {}",
                fmt_num(devices as f64),
                fmt_num(s.achieved_reports_per_s),
                fmt_num(s.offered_reports_per_s),
                s.p99_ms,
                s.errors,
                s.server_cores,
                s.server_rss_mib,
                if s.held { "held" } else { "did not hold" }
            );
        }
        if !errors.is_empty() {
            step_errors.push((devices, errors));
        }
        let ok = s.held;
        steps.push(s);
        if !ok {
            break;
        }
        held = Some(devices);
    }
    let mut queries = None;
    // Under 80% of the largest N that held; when none held, of the first step tried (the rows say
    // which).
    if let Some(n) = held.or(steps.first().map(|s| s.devices)) {
        let devices = (n * 4 / 5).max(2) / 2 * 2;
        let api = hosted.tenant.api.clone();
        let project = hosted.tenant.project_id.clone();
        let addr = hosted.server.addr;
        let budget = Duration::from_secs(plan.seconds);
        let timing = async move {
            let mut conn = crate::client::Connection::new(addr);
            let details = queries::timed(
                &mut conn,
                &api,
                "DescribeDeviceSessionDetails",
                &json!({ "SessionId": details_session }),
                details_calls,
                5,
                budget,
                |v| queries::check_details(v, POINTS),
            )
            .await;
            let list = queries::timed(
                &mut conn,
                &api,
                "DescribeDeviceSessionList",
                &json!({"ProjectId": project, "PageNumber": 1, "PageSize": 10}),
                list_calls,
                5,
                budget,
                |v| {
                    let num = v["DeviceSessionList"].as_array().map_or(0, Vec::len);
                    anyhow::ensure!(num > 0, "an empty page");
                    Ok(())
                },
            )
            .await;
            (details, list)
        };
        let (s, errors, (details, list)) =
            step(hosted, work, &plan, devices, "live-queries", timing).await?;
        sessions += devices as u64 / 2;
        if !errors.is_empty() {
            step_errors.push((devices, errors));
        }
        steps.push(Step {
            note: format!(
                "the queries' load (80% of {}{}){}{}",
                fmt_num(n as f64),
                if held.is_some() {
                    ""
                } else {
                    ", which did not hold"
                },
                if s.note.is_empty() { "" } else { "; " },
                s.note
            ),
            ..s
        });
        queries = Some((devices, details, list));
    }
    Ok(LiveRun {
        plan,
        steps,
        step_errors,
        held,
        queries,
        // The details session, and one per pair and step.
        sessions: sessions + 1,
        peak_rss_mib: hosted.server.memory().peak_mib,
        provisioning: hosted.provisioning,
    })
}

/// The per-step table.
pub fn table(steps: &[Step]) -> String {
    let mut out = format!(
        "{:>8}  {:>9}  {:>9}  {:>7}  {:>7}  {:>7}  {:>6}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  {}\n",
        "devices",
        "offered/s",
        "achieved",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "skipped",
        "srv cor",
        "srv us",
        "RSS MiB",
        "gen cor",
        "oth cor",
        "verdict"
    );
    for s in steps {
        out.push_str(&format!(
            "{:>8}  {:>9}  {:>9}  {:>7.1}  {:>7.1}  {:>7.0}  {:>6}  {:>7}  {:>7.2}  {:>7.0}  {:>7.0}  {:>7.2}  {:>7.2}  {}{}\n",
            fmt_num(s.devices as f64),
            fmt_num(s.offered_reports_per_s),
            fmt_num(s.achieved_reports_per_s),
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            s.errors,
            s.skipped,
            s.server_cores,
            s.server_us_per_request,
            s.server_rss_mib,
            s.client_cores,
            s.other_cores,
            if s.held { "held" } else { "did not hold" },
            if s.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.note)
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_holds_on_latency_errors_and_rate() {
        assert!(holds(50.0, 0, 970.0, 1000.0));
        assert!(!holds(50.1, 0, 1000.0, 1000.0));
        assert!(!holds(1.0, 1, 1000.0, 1000.0));
        assert!(!holds(1.0, 0, 969.0, 1000.0));
    }

    #[test]
    fn steps_are_even_multiples_up_to_the_max() {
        let plan = |step, max| Plan {
            step,
            max,
            seconds: 1,
            connections: 1,
        };
        assert_eq!(plan(2500, 10_000).steps(), vec![2500, 5000, 7500, 10_000]);
        assert_eq!(plan(2500, 9_999).steps(), vec![2500, 5000, 7500]);
        assert_eq!(plan(3, 7).steps(), vec![2, 4, 6]);
        assert!(plan(2500, 100).steps().is_empty());
    }
}
