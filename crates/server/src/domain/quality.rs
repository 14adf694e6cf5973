//! Session quality: `good`, `normal` or `bad`, with the reasons the console shows.
//!
//! A deterministic scorer over the stored samples of one device part (`Columns`): each criterion turns
//! one statistic into a grade through two thresholds (`normal` above the first, `bad` above the
//! second; at a threshold is the better grade), the part's grade is its worst criterion, and the
//! session's grade its worst part. Every threshold lives in [`QualityConfig`] (the `[quality]` table
//! of the TOML configuration); the defaults and the reasons for them are in `docs/quality.md`.
//!
//! The criteria, in the order their reasons are listed when grades tie:
//!
//! | criterion | statistic | metric |
//! | --- | --- | --- |
//! | stalls | share of the part's time with a frame interval over 150 ms | `Lag150Duration`, else `K150` |
//! | video latency | p95, values <= 0 ignored (unknown) | `VideoLatency` |
//! | control latency | p95, values <= 0 ignored | `ControlLatency` |
//! | network latency | p95, values <= 0 ignored (-1 = unknown) | `NetworkLatency` |
//! | packet loss | mean, negative values ignored | `Lost` |
//! | frame rate | median after the ramp-up, parts that never had a frame skipped | `Fps` |
//! | link RTT | p95 per NIC, values <= 0 ignored | `MultiNet.Rtt` |
//! | link loss | mean per NIC | `MultiNet.Lost` |
//!
//! A criterion is scored only when the device reported its metric with at least `min_samples` usable
//! values; a metric never reported is ignored, so a part without data is `good` with no reasons.
//! On a bonded part (two or more NICs) a bad link is at most `normal` while another link is usable.
//! Percentiles are nearest-rank on the sorted values: the result is always a reported value.

use crate::model::quality::{Assessment, Grade, Reason};
use crate::model::samples::{Columns, Metric, NetColumns};
use crate::model::DeviceType;
use serde::{Deserialize, Serialize};

/// Every threshold of the scorer. Deserialized from the `[quality]` table of the configuration file;
/// a field left out keeps its default, an unknown field is an error (a misspelt threshold must not be
/// silently ignored). "`x_normal`/`x_bad`": the statistic is `normal` above the first and `bad` above
/// the second; equal to a threshold is the better grade. A criterion is switched off by setting its
/// thresholds to `inf` (frame-rate floors: `0`). See `docs/quality.md` for why each default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// A criterion needs at least this many usable values to be scored (a part with fewer samples is
    /// `good` with no reasons). Default 3 (6 s of 2-second reports).
    pub min_samples: usize,
    /// The reporting period, seconds: the time one sample stands for when the stall share turns
    /// `Lag150Duration` into a share of the part's duration. Default 2.
    pub sample_interval_s: f64,
    /// Nearest-rank percentile of the latency criteria (video, control, network, link RTT), in
    /// (0, 100]. Default 95.
    pub latency_percentile: f64,
    /// Stall share (% of the part's time with a frame interval over 150 ms). Default 1.0 / 3.0.
    pub stall_normal_pct: f64,
    pub stall_bad_pct: f64,
    /// Glass-to-glass video latency p95, ms. Default 150 / 225.
    pub video_latency_normal_ms: f64,
    pub video_latency_bad_ms: f64,
    /// Control-channel round trip p95, ms. Default 150 / 300.
    pub control_latency_normal_ms: f64,
    pub control_latency_bad_ms: f64,
    /// Device-to-server network latency (a round trip) p95, ms. Default 150 / 400.
    pub network_latency_normal_ms: f64,
    pub network_latency_bad_ms: f64,
    /// Mean packet loss of the part (`Lost`), %. Default 5 / 20.
    pub loss_normal_pct: f64,
    pub loss_bad_pct: f64,
    /// Median frame rate below these floors, fps. Default 15 / 10.
    pub fps_normal_below: f64,
    pub fps_bad_below: f64,
    /// Samples within this many seconds of the part's first sample are left out of the frame rate
    /// (the encoder's start). Default 4 (the first two reports).
    pub fps_warmup_s: i64,
    /// Per-link RTT p95 (`MultiNet.Rtt`), ms. Default 150 / 400.
    pub link_rtt_normal_ms: f64,
    pub link_rtt_bad_ms: f64,
    /// Per-link mean loss (`MultiNet.Lost`), %. Default 5 / 20.
    pub link_loss_normal_pct: f64,
    pub link_loss_bad_pct: f64,
    /// On a part with two or more links, a bad link is at most `normal` while another link is usable
    /// (RTT measured, neither criterion bad). Default true.
    pub bonded_link_cap: bool,
}

impl Default for QualityConfig {
    fn default() -> QualityConfig {
        QualityConfig {
            min_samples: 3,
            sample_interval_s: 2.0,
            latency_percentile: 95.0,
            stall_normal_pct: 1.0,
            stall_bad_pct: 3.0,
            video_latency_normal_ms: 150.0,
            video_latency_bad_ms: 225.0,
            control_latency_normal_ms: 150.0,
            control_latency_bad_ms: 300.0,
            network_latency_normal_ms: 150.0,
            network_latency_bad_ms: 400.0,
            loss_normal_pct: 5.0,
            loss_bad_pct: 20.0,
            fps_normal_below: 15.0,
            fps_bad_below: 10.0,
            fps_warmup_s: 4,
            link_rtt_normal_ms: 150.0,
            link_rtt_bad_ms: 400.0,
            link_loss_normal_pct: 5.0,
            link_loss_bad_pct: 20.0,
            bonded_link_cap: true,
        }
    }
}

