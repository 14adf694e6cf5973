//! Incidents: the intervals of a session where something went wrong, per device part, so the console
//! can shade them on the charts and list them beside (DescribeSessionQuality, docs/api.md §8.2).
//! Where the scorer (`quality`) says *how bad* a part was over its whole length, incidents say
//! *when*: they are found in the same stored samples (`Columns`, what DescribeDeviceSessionDetails
//! reads) with the scorer's own thresholds (`QualityConfig`), so a chart's shading and the grade
//! never disagree about what counts as bad. docs/quality.md, "Incidents", is the user's account.
//!
//! A sample is *bad* for a kind when:
//!
//! | kind | bad sample | peak |
//! | --- | --- | --- |
//! | `stall` | `Lag150Duration` > 0 (ms stalled in the report); if absent, `K150` > 0 (%) | ms, or % |
//! | `loss` | `Lost` over `loss_normal_pct` | % |
//! | `video_latency` | `VideoLatency` over `video_latency_normal_ms` | ms |
//! | `network_latency` | `NetworkLatency` over `network_latency_normal_ms` | ms |
//! | `link_down` | a link that worked earlier in the part does not work while another does | s down |
//! | `link_loss` | the link's `Lost` over `link_loss_normal_pct` | % |
//! | `link_rtt` | the link's `Rtt` over `link_rtt_normal_ms` | ms |
//!
//! A link *works* in a sample when it measured an RTT (> 0) and carried traffic (`SendBps` +
//! `RecvBps` > 0). Unknown values (latencies <= 0, negative loss) are never bad, as for the scorer.
//!
//! A sample at time t (the part's StartTime + TimeOffset) stands for the reporting period before it,
//! [t − `sample_interval_s`, t], never before the part's StartTime. Consecutive bad samples whose
//! periods touch (at most `sample_interval_s` apart) form one incident, from the first one's period
//! start to the last one's time; a gap in the reports ends an incident, since nothing is known of the
//! time between.

use super::quality::{num, pct, QualityConfig};
use super::samples::{Columns, Metric, NetColumns};
use super::{DeviceType, Domain};
use crate::errors::DomainError;
use crate::store::SessionRow;

/// What went wrong in an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentKind {
    Stall,
    Loss,
    VideoLatency,
    NetworkLatency,
    LinkDown,
    LinkLoss,
    LinkRtt,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Stall => "stall",
            IncidentKind::Loss => "loss",
            IncidentKind::VideoLatency => "video_latency",
            IncidentKind::NetworkLatency => "network_latency",
            IncidentKind::LinkDown => "link_down",
            IncidentKind::LinkLoss => "link_loss",
            IncidentKind::LinkRtt => "link_rtt",
        }
    }
}

/// One interval of one device part where something went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub device_type: DeviceType,
    pub kind: IncidentKind,
    /// The link of a link incident (`MultiNet.NetId`).
    pub net_id: Option<i64>,
    /// Absolute UNIX seconds, both inclusive.
    pub start: i64,
    pub end: i64,
    /// The worst value of the interval, in the unit of its kind (see the module's table).
    pub peak: f64,
    /// E.g. "remote stalled 219 ms in 2 s", "field RTT up to 265 ms on NIC 1 for 2 s".
    pub text: String,
}

/// Which way a metric gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Above,
    Below,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Above => "above",
            Direction::Below => "below",
        }
    }
}

/// One of the scorer's thresholds, for a metric the console charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The vendor's metric name; `MultiNet.Rtt`, `MultiNet.Lost` for the per-link ones.
    pub metric: &'static str,
    /// Infinite when the criterion is switched off (frame rate: 0).
    pub normal: f64,
    pub bad: f64,
    pub unit: &'static str,
    pub direction: Direction,
}

