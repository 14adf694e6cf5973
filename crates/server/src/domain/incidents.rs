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
use super::Domain;
use crate::errors::DomainError;
use crate::model::samples::{Columns, Metric, NetColumns};
use crate::model::sessions::{SessionRow, SessionSamples};
use crate::model::{AccountId, DeviceType};

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
        account: &AccountId,
        session_id: &str,
    ) -> Result<SessionQuality, DomainError> {
        let SessionSamples { session, parts } = self
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

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    /// `values.len()` samples every 2 s from 0, with these metric columns.
    fn part(metrics: &[(Metric, &[f64])]) -> Columns {
        let n = metrics.first().map_or(0, |(_, v)| v.len());
        Columns {
            time_offset: (0..n as i64).map(|i| 2 * i).collect(),
            metrics: metrics.iter().map(|(m, v)| (*m, v.to_vec())).collect(),
            nets: Vec::new(),
        }
    }

    fn link(id: i64, rtt: &[f64], lost: &[f64], traffic: &[f64]) -> NetColumns {
        NetColumns {
            net_id: id,
            net_ip: String::new(),
            rtt: rtt.to_vec(),
            lost: lost.to_vec(),
            send_bps: traffic.to_vec(),
            recv_bps: vec![0.0; traffic.len()],
        }
    }

    fn found(ty: DeviceType, c: &Columns) -> Vec<(IncidentKind, Option<i64>, i64, i64, f64)> {
        part_incidents(ty, T0, c, &QualityConfig::default())
            .into_iter()
            .map(|i| (i.kind, i.net_id, i.start - T0, i.end - T0, i.peak))
            .collect()
    }

    #[test]
    fn consecutive_bad_samples_merge_and_a_good_one_or_a_gap_splits() {
        use IncidentKind::Stall;
        // Samples at 0, 2, ... 12: stalls at 2 and 4 (one incident), at 10 (another).
        let c = part(&[(
            Metric::Lag150Duration,
            &[0.0, 100.0, 50.0, 0.0, 0.0, 30.0, 0.0],
        )]);
        let all = part_incidents(DeviceType::Remote, T0, &c, &QualityConfig::default());
        assert_eq!(
            found(DeviceType::Remote, &c),
            vec![(Stall, None, 0, 4, 100.0), (Stall, None, 8, 10, 30.0)]
        );
        assert_eq!(all[0].text, "remote stalled 150 ms in 4 s");
        assert_eq!(all[1].text, "remote stalled 30 ms in 2 s");
        // A gap of more than one reporting period ends an incident, whatever comes after it.
        let mut gap = part(&[(Metric::Lag150Duration, &[0.0, 10.0, 10.0, 10.0, 10.0])]);
        gap.time_offset = vec![0, 2, 4, 10, 12];
        assert_eq!(
            found(DeviceType::Remote, &gap),
            vec![(Stall, None, 0, 4, 10.0), (Stall, None, 8, 12, 10.0)]
        );
        // A first sample stands for no time before the part's StartTime.
        let first = part(&[(Metric::Lag150Duration, &[40.0, 0.0, 0.0])]);
        assert_eq!(
            found(DeviceType::Remote, &first),
            vec![(Stall, None, 0, 0, 40.0)]
        );
    }

    #[test]
    fn stalls_from_k150_only_without_lag150_duration() {
        let both = part(&[
            (Metric::K150, &[0.0, 5.0, 0.0]),
            (Metric::Lag150Duration, &[0.0, 0.0, 0.0]),
        ]);
        assert_eq!(found(DeviceType::Field, &both), vec![]);
        let k150 = part(&[(Metric::K150, &[0.0, 5.0, 12.5, 0.0])]);
        let all = part_incidents(DeviceType::Field, T0, &k150, &QualityConfig::default());
        assert_eq!(
            found(DeviceType::Field, &k150),
            vec![(IncidentKind::Stall, None, 0, 4, 12.5)]
        );
        assert_eq!(all[0].text, "field stalled up to 12.5% of the time for 4 s");
    }

    #[test]
    fn thresholds_are_the_scorers_and_unknown_values_are_never_bad() {
        use IncidentKind::{Loss, NetworkLatency, VideoLatency};
        // At the normal threshold is not over it; -1 and 0 latencies and negative loss are unknown.
        let c = part(&[
            (Metric::Lost, &[5.0, 5.5, -1.0, 30.0, 0.0]),
            (Metric::NetworkLatency, &[150.0, -1.0, 151.0, 0.0, 0.0]),
            (Metric::VideoLatency, &[0.0, 0.0, 150.0, 226.0, 400.0]),
        ]);
        let all = part_incidents(DeviceType::Remote, T0, &c, &QualityConfig::default());
        assert_eq!(
            found(DeviceType::Remote, &c),
            vec![
                (Loss, None, 0, 2, 5.5),
                (NetworkLatency, None, 2, 4, 151.0),
                (Loss, None, 4, 6, 30.0),
                (VideoLatency, None, 4, 8, 400.0),
            ]
        );
        let texts: Vec<&str> = all.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "remote packet loss up to 5.5% for 2 s",
                "remote network latency up to 151 ms for 2 s",
                "remote packet loss up to 30.0% for 2 s",
                "remote video latency up to 400 ms for 4 s",
            ]
        );
        // A criterion switched off finds nothing; a stricter one finds more.
        let cfg = QualityConfig {
            loss_normal_pct: f64::INFINITY,
            network_latency_normal_ms: 100.0,
            ..QualityConfig::default()
        };
        let kinds: Vec<IncidentKind> = part_incidents(DeviceType::Remote, T0, &c, &cfg)
            .iter()
            .map(|i| i.kind)
            .collect();
        assert_eq!(kinds, vec![NetworkLatency, NetworkLatency, VideoLatency]);
    }

    #[test]
    fn a_bonded_link_goes_down_while_another_carries_the_stream() {
        use IncidentKind::{LinkDown, LinkLoss, LinkRtt};
        let mut c = part(&[(Metric::Fps, &[20.0; 8])]);
        let on = [500.0; 8];
        // NIC 0 works throughout. NIC 1 starts late (not down before it first works), then loses
        // its RTT at 6 and 8 and its traffic at 10, works again at 12, and loses 30% at 14.
        c.nets = vec![
            link(
                1,
                &[0.0, 80.0, 80.0, 0.0, -1.0, 80.0, 90.0, 600.0],
                &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0],
                &[0.0, 9.0, 9.0, 9.0, 9.0, 0.0, 9.0, 9.0],
            ),
            link(0, &[60.0; 8], &[0.0; 8], &on),
        ];
        let all = part_incidents(DeviceType::Field, T0, &c, &QualityConfig::default());
        assert_eq!(
            found(DeviceType::Field, &c),
            vec![
                (LinkDown, Some(1), 4, 10, 6.0),
                (LinkLoss, Some(1), 12, 14, 30.0),
                (LinkRtt, Some(1), 12, 14, 600.0),
            ]
        );
        assert_eq!(
            all[0].text,
            "field NIC 1 down for 6 s (NIC 0 carried the stream)"
        );
        assert_eq!(
            all[1].text,
            "field packet loss up to 30.0% on NIC 1 for 2 s"
        );
        assert_eq!(all[2].text, "field RTT up to 600 ms on NIC 1 for 2 s");
        // When every link goes quiet (the session winding down), no link is down.
        c.nets[1].send_bps = vec![0.0; 8];
        c.nets[1].rtt = vec![0.0; 8];
        for n in &mut c.nets {
            n.rtt[7] = 0.0;
        }
        let quiet = part_incidents(DeviceType::Field, T0, &c, &QualityConfig::default());
        assert!(quiet.iter().all(|i| i.kind != LinkDown), "{quiet:?}");
        // A part's only link is never "down": its own metrics show the outage.
        let mut single = part(&[(Metric::Fps, &[20.0; 4])]);
        single.nets = vec![link(0, &[60.0, 0.0, 0.0, 60.0], &[0.0; 4], &[500.0; 4])];
        assert_eq!(found(DeviceType::Field, &single), vec![]);
    }

    /// The vendor's example session (docs/quality.md, worked by hand): the two spikes of the field
    /// device's network latency and of its NIC 1's RTT, which make the session `normal`, and the
    /// remote's three short stalls, which leave it good.
    #[test]
    fn the_example_session_has_the_spikes_behind_its_grade() {
        use IncidentKind::{LinkRtt, NetworkLatency, Stall};
        let parts = super::super::quality::tests::seed_parts();
        let (field, remote) = (&parts[0].1, &parts[1].1);
        let cfg = QualityConfig::default();
        let f = part_incidents(DeviceType::Field, 1_731_399_569, field, &cfg);
        let r = part_incidents(DeviceType::Remote, 1_731_399_572, remote, &cfg);
        let brief = |v: &[Incident]| -> Vec<(IncidentKind, Option<i64>, i64, i64, f64)> {
            v.iter()
                .map(|i| (i.kind, i.net_id, i.start, i.end, i.peak))
                .collect()
        };
        assert_eq!(
            brief(&f),
            vec![
                (NetworkLatency, None, 1_731_399_573, 1_731_399_575, 326.0),
                (LinkRtt, Some(1), 1_731_399_573, 1_731_399_575, 262.0),
                (NetworkLatency, None, 1_731_399_589, 1_731_399_591, 503.0),
                (LinkRtt, Some(1), 1_731_399_589, 1_731_399_591, 265.0),
            ]
        );
        assert_eq!(
            brief(&r),
            vec![
                (Stall, None, 1_731_399_572, 1_731_399_574, 219.0),
                (Stall, None, 1_731_399_610, 1_731_399_612, 45.0),
                (Stall, None, 1_731_399_616, 1_731_399_618, 3.0),
            ]
        );
        assert_eq!(f[0].text, "field network latency up to 326 ms for 2 s");
        assert_eq!(f[1].text, "field RTT up to 262 ms on NIC 1 for 2 s");
        assert_eq!(r[0].text, "remote stalled 219 ms in 2 s");
    }

    #[test]
    fn thresholds_follow_the_configuration() {
        let cfg = QualityConfig {
            video_latency_normal_ms: 100.0,
            ..QualityConfig::default()
        };
        let t = thresholds(&cfg);
        let metrics: Vec<&str> = t.iter().map(|t| t.metric).collect();
        assert_eq!(
            metrics,
            vec![
                "Lag150Duration",
                "K150",
                "VideoLatency",
                "ControlLatency",
                "NetworkLatency",
                "Lost",
                "Fps",
                "MultiNet.Rtt",
                "MultiNet.Lost"
            ]
        );
        let video = &t[2];
        assert_eq!((video.normal, video.bad, video.unit), (100.0, 225.0, "ms"));
        let fps = &t[6];
        assert_eq!(
            (fps.normal, fps.bad, fps.direction),
            (15.0, 10.0, Direction::Below)
        );
        assert_eq!((t[0].normal, t[0].bad, t[0].unit), (1.0, 3.0, "%"));
    }
}