impl QualityConfig {
    /// Checks the configuration makes sense: every `normal` threshold at or before its `bad` one, no
    /// NaN, a percentile in (0, 100], a positive reporting period.
    pub fn validate(&self) -> Result<(), String> {
        let above = [
            ("stall", self.stall_normal_pct, self.stall_bad_pct),
            (
                "video_latency",
                self.video_latency_normal_ms,
                self.video_latency_bad_ms,
            ),
            (
                "control_latency",
                self.control_latency_normal_ms,
                self.control_latency_bad_ms,
            ),
            (
                "network_latency",
                self.network_latency_normal_ms,
                self.network_latency_bad_ms,
            ),
            ("loss", self.loss_normal_pct, self.loss_bad_pct),
            ("link_rtt", self.link_rtt_normal_ms, self.link_rtt_bad_ms),
            (
                "link_loss",
                self.link_loss_normal_pct,
                self.link_loss_bad_pct,
            ),
        ];
        for (name, normal, bad) in above {
            if normal.is_nan() || bad.is_nan() || normal > bad {
                return Err(format!(
                    "quality: {name} thresholds must be numbers with normal <= bad (got {normal} and {bad})"
                ));
            }
        }
        if self.fps_normal_below.is_nan()
            || self.fps_bad_below.is_nan()
            || self.fps_bad_below > self.fps_normal_below
        {
            return Err(format!(
                "quality: fps floors must be numbers with fps_bad_below <= fps_normal_below (got {} and {})",
                self.fps_bad_below, self.fps_normal_below
            ));
        }
        if !(self.latency_percentile > 0.0 && self.latency_percentile <= 100.0) {
            return Err(format!(
                "quality: latency_percentile must be in (0, 100] (got {})",
                self.latency_percentile
            ));
        }
        if !(self.sample_interval_s > 0.0 && self.sample_interval_s.is_finite()) {
            return Err(format!(
                "quality: sample_interval_s must be positive (got {})",
                self.sample_interval_s
            ));
        }
        if self.min_samples == 0 {
            return Err("quality: min_samples must be at least 1".to_owned());
        }
        if self.fps_warmup_s < 0 {
            return Err(format!(
                "quality: fps_warmup_s must not be negative (got {})",
                self.fps_warmup_s
            ));
        }
        Ok(())
    }
}

/// Scores one device's part of a session. `device_type` only labels the reasons.
pub fn score_part(device_type: DeviceType, part: &Columns, cfg: &QualityConfig) -> Assessment {
    let min = cfg.min_samples.max(1);
    if part.len() < min {
        return Assessment::good();
    }
    let mut reasons = Vec::new();
    let mut add = |grade: Grade, metric: &str, text: String| {
        if grade > Grade::Good {
            reasons.push(Reason {
                device_type,
                grade,
                metric: metric.to_owned(),
                text,
            });
        }
    };

    if let Some((share, metric)) = stall_share_pct(part, cfg) {
        let g = above(share, cfg.stall_normal_pct, cfg.stall_bad_pct);
        add(
            g,
            metric.name(),
            format!("{device_type} stalled {} of the time", pct(share)),
        );
    }

    let latencies = [
        (
            Metric::VideoLatency,
            "video latency",
            cfg.video_latency_normal_ms,
            cfg.video_latency_bad_ms,
        ),
        (
            Metric::ControlLatency,
            "control latency",
            cfg.control_latency_normal_ms,
            cfg.control_latency_bad_ms,
        ),
        (
            Metric::NetworkLatency,
            "network latency",
            cfg.network_latency_normal_ms,
            cfg.network_latency_bad_ms,
        ),
    ];
    for (metric, label, normal, bad) in latencies {
        let Some(column) = part.metric(metric) else {
            continue;
        };
        if let Some(v) = percentile(latency_values(column), cfg.latency_percentile, min) {
            let p = percentile_label(cfg.latency_percentile);
            add(
                above(v, normal, bad),
                metric.name(),
                format!("{device_type} {label} {p} {} ms", num(v)),
            );
        }
    }

    if let Some(column) = part.metric(Metric::Lost) {
        if let Some(v) = mean(loss_values(column), min) {
            let g = above(v, cfg.loss_normal_pct, cfg.loss_bad_pct);
            add(
                g,
                Metric::Lost.name(),
                format!("{device_type} packet loss {} on average", pct(v)),
            );
        }
    }

    if let Some(v) = fps_median(part, cfg) {
        let g = below(v, cfg.fps_normal_below, cfg.fps_bad_below);
        add(
            g,
            Metric::Fps.name(),
            format!("{device_type} frame rate median {} fps", num(v)),
        );
    }

    // Links, by NetId whatever order they come in.
    let mut nets: Vec<&NetColumns> = part.nets.iter().collect();
    nets.sort_by_key(|n| n.net_id);
    let links: Vec<LinkScore> = nets.iter().map(|n| score_link(n, cfg)).collect();
    for (i, link) in links.iter().enumerate() {
        // A bad link with another usable link beside it: bonding carries the stream, so `normal`.
        let rescuer = if cfg.bonded_link_cap && links.len() >= 2 && link.grade() == Grade::Bad {
            links
                .iter()
                .enumerate()
                .find(|(j, l)| *j != i && l.usable())
                .map(|(_, l)| l.net_id)
        } else {
            None
        };
        let p = percentile_label(cfg.latency_percentile);
        let criteria = [
            (
                link.rtt.map(|(v, g)| (g, format!("RTT {p} {} ms", num(v)))),
                "MultiNet.Rtt",
            ),
            (
                link.loss
                    .map(|(v, g)| (g, format!("packet loss {}", pct(v)))),
                "MultiNet.Lost",
            ),
        ];
        for (scored, metric) in criteria {
            let Some((mut g, what)) = scored else {
                continue;
            };
            let mut text = format!("{device_type} {what} on NIC {}", link.net_id);
            if let Some(other) = rescuer {
                if g == Grade::Bad {
                    g = Grade::Normal;
                    text.push_str(&format!(" (bonded: NIC {other} usable)"));
                }
            }
            add(g, metric, text);
        }
    }

    finish(reasons)
}