/// The scorer's thresholds for each charted metric. The stall thresholds are a share of the part's
/// time (%), as the scorer grades them: under `Lag150Duration` (ms per report) and `K150` (already a
/// share).
pub fn thresholds(cfg: &QualityConfig) -> Vec<Threshold> {
    let t = |metric, normal, bad, unit, direction| Threshold {
        metric,
        normal,
        bad,
        unit,
        direction,
    };
    use Direction::{Above, Below};
    vec![
        t(
            Metric::Lag150Duration.name(),
            cfg.stall_normal_pct,
            cfg.stall_bad_pct,
            "%",
            Above,
        ),
        t(
            Metric::K150.name(),
            cfg.stall_normal_pct,
            cfg.stall_bad_pct,
            "%",
            Above,
        ),
        t(
            Metric::VideoLatency.name(),
            cfg.video_latency_normal_ms,
            cfg.video_latency_bad_ms,
            "ms",
            Above,
        ),
        t(
            Metric::ControlLatency.name(),
            cfg.control_latency_normal_ms,
            cfg.control_latency_bad_ms,
            "ms",
            Above,
        ),
        t(
            Metric::NetworkLatency.name(),
            cfg.network_latency_normal_ms,
            cfg.network_latency_bad_ms,
            "ms",
            Above,
        ),
        t(
            Metric::Lost.name(),
            cfg.loss_normal_pct,
            cfg.loss_bad_pct,
            "%",
            Above,
        ),
        t(
            Metric::Fps.name(),
            cfg.fps_normal_below,
            cfg.fps_bad_below,
            "fps",
            Below,
        ),
        t(
            "MultiNet.Rtt",
            cfg.link_rtt_normal_ms,
            cfg.link_rtt_bad_ms,
            "ms",
            Above,
        ),
        t(
            "MultiNet.Lost",
            cfg.link_loss_normal_pct,
            cfg.link_loss_bad_pct,
            "%",
            Above,
        ),
    ]
}

/// A run of consecutive bad samples: positions of the first and last, the worst value, the sum.
struct Run {
    first: usize,
    last: usize,
    peak: f64,
    sum: f64,
}

/// The runs of samples that `bad` gives a value for; a run breaks at a good sample and at a gap of
/// more than one reporting period.
fn runs(times: &[i64], interval: f64, bad: impl Fn(usize) -> Option<f64>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    let mut open = false;
    for i in 0..times.len() {
        let Some(v) = bad(i) else {
            open = false;
            continue;
        };
        match out.last_mut() {
            Some(run) if open && (times[i] - times[i - 1]) as f64 <= interval => {
                run.last = i;
                run.peak = run.peak.max(v);
                run.sum += v;
            }
            _ => out.push(Run {
                first: i,
                last: i,
                peak: v,
                sum: v,
            }),
        }
        open = true;
    }
    out
}

/// `column[i]` when it is a known value (above `floor`) over `threshold`.
fn over(column: Option<&[f64]>, floor: f64, threshold: f64) -> impl Fn(usize) -> Option<f64> + '_ {
    move |i| {
        let v = column?[i];
        (v.is_finite() && v > floor && v > threshold).then_some(v)
    }
}

/// Turns the runs of one part into incidents.
struct Finder<'a> {
    device_type: DeviceType,
    start_time: i64,
    times: &'a [i64],
    interval: f64,
    found: Vec<Incident>,
}

impl Finder<'_> {
    /// One incident per run of `bad`; `describe` gives its peak and sentence from the run and the
    /// interval's seconds.
    fn find(
        &mut self,
        kind: IncidentKind,
        net_id: Option<i64>,
        bad: impl Fn(usize) -> Option<f64>,
        describe: impl Fn(&Run, i64) -> (f64, String),
    ) {
        for run in runs(self.times, self.interval, bad) {
            let first = self.times[run.first] as f64 - self.interval;
            let start = (first.floor() as i64).max(self.start_time);
            let end = self.times[run.last];
            let (peak, text) = describe(&run, end - start);
            self.found.push(Incident {
                device_type: self.device_type,
                kind,
                net_id,
                start,
                end,
                peak,
                text,
            });
        }
    }
}