/// Worst part wins; the reasons of all parts merged, worst first (then field before remote, then in
/// the order given).
pub fn score_session(parts: &[Assessment]) -> Assessment {
    let grade = parts.iter().map(|a| a.grade).max().unwrap_or(Grade::Good);
    let mut reasons: Vec<Reason> = parts
        .iter()
        .flat_map(|a| a.reasons.iter().cloned())
        .collect();
    reasons.sort_by(|a, b| {
        b.grade
            .cmp(&a.grade)
            .then_with(|| a.device_type.cmp(&b.device_type))
    });
    Assessment { grade, reasons }
}

/// `NotBadSessionRatio`: the share of sessions graded good or normal, in whole percent (the vendor's
/// field is an integer), rounded down so that 100 means no bad session at all; 0 when there are none.
pub fn not_bad_session_ratio(grades: &[Grade]) -> i64 {
    if grades.is_empty() {
        return 0;
    }
    let not_bad = grades.iter().filter(|g| **g != Grade::Bad).count();
    (not_bad * 100 / grades.len()) as i64
}

/// The part's share of time stalled (frame interval over 150 ms), %, and the metric it came from:
/// `Lag150Duration` (ms of stall per report) summed over the part's duration, where the duration is
/// the span of its time offsets plus one reporting period (each report covers the time since the
/// previous one); when absent, the mean of `K150` (already a share in %).
fn stall_share_pct(part: &Columns, cfg: &QualityConfig) -> Option<(f64, Metric)> {
    let min = cfg.min_samples.max(1);
    if let Some(lag) = part.metric(Metric::Lag150Duration) {
        let values: Vec<f64> = lag
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .collect();
        if values.len() >= min {
            let (first, last) = (*part.time_offset.first()?, *part.time_offset.last()?);
            let duration_ms = ((last - first) as f64 + cfg.sample_interval_s) * 1000.0;
            let stalled_ms: f64 = values.iter().sum();
            return Some((
                (100.0 * stalled_ms / duration_ms).min(100.0),
                Metric::Lag150Duration,
            ));
        }
    }
    let k150 = part.metric(Metric::K150)?;
    let values: Vec<f64> = k150
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    mean(values, min).map(|m| (m.min(100.0), Metric::K150))
}

/// The median frame rate, leaving out the ramp-up; `None` when the part never had a frame (a voice
/// session) or too few samples remain.
fn fps_median(part: &Columns, cfg: &QualityConfig) -> Option<f64> {
    let fps = part.metric(Metric::Fps)?;
    if !fps.iter().any(|v| *v > 0.0) {
        return None;
    }
    let first = *part.time_offset.first()?;
    let values: Vec<f64> = part
        .time_offset
        .iter()
        .zip(fps)
        .filter(|(t, v)| **t - first >= cfg.fps_warmup_s && v.is_finite() && **v >= 0.0)
        .map(|(_, v)| *v)
        .collect();
    percentile(values, 50.0, cfg.min_samples.max(1))
}

/// One link's criteria: (value, grade) of the RTT percentile and of the mean loss, when scored.
struct LinkScore {
    net_id: i64,
    rtt: Option<(f64, Grade)>,
    loss: Option<(f64, Grade)>,
}

impl LinkScore {
    fn grade(&self) -> Grade {
        let rtt = self.rtt.map_or(Grade::Good, |(_, g)| g);
        let loss = self.loss.map_or(Grade::Good, |(_, g)| g);
        rtt.max(loss)
    }

    /// Can carry the stream: its RTT was measured and nothing about it is bad.
    fn usable(&self) -> bool {
        self.rtt.is_some() && self.grade() < Grade::Bad
    }
}

fn score_link(net: &NetColumns, cfg: &QualityConfig) -> LinkScore {
    let min = cfg.min_samples.max(1);
    let rtt = percentile(latency_values(&net.rtt), cfg.latency_percentile, min)
        .map(|v| (v, above(v, cfg.link_rtt_normal_ms, cfg.link_rtt_bad_ms)));
    let loss = mean(loss_values(&net.lost), min)
        .map(|v| (v, above(v, cfg.link_loss_normal_pct, cfg.link_loss_bad_pct)));
    LinkScore {
        net_id: net.net_id,
        rtt,
        loss,
    }
}

/// Latencies: a value <= 0 is "unknown" (the vendor's -1, and the 0 reported before the first frame or
/// while no video flows; no real path has a latency of 0 ms).
fn latency_values(column: &[f64]) -> Vec<f64> {
    column
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect()
}

/// Loss: a negative value is "unknown"; 0 is a real measurement.
fn loss_values(column: &[f64]) -> Vec<f64> {
    column
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect()
}

/// Nearest-rank percentile: the value of rank ceil(p/100 * n) among the sorted values (rank at least
/// 1). `None` with fewer than `min` values.
fn percentile(mut values: Vec<f64>, p: f64, min: usize) -> Option<f64> {
    if values.is_empty() || values.len() < min {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    // p * n / 100 first: exact for whole percentiles, so 95% of 20 is rank 19, not 20.
    let rank = (p * n as f64 / 100.0).ceil();
    let rank = if rank.is_nan() {
        n
    } else {
        (rank as usize).clamp(1, n)
    };
    Some(values[rank - 1])
}

fn mean(values: Vec<f64>, min: usize) -> Option<f64> {
    if values.is_empty() || values.len() < min {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

fn above(v: f64, normal: f64, bad: f64) -> Grade {
    if v > bad {
        Grade::Bad
    } else if v > normal {
        Grade::Normal
    } else {
        Grade::Good
    }
}

fn below(v: f64, normal_below: f64, bad_below: f64) -> Grade {
    if v < bad_below {
        Grade::Bad
    } else if v < normal_below {
        Grade::Normal
    } else {
        Grade::Good
    }
}

/// Stable sort, worst first: ties keep the criterion order of `score_part`.
fn finish(mut reasons: Vec<Reason>) -> Assessment {
    reasons.sort_by_key(|r| std::cmp::Reverse(r.grade));
    let grade = reasons.first().map_or(Grade::Good, |r| r.grade);
    Assessment { grade, reasons }
}

/// "p95", or "p99.9" for a fractional percentile.
fn percentile_label(p: f64) -> String {
    format!("p{}", num(p))
}

/// A whole number without decimals, anything else with one.
pub(super) fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A percentage: two decimals under 1 % (0.28%), one above (2.9%).
pub(super) fn pct(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.2}%")
    } else {
        format!("{v:.1}%")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::samples::NetColumns;
    use serde_json::Value;

    /// The `Details` of the golden example response (fixtures/README.md): (DeviceType, Columns),
    /// arrays the vendor left empty being metrics the device never reported.
    pub(in crate::domain) fn seed_parts() -> Vec<(DeviceType, Columns)> {
        let response: Value = serde_json::from_str(include_str!(
            "../../../../fixtures/describe-device-session-details.json"
        ))
        .expect("valid JSON");
        let f = |v: &Value| v.as_f64().expect("number");
        let floats = |v: &Value| {
            v.as_array()
                .expect("array")
                .iter()
                .map(f)
                .collect::<Vec<_>>()
        };
        response["Response"]["Details"]
            .as_array()
            .expect("Details")
            .iter()
            .map(|d| {
                let time_offset: Vec<i64> = d["TimeOffset"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect();
                let metrics = Metric::ALL
                    .iter()
                    .filter_map(|m| d.get(m.name()).map(|v| (*m, floats(v))))
                    .filter(|(_, v)| !v.is_empty())
                    .inspect(|(_, v)| assert_eq!(v.len(), time_offset.len()))
                    .collect();
                let nets = d
                    .get("MultiNet")
                    .and_then(Value::as_array)
                    .map(|nets| {
                        nets.iter()
                            .map(|n| NetColumns {
                                net_id: n["NetId"].as_i64().unwrap(),
                                net_ip: n["NetIp"].as_str().unwrap().to_owned(),
                                rtt: floats(&n["Rtt"]),
                                lost: floats(&n["Lost"]),
                                send_bps: floats(&n["SendBps"]),
                                recv_bps: floats(&n["RecvBps"]),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let device_type = DeviceType::parse(d["DeviceType"].as_str().unwrap()).unwrap();
                (
                    device_type,
                    Columns {
                        time_offset,
                        metrics,
                        nets,
                    },
                )
            })
            .collect()
    }

    fn reason(device: &str, grade: Grade, metric: &str, text: &str) -> Reason {
        Reason {
            device_type: DeviceType::parse(device).unwrap(),
            grade,
            metric: metric.to_owned(),
            text: text.to_owned(),
        }
    }

    /// `n` samples every 2 s from 0, each given metric constant.
    fn part(n: usize, metrics: &[(Metric, f64)]) -> Columns {
        let mut metrics: Vec<(Metric, Vec<f64>)> =
            metrics.iter().map(|(m, v)| (*m, vec![*v; n])).collect();
        metrics.sort_by_key(|(m, _)| *m);
        Columns {
            time_offset: (0..n as i64).map(|i| 2 * i).collect(),
            metrics,
            nets: Vec::new(),
        }
    }

    fn net(id: i64, n: usize, rtt: f64, lost: f64) -> NetColumns {
        NetColumns {
            net_id: id,
            net_ip: format!("10.0.0.{id}"),
            rtt: vec![rtt; n],
            lost: vec![lost; n],
            send_bps: vec![500.0; n],
            recv_bps: vec![30.0; n],
        }
    }

    fn grade_of(metrics: &[(Metric, f64)]) -> Grade {
        score_part(
            DeviceType::Remote,
            &part(10, metrics),
            &QualityConfig::default(),
        )
        .grade
    }

    #[test]
    fn seed_session_is_normal_for_the_field_links_latency() {
        let parts = seed_parts();
        assert_eq!(parts.len(), 2);
        let cfg = QualityConfig::default();
        let (field_type, field) = &parts[0];
        let (remote_type, remote) = &parts[1];
        assert_eq!(
            (field_type.as_str(), remote_type.as_str()),
            ("field", "remote")
        );

        let field = score_part(*field_type, field, &cfg);
        let expected_field = vec![
            reason(
                "field",
                Grade::Normal,
                "NetworkLatency",
                "field network latency p95 326 ms",
            ),
            reason(
                "field",
                Grade::Normal,
                "MultiNet.Rtt",
                "field RTT p95 262 ms on NIC 1",
            ),
        ];
        assert_eq!(
            field,
            Assessment {
                grade: Grade::Normal,
                reasons: expected_field.clone()
            }
        );

        let remote = score_part(*remote_type, remote, &cfg);
        assert_eq!(remote, Assessment::good());

        let session = score_session(&[field, remote]);
        assert_eq!(
            session,
            Assessment {
                grade: Grade::Normal,
                reasons: expected_field
            }
        );
    }

    #[test]
    fn seed_statistics_worked_by_hand() {
        let parts = seed_parts();
        let cfg = QualityConfig::default();
        let (_, field) = &parts[0];
        let (_, remote) = &parts[1];
        // Remote: 219 + 45 + 3 = 267 ms stalled over (92 - 0 + 2) s = 0.284 %.
        let (share, metric) = stall_share_pct(remote, &cfg).unwrap();
        assert_eq!(metric, Metric::Lag150Duration);
        assert!((share - 100.0 * 267.0 / 94_000.0).abs() < 1e-12, "{share}");
        // The field device reported neither Lag150Duration nor K150: stalls are not scored.
        assert_eq!(stall_share_pct(field, &cfg), None);
        let p95 =
            |c: &Columns, m: Metric| percentile(latency_values(c.metric(m).unwrap()), 95.0, 3);
        assert_eq!(p95(remote, Metric::VideoLatency), Some(99.0)); // rank 30 of 31 values > 0
        assert_eq!(p95(remote, Metric::NetworkLatency), Some(9.0));
        assert_eq!(p95(field, Metric::NetworkLatency), Some(326.0)); // rank 27 of 28
        assert_eq!(fps_median(field, &cfg), Some(19.0));
        assert_eq!(fps_median(remote, &cfg), Some(19.0));
        let links: Vec<_> = field.nets.iter().map(|n| score_link(n, &cfg)).collect();
        assert_eq!(links[0].rtt, Some((69.0, Grade::Good)));
        assert_eq!(links[1].rtt, Some((262.0, Grade::Normal)));
        assert_eq!(links[0].loss, Some((1.0 / 30.0, Grade::Good)));
    }

    #[test]
    fn seed_with_a_stricter_stall_threshold_flags_the_remote() {
        let parts = seed_parts();
        let cfg = QualityConfig {
            stall_normal_pct: 0.1,
            network_latency_bad_ms: 300.0,
            ..QualityConfig::default()
        };
        let assessments: Vec<Assessment> =
            parts.iter().map(|(t, c)| score_part(*t, c, &cfg)).collect();
        let session = score_session(&assessments);
        assert_eq!(session.grade, Grade::Bad);
        assert_eq!(
            session.reasons,
            vec![
                reason(
                    "field",
                    Grade::Bad,
                    "NetworkLatency",
                    "field network latency p95 326 ms"
                ),
                reason(
                    "field",
                    Grade::Normal,
                    "MultiNet.Rtt",
                    "field RTT p95 262 ms on NIC 1"
                ),
                reason(
                    "remote",
                    Grade::Normal,
                    "Lag150Duration",
                    "remote stalled 0.28% of the time"
                ),
            ]
        );
    }

    #[test]
    fn stalls_from_lag150_duration() {
        // 10 samples over 20 s: x ms per sample is a share of x / 20 %.
        let g = |x| grade_of(&[(Metric::Lag150Duration, x)]);
        assert_eq!(g(0.0), Grade::Good);
        assert_eq!(g(19.8), Grade::Good); // 0.99 %
        assert_eq!(g(20.0), Grade::Good); // 1 %: at the threshold
        assert_eq!(g(20.2), Grade::Normal); // 1.01 %
        assert_eq!(g(59.8), Grade::Normal); // 2.99 %
        assert_eq!(g(60.0), Grade::Normal); // 3 %
        assert_eq!(g(60.2), Grade::Bad); // 3.01 %
        let a = score_part(
            DeviceType::Remote,
            &part(10, &[(Metric::Lag150Duration, 58.0)]),
            &QualityConfig::default(),
        );
        assert_eq!(
            a.reasons,
            vec![reason(
                "remote",
                Grade::Normal,
                "Lag150Duration",
                "remote stalled 2.9% of the time"
            )]
        );
    }

    #[test]
    fn stalls_from_k150_when_lag150_is_absent() {
        let g = |k| grade_of(&[(Metric::K150, k)]);
        assert_eq!(g(0.99), Grade::Good);
        assert_eq!(g(1.0), Grade::Good);
        assert_eq!(g(1.01), Grade::Normal);
        assert_eq!(g(3.0), Grade::Normal);
        assert_eq!(g(3.01), Grade::Bad);
        // Lag150Duration wins over K150 when both are there.
        assert_eq!(
            grade_of(&[(Metric::K150, 5.0), (Metric::Lag150Duration, 0.0)]),
            Grade::Good
        );
        let a = score_part(
            DeviceType::Field,
            &part(10, &[(Metric::K150, 1.5)]),
            &QualityConfig::default(),
        );
        assert_eq!(
            a.reasons,
            vec![reason(
                "field",
                Grade::Normal,
                "K150",
                "field stalled 1.5% of the time"
            )]
        );
    }

    #[test]
    fn stall_duration_spans_gaps() {
        // Samples at 0, 2 and 10 s: span 10 + 2 = 12 s; 240 ms stalled is 2 %.
        let c = Columns {
            time_offset: vec![0, 2, 10],
            metrics: vec![(Metric::Lag150Duration, vec![0.0, 0.0, 240.0])],
            nets: Vec::new(),
        };
        let (share, _) = stall_share_pct(&c, &QualityConfig::default()).unwrap();
        assert!((share - 2.0).abs() < 1e-12, "{share}");
    }

    #[test]
    fn latency_thresholds() {
        let cases = [
            (Metric::VideoLatency, 150.0, 225.0),
            (Metric::ControlLatency, 150.0, 300.0),
            (Metric::NetworkLatency, 150.0, 400.0),
        ];
        for (m, normal, bad) in cases {
            let g = |v| grade_of(&[(m, v)]);
            assert_eq!(g(normal - 1.0), Grade::Good, "{m:?}");
            assert_eq!(g(normal), Grade::Good, "{m:?}");
            assert_eq!(g(normal + 1.0), Grade::Normal, "{m:?}");
            assert_eq!(g(bad - 1.0), Grade::Normal, "{m:?}");
            assert_eq!(g(bad), Grade::Normal, "{m:?}");
            assert_eq!(g(bad + 1.0), Grade::Bad, "{m:?}");
        }
        let a = score_part(
            DeviceType::Remote,
            &part(10, &[(Metric::VideoLatency, 182.0)]),
            &QualityConfig::default(),
        );
        assert_eq!(
            a.reasons,
            vec![reason(
                "remote",
                Grade::Normal,
                "VideoLatency",
                "remote video latency p95 182 ms"
            )]
        );
    }

    #[test]
    fn latency_p95_is_nearest_rank_and_ignores_unknown_values() {
        // 20 values: p95 is rank 19, so one spike in 20 samples is forgiven, two are not.
        let mut c = part(20, &[(Metric::VideoLatency, 100.0)]);
        c.metrics[0].1[7] = 900.0;
        assert_eq!(
            score_part(DeviceType::Remote, &c, &QualityConfig::default()).grade,
            Grade::Good
        );
        c.metrics[0].1[8] = 200.0;
        assert_eq!(
            score_part(DeviceType::Remote, &c, &QualityConfig::default()).grade,
            Grade::Normal
        );
        // -1 and 0 are unknown: only the three 300 ms values count (p95 of them is 300).
        let c = Columns {
            time_offset: (0..10).map(|i| 2 * i).collect(),
            metrics: vec![(
                Metric::NetworkLatency,
                vec![-1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 450.0, 450.0, 450.0],
            )],
            nets: Vec::new(),
        };
        assert_eq!(
            score_part(DeviceType::Field, &c, &QualityConfig::default()).grade,
            Grade::Bad
        );
        // Fewer than min_samples known values: not scored.
        let mut c = c;
        c.metrics[0].1[7] = -1.0;
        assert_eq!(
            score_part(DeviceType::Field, &c, &QualityConfig::default()),
            Assessment::good()
        );
    }

    #[test]
    fn percentile_nearest_rank() {
        let v = |n: usize| (1..=n).map(|i| i as f64).collect::<Vec<_>>();
        assert_eq!(percentile(v(20), 95.0, 1), Some(19.0));
        assert_eq!(percentile(v(100), 95.0, 1), Some(95.0));
        assert_eq!(percentile(v(28), 95.0, 1), Some(27.0));
        assert_eq!(percentile(v(1), 95.0, 1), Some(1.0));
        assert_eq!(percentile(v(10), 50.0, 1), Some(5.0));
        assert_eq!(percentile(v(10), 100.0, 1), Some(10.0));
        assert_eq!(percentile(vec![3.0, 1.0, 2.0], 50.0, 1), Some(2.0));
        assert_eq!(percentile(v(2), 95.0, 3), None);
    }

    #[test]
    fn loss_thresholds() {
        let g = |v| grade_of(&[(Metric::Lost, v)]);
        assert_eq!(g(4.99), Grade::Good);
        assert_eq!(g(5.0), Grade::Good);
        assert_eq!(g(5.01), Grade::Normal);
        assert_eq!(g(20.0), Grade::Normal);
        assert_eq!(g(20.01), Grade::Bad);
        let a = score_part(
            DeviceType::Field,
            &part(10, &[(Metric::Lost, 6.2)]),
            &QualityConfig::default(),
        );
        assert_eq!(
            a.reasons,
            vec![reason(
                "field",
                Grade::Normal,
                "Lost",
                "field packet loss 6.2% on average"
            )]
        );
    }

    #[test]
    fn frame_rate_floors() {
        let g = |v| grade_of(&[(Metric::Fps, v)]);
        assert_eq!(g(30.0), Grade::Good);
        assert_eq!(g(15.0), Grade::Good);
        assert_eq!(g(14.9), Grade::Normal);
        assert_eq!(g(10.0), Grade::Normal);
        assert_eq!(g(9.9), Grade::Bad);
        let a = score_part(
            DeviceType::Remote,
            &part(10, &[(Metric::Fps, 9.0)]),
            &QualityConfig::default(),
        );
        assert_eq!(
            a.reasons,
            vec![reason(
                "remote",
                Grade::Bad,
                "Fps",
                "remote frame rate median 9 fps"
            )]
        );
    }

    #[test]
    fn frame_rate_ignores_the_ramp_up_and_voice_sessions() {
        let mut c = part(6, &[(Metric::Fps, 20.0)]);
        c.metrics[0].1[..3].copy_from_slice(&[0.0, 0.0, 0.0]);
        // Without t = 0 and 2: [0, 20, 20, 20], median 20.
        assert_eq!(
            score_part(DeviceType::Field, &c, &QualityConfig::default()),
            Assessment::good()
        );
        // Counting the ramp-up: [0, 0, 0, 20, 20, 20], median (rank 3) 0.
        let cfg = QualityConfig {
            fps_warmup_s: 0,
            ..QualityConfig::default()
        };
        assert_eq!(score_part(DeviceType::Field, &c, &cfg).grade, Grade::Bad);
        // A part that never had a frame has no video: the frame rate is not scored.
        assert_eq!(grade_of(&[(Metric::Fps, 0.0)]), Grade::Good);
    }

    #[test]
    fn single_link_is_graded_in_full() {
        let cfg = QualityConfig::default();
        let g = |rtt, lost| {
            let mut c = part(10, &[]);
            c.nets = vec![net(0, 10, rtt, lost)];
            score_part(DeviceType::Field, &c, &cfg)
        };
        assert_eq!(g(150.0, 0.0).grade, Grade::Good);
        assert_eq!(g(151.0, 0.0).grade, Grade::Normal);
        assert_eq!(g(400.0, 0.0).grade, Grade::Normal);
        assert_eq!(g(401.0, 0.0).grade, Grade::Bad);
        assert_eq!(g(60.0, 5.0).grade, Grade::Good);
        assert_eq!(g(60.0, 6.0).grade, Grade::Normal);
        assert_eq!(g(60.0, 20.0).grade, Grade::Normal);
        assert_eq!(g(60.0, 21.0).grade, Grade::Bad);
        assert_eq!(
            g(401.0, 21.0).reasons,
            vec![
                reason(
                    "field",
                    Grade::Bad,
                    "MultiNet.Rtt",
                    "field RTT p95 401 ms on NIC 0"
                ),
                reason(
                    "field",
                    Grade::Bad,
                    "MultiNet.Lost",
                    "field packet loss 21.0% on NIC 0"
                ),
            ]
        );
    }

    #[test]
    fn a_bad_bonded_link_beside_a_usable_one_is_at_most_normal() {
        let cfg = QualityConfig::default();
        let with = |nets: Vec<NetColumns>, cfg: &QualityConfig| {
            let mut c = part(10, &[]);
            c.nets = nets;
            score_part(DeviceType::Field, &c, cfg)
        };
        let a = with(vec![net(0, 10, 60.0, 0.0), net(1, 10, 500.0, 30.0)], &cfg);
        assert_eq!(a.grade, Grade::Normal);
        assert_eq!(
            a.reasons,
            vec![
                reason(
                    "field",
                    Grade::Normal,
                    "MultiNet.Rtt",
                    "field RTT p95 500 ms on NIC 1 (bonded: NIC 0 usable)"
                ),
                reason(
                    "field",
                    Grade::Normal,
                    "MultiNet.Lost",
                    "field packet loss 30.0% on NIC 1 (bonded: NIC 0 usable)"
                ),
            ]
        );
        // A normal link still carries the stream.
        assert_eq!(
            with(vec![net(0, 10, 200.0, 0.0), net(1, 10, 500.0, 0.0)], &cfg).grade,
            Grade::Normal
        );
        // Both bad: nothing to fall back on.
        assert_eq!(
            with(vec![net(0, 10, 450.0, 0.0), net(1, 10, 500.0, 0.0)], &cfg).grade,
            Grade::Bad
        );
        // A link whose RTT was never measured is not known to be usable.
        assert_eq!(
            with(vec![net(0, 10, 0.0, 0.0), net(1, 10, 500.0, 0.0)], &cfg).grade,
            Grade::Bad
        );
        // The cap is configurable.
        let uncapped = QualityConfig {
            bonded_link_cap: false,
            ..QualityConfig::default()
        };
        assert_eq!(
            with(
                vec![net(0, 10, 60.0, 0.0), net(1, 10, 500.0, 0.0)],
                &uncapped
            )
            .grade,
            Grade::Bad
        );
        // The cap concerns links only: a bad part-level metric stays bad.
        let mut c = part(10, &[(Metric::NetworkLatency, 500.0)]);
        c.nets = vec![net(0, 10, 60.0, 0.0), net(1, 10, 500.0, 0.0)];
        assert_eq!(score_part(DeviceType::Field, &c, &cfg).grade, Grade::Bad);
    }

    #[test]
    fn too_few_samples_is_good_with_no_reasons() {
        let cfg = QualityConfig::default();
        assert_eq!(
            score_part(DeviceType::Remote, &Columns::default(), &cfg),
            Assessment::good()
        );
        let terrible = [
            (Metric::VideoLatency, 900.0),
            (Metric::Lag150Duration, 2000.0),
            (Metric::Fps, 1.0),
        ];
        assert_eq!(
            score_part(DeviceType::Remote, &part(2, &terrible), &cfg),
            Assessment::good()
        );
        assert_eq!(
            score_part(DeviceType::Remote, &part(3, &terrible), &cfg).grade,
            Grade::Bad
        );
        let lenient = QualityConfig {
            min_samples: 4,
            ..QualityConfig::default()
        };
        assert_eq!(
            score_part(DeviceType::Remote, &part(3, &terrible), &lenient),
            Assessment::good()
        );
    }

    #[test]
    fn reasons_are_worst_first_in_criterion_order() {
        let c = part(
            10,
            &[
                (Metric::Fps, 12.0),
                (Metric::VideoLatency, 180.0),
                (Metric::Lost, 25.0),
                (Metric::Lag150Duration, 100.0),
            ],
        );
        let a = score_part(DeviceType::Remote, &c, &QualityConfig::default());
        assert_eq!(a.grade, Grade::Bad);
        let order: Vec<(&str, Grade)> = a
            .reasons
            .iter()
            .map(|r| (r.metric.as_str(), r.grade))
            .collect();
        assert_eq!(
            order,
            vec![
                ("Lag150Duration", Grade::Bad),
                ("Lost", Grade::Bad),
                ("VideoLatency", Grade::Normal),
                ("Fps", Grade::Normal),
            ]
        );
    }

    #[test]
    fn every_criterion_names_a_listed_reason_metric() {
        // Every criterion crossed at once, with Lag150Duration and then with K150 for stalls.
        let terrible = |stall: Metric| {
            let mut c = part(
                10,
                &[
                    (stall, 900.0),
                    (Metric::VideoLatency, 900.0),
                    (Metric::ControlLatency, 900.0),
                    (Metric::NetworkLatency, 900.0),
                    (Metric::Lost, 90.0),
                    (Metric::Fps, 1.0),
                ],
            );
            c.nets = vec![net(0, 10, 900.0, 90.0)];
            score_part(DeviceType::Field, &c, &QualityConfig::default())
        };
        let mut metrics: Vec<String> = [Metric::Lag150Duration, Metric::K150]
            .into_iter()
            .flat_map(|m| terrible(m).reasons)
            .map(|r| r.metric)
            .collect();
        metrics.dedup();
        let mut listed: Vec<&str> = crate::model::quality::REASON_METRICS.to_vec();
        listed.sort();
        let mut given: Vec<&str> = metrics.iter().map(String::as_str).collect();
        given.sort();
        given.dedup();
        assert_eq!(given, listed);
        let stored = serde_json::to_string(&terrible(Metric::K150).reasons).unwrap();
        assert_eq!(
            crate::model::quality::parse_reasons(&stored),
            terrible(Metric::K150).reasons
        );
        assert_eq!(crate::model::quality::parse_reasons("not json"), Vec::new());
    }

    #[test]
    fn deterministic_whatever_the_order_of_columns() {
        let cfg = QualityConfig::default();
        for (device_type, columns) in seed_parts() {
            let mut columns = columns;
            columns.nets.push(net(7, columns.len(), 700.0, 0.0));
            let first = score_part(device_type, &columns, &cfg);
            assert_eq!(score_part(device_type, &columns, &cfg), first);
            let mut shuffled = columns.clone();
            shuffled.metrics.reverse();
            shuffled.metrics.rotate_left(3);
            shuffled.nets.reverse();
            assert_eq!(score_part(device_type, &shuffled, &cfg), first);
        }
    }

    #[test]
    fn session_takes_the_worst_part() {
        let cfg = QualityConfig::default();
        let good = score_part(
            DeviceType::Field,
            &part(10, &[(Metric::VideoLatency, 80.0)]),
            &cfg,
        );
        let normal = score_part(DeviceType::Field, &part(10, &[(Metric::Lost, 6.0)]), &cfg);
        let bad = score_part(
            DeviceType::Remote,
            &part(10, &[(Metric::VideoLatency, 300.0)]),
            &cfg,
        );
        assert_eq!(score_session(&[]), Assessment::good());
        assert_eq!(
            score_session(std::slice::from_ref(&good)),
            Assessment::good()
        );
        let s = score_session(&[good.clone(), normal.clone(), bad.clone()]);
        assert_eq!(s.grade, Grade::Bad);
        let texts: Vec<&str> = s.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "remote video latency p95 300 ms",
                "field packet loss 6.0% on average"
            ]
        );
        // The order of the parts does not matter.
        assert_eq!(score_session(&[bad, normal.clone(), good.clone()]), s);
        assert_eq!(score_session(&[normal.clone(), good]).grade, Grade::Normal);
        // Same grade: field before remote.
        let remote_normal = score_part(DeviceType::Remote, &part(10, &[(Metric::Lost, 7.0)]), &cfg);
        let s = score_session(&[remote_normal, normal]);
        let devices: Vec<&str> = s.reasons.iter().map(|r| r.device_type.as_str()).collect();
        assert_eq!(devices, vec!["field", "remote"]);
    }

    #[test]
    fn config_overrides_change_the_outcome() {
        let c = part(10, &[(Metric::VideoLatency, 120.0), (Metric::Fps, 20.0)]);
        assert_eq!(
            score_part(DeviceType::Remote, &c, &QualityConfig::default()).grade,
            Grade::Good
        );
        let lan = QualityConfig {
            video_latency_normal_ms: 100.0,
            ..QualityConfig::default()
        };
        assert_eq!(
            score_part(DeviceType::Remote, &c, &lan).grade,
            Grade::Normal
        );
        let strict_fps = QualityConfig {
            fps_normal_below: 25.0,
            fps_bad_below: 22.0,
            ..QualityConfig::default()
        };
        assert_eq!(
            score_part(DeviceType::Remote, &c, &strict_fps).grade,
            Grade::Bad
        );
        let p50 = QualityConfig {
            latency_percentile: 50.0,
            ..lan.clone()
        };
        let mut spiky = part(10, &[(Metric::VideoLatency, 90.0)]);
        spiky.metrics[0].1[..4].copy_from_slice(&[400.0; 4]);
        assert_eq!(
            score_part(DeviceType::Remote, &spiky, &lan).grade,
            Grade::Bad
        );
        assert_eq!(
            score_part(DeviceType::Remote, &spiky, &p50).grade,
            Grade::Good
        );
        assert_eq!(
            score_part(
                DeviceType::Remote,
                &spiky,
                &QualityConfig {
                    latency_percentile: 99.9,
                    ..lan
                }
            )
            .reasons[0]
                .text,
            "remote video latency p99.9 400 ms"
        );
    }

    #[test]
    fn config_from_a_toml_table() {
        #[derive(Deserialize)]
        struct File {
            quality: QualityConfig,
        }
        let file: File = toml::from_str(
            "[quality]\nvideo_latency_normal_ms = 100\nstall_bad_pct = 2.5\nbonded_link_cap = false\n",
        )
        .unwrap();
        let expected = QualityConfig {
            video_latency_normal_ms: 100.0,
            stall_bad_pct: 2.5,
            bonded_link_cap: false,
            ..QualityConfig::default()
        };
        assert_eq!(file.quality, expected);
        assert_eq!(
            toml::from_str::<QualityConfig>("").unwrap(),
            QualityConfig::default()
        );
        assert!(toml::from_str::<QualityConfig>("video_latency_normal = 100").is_err());
        // Switching a criterion off.
        let off: QualityConfig =
            toml::from_str("loss_normal_pct = inf\nloss_bad_pct = inf").unwrap();
        assert_eq!(
            score_part(DeviceType::Field, &part(10, &[(Metric::Lost, 90.0)]), &off),
            Assessment::good()
        );
        assert_eq!(off.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_inconsistent_thresholds() {
        assert_eq!(QualityConfig::default().validate(), Ok(()));
        let bad = |c: QualityConfig| c.validate().is_err();
        assert!(bad(QualityConfig {
            video_latency_normal_ms: 300.0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            fps_bad_below: 20.0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            latency_percentile: 0.0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            latency_percentile: 101.0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            sample_interval_s: 0.0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            min_samples: 0,
            ..QualityConfig::default()
        }));
        assert!(bad(QualityConfig {
            stall_bad_pct: f64::NAN,
            ..QualityConfig::default()
        }));
    }

    #[test]
    fn grades_order_and_spell_like_the_vendor() {
        assert!(Grade::Good < Grade::Normal && Grade::Normal < Grade::Bad);
        assert_eq!(Grade::Good.max(Grade::Bad), Grade::Bad);
        for g in [Grade::Good, Grade::Normal, Grade::Bad] {
            assert_eq!(Grade::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{g}\""));
        }
        let r = reason(
            "remote",
            Grade::Normal,
            "K150",
            "remote stalled 1.5% of the time",
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["grade"], "normal");
        assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), r);
    }

    #[test]
    fn not_bad_session_ratio_counts_good_and_normal() {
        assert_eq!(not_bad_session_ratio(&[]), 0);
        assert_eq!(
            not_bad_session_ratio(&[Grade::Good, Grade::Normal, Grade::Bad]),
            66
        );
        assert_eq!(not_bad_session_ratio(&[Grade::Normal; 4]), 100);
        let mut many = vec![Grade::Good; 199];
        many.push(Grade::Bad);
        assert_eq!(not_bad_session_ratio(&many), 99);
    }
}