/// The incidents of one device part, in time order (then kind, then link).
pub fn part_incidents(
    device_type: DeviceType,
    start_time: i64,
    part: &Columns,
    cfg: &QualityConfig,
) -> Vec<Incident> {
    let times: Vec<i64> = part.time_offset.iter().map(|o| start_time + o).collect();
    let dt = device_type.as_str();
    let mut f = Finder {
        device_type,
        start_time,
        times: &times,
        interval: cfg.sample_interval_s,
        found: Vec::new(),
    };
    // Loss: negative is unknown, 0 a measurement; latencies: <= 0 is unknown (as the scorer).
    let known_loss = -f64::MIN_POSITIVE;

    // Stalls: as the scorer, Lag150Duration when reported, else K150.
    if let Some(lag) = part.metric(Metric::Lag150Duration) {
        f.find(
            IncidentKind::Stall,
            None,
            over(Some(lag), 0.0, 0.0),
            |r, s| (r.peak, format!("{dt} stalled {} ms in {s} s", num(r.sum))),
        );
    } else if let Some(k150) = part.metric(Metric::K150) {
        f.find(
            IncidentKind::Stall,
            None,
            over(Some(k150), 0.0, 0.0),
            |r, s| {
                let text = format!("{dt} stalled up to {} of the time for {s} s", pct(r.peak));
                (r.peak, text)
            },
        );
    }
    let lost = over(part.metric(Metric::Lost), known_loss, cfg.loss_normal_pct);
    f.find(IncidentKind::Loss, None, lost, |r, s| {
        (
            r.peak,
            format!("{dt} packet loss up to {} for {s} s", pct(r.peak)),
        )
    });
    let latencies = [
        (
            IncidentKind::VideoLatency,
            Metric::VideoLatency,
            "video latency",
            cfg.video_latency_normal_ms,
        ),
        (
            IncidentKind::NetworkLatency,
            Metric::NetworkLatency,
            "network latency",
            cfg.network_latency_normal_ms,
        ),
    ];
    for (kind, metric, label, normal) in latencies {
        f.find(
            kind,
            None,
            over(part.metric(metric), 0.0, normal),
            |r, s| {
                (
                    r.peak,
                    format!("{dt} {label} up to {} ms for {s} s", num(r.peak)),
                )
            },
        );
    }

    let mut nets: Vec<&NetColumns> = part.nets.iter().collect();
    nets.sort_by_key(|n| n.net_id);
    let works = |n: &NetColumns, i: usize| n.rtt[i] > 0.0 && n.send_bps[i] + n.recv_bps[i] > 0.0;
    for net in &nets {
        let id = net.net_id;
        // Down: it worked earlier in the part and does not now, while another link does. (A part's
        // only link going quiet is the part going quiet, which its own metrics show.)
        let carrier = |i: usize| {
            nets.iter()
                .find(|other| other.net_id != id && works(other, i))
                .map(|other| other.net_id)
        };
        let first_working = (0..times.len()).find(|&i| works(net, i));
        let down = |i: usize| {
            let was_up = first_working.is_some_and(|w| w < i);
            (was_up && !works(net, i) && carrier(i).is_some()).then_some(0.0)
        };
        f.find(IncidentKind::LinkDown, Some(id), down, |r, s| {
            let by = carrier(r.first).unwrap_or_default();
            let text = format!("{dt} NIC {id} down for {s} s (NIC {by} carried the stream)");
            (s as f64, text)
        });
        let lost = over(Some(&net.lost), known_loss, cfg.link_loss_normal_pct);
        f.find(IncidentKind::LinkLoss, Some(id), lost, |r, s| {
            let text = format!(
                "{dt} packet loss up to {} on NIC {id} for {s} s",
                pct(r.peak)
            );
            (r.peak, text)
        });
        let rtt = over(Some(&net.rtt), 0.0, cfg.link_rtt_normal_ms);
        f.find(IncidentKind::LinkRtt, Some(id), rtt, |r, s| {
            let text = format!("{dt} RTT up to {} ms on NIC {id} for {s} s", num(r.peak));
            (r.peak, text)
        });
    }
    let mut found = f.found;
    found.sort_by(order);
    found
}

/// Time order; at the same time field before remote, then by kind and link.
fn order(a: &Incident, b: &Incident) -> std::cmp::Ordering {
    (
        a.start,
        a.end,
        a.device_type != DeviceType::Field,
        a.kind,
        a.net_id,
    )
        .cmp(&(
            b.start,
            b.end,
            b.device_type != DeviceType::Field,
            b.kind,
            b.net_id,
        ))
}

/// A session with its incidents.
pub struct SessionQuality {
    pub session: SessionRow,
    pub incidents: Vec<Incident>,
}

impl Domain {
    /// The incidents of a session (a foreign session is a missing one).
    pub async fn session_quality(
        &self,
        account: &super::AccountId,
        session_id: &str,
    ) -> Result<SessionQuality, DomainError> {
        let (session, parts) = self
            .session_details(account, session_id, None, None)
            .await?;
        let cfg = &self.settings.quality;
        let mut incidents: Vec<Incident> = parts
            .iter()
            .flat_map(|p| part_incidents(p.part.device_type, p.part.start_time, &p.columns, cfg))
            .collect();
        incidents.sort_by(order);
        Ok(SessionQuality { session, incidents })
    }
}
