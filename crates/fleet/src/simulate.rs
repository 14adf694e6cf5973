//! `teleoscope simulate`: a fleet of field/remote device pairs reporting realistic sessions through the
//! device API (docs/api.md §4, §7), over HTTP, TC3-signed with device credentials, exactly as a device
//! integration would. `teleoscope demo` runs the same simulator in process against its own listener.
//!
//! - Devices: `sim_field_<i>` and `sim_remote_<i>` (i from 1) are created in the project with
//!   `CreateDevice`; ones that already exist (a re-run) get a fresh token with `ModifyDevice`. Or the
//!   caller hands over registered devices with known tokens (`SimConfig::devices`).
//! - One tokio task per pair. Each device says `ReportDeviceStatus ready`, then the pair runs sessions
//!   one after another with short gaps. Both devices report every `interval` seconds of real time
//!   (`batch` samples per report; the first sample of a device's part goes out at once, so a session
//!   is visible as soon as it starts). The last report of a session carries `"Final": true`; a stop
//!   (the duration is over, or the caller's stop signal) ends open sessions that way, then the
//!   devices say `offline`.
//! - Samples follow the golden example (`fixtures/describe-device-session-details.json`): the field
//!   device with two bonded links, bitrate ramp-up, `NetworkLatency` -1 at first, `FrameDelta` about
//!   1000/fps; the remote device with `VideoLatency`, `K100`/`K150` and
//!   `Lag100Duration`/`Lag150Duration` stalls. One session in ten
//!   ([`BAD_SESSION_RATE`]) is bad (video latency 250-400 ms and/or stalls over 3 % of the time); one in
//!   eight ([`LINK_FAILURE_RATE`]) loses link 1 mid-session (the link stays in the samples, so the
//!   metric set never changes within a session, as the server requires).
//! - Deterministic for a seed: a pair's session plans and sample values come from a SplitMix64 stream
//!   seeded from `seed` and the pair's index. Session ids are fresh UUIDs (plus `-<n>`) so that a re-run
//!   never collides with earlier sessions; timing is real time.
//! - Every API error is printed with its code and message and counted in the summary. Network errors,
//!   `RequestLimitExceeded` and `InternalError` are retried with bounded exponential backoff; samples of
//!   a report that could not be delivered stay buffered and go out with the next report (the server
//!   counts the ones it already had as duplicates).

use crate::client::{ApiError, Credentials, Endpoint, Pool, Timeouts};
use crate::rng::Rng;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teleoscope_protocol::wire::{
    DescribeDeviceListResponse, Float, NetSample, ReportSessionMetricsRequest,
    ReportSessionMetricsResponse, Sample,
};
use teleoscope_server::domain::ids;
use tokio::sync::watch;
use tokio::time::Instant;

/// Share of sessions planned bad (high video latency and/or stalls).
pub const BAD_SESSION_RATE: f64 = 0.10;
/// Share of sessions in which link 1 of the field device fails mid-session.
pub const LINK_FAILURE_RATE: f64 = 0.125;

const SDK_VER: &str = "2.4";
const SDK_MODE: &str = "server2";
/// How long one attempt may take.
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    call: Duration::from_secs(10),
};
/// Attempts per call (the first one included) on network errors and transient API errors.
const MAX_ATTEMPTS: u32 = 5;
/// Samples a device keeps while the server cannot be reached; older ones are dropped.
const MAX_PENDING: usize = 900;
/// Pause between control-plane calls while provisioning devices.
const PROVISION_SPACING: Duration = Duration::from_millis(25);
/// A device idle for this long sends a `ready` heartbeat (the server's default timeout is 30 s).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Configuration and summary
// ---------------------------------------------------------------------------------------------

/// A registered field/remote pair with known device tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimPair {
    pub field_id: String,
    pub field_token: String,
    pub remote_id: String,
    pub remote_token: String,
}

/// What the simulator does.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `http://host:port` of the server (the Host header, and what is signed, is `host:port`).
    pub endpoint: String,
    /// The account key, for the control-plane calls that provision devices.
    pub secret_id: String,
    pub secret_key: String,
    pub project_id: String,
    /// Pairs to create as `sim_field_<i>`/`sim_remote_<i>`; ignored when `devices` is set.
    pub pairs: usize,
    /// Use these registered devices instead of provisioning `sim_` ones.
    pub devices: Option<Vec<SimPair>>,
    /// Stop after this long; `None` runs until the stop signal.
    pub duration: Option<Duration>,
    pub seed: u64,
    /// Seconds between samples (`TimeOffset` steps), at least 1.
    pub interval_s: u64,
    /// Samples per report, at least 1.
    pub batch: usize,
    /// Session lengths and gaps; `None` derives them from `duration` ([`SessionLengths::for_run`]).
    pub lengths: Option<SessionLengths>,
    /// Print a line when a session starts and ends (errors are always printed).
    pub verbose: bool,
}

impl SimConfig {
    /// A configuration with the defaults of the command line.
    pub fn new(endpoint: &str, secret_id: &str, secret_key: &str, project_id: &str) -> SimConfig {
        SimConfig {
            endpoint: endpoint.to_owned(),
            secret_id: secret_id.to_owned(),
            secret_key: secret_key.to_owned(),
            project_id: project_id.to_owned(),
            pairs: 2,
            devices: None,
            duration: None,
            seed: 1,
            interval_s: 2,
            batch: 1,
            lengths: None,
            verbose: false,
        }
    }
}

/// Session lengths and the gaps between sessions, seconds (uniform in `[min, max]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLengths {
    pub min_s: u64,
    pub max_s: u64,
    pub gap_min_s: u64,
    pub gap_max_s: u64,
}

impl SessionLengths {
    /// 30 s to 10 min with 3-15 s gaps; a short run scales them down so that it still sees several
    /// sessions start and end (a 6 s run with 1 s samples: sessions of 2-3 s, 1 s gaps).
    pub fn for_run(duration: Option<Duration>, interval_s: u64) -> SessionLengths {
        let i = interval_s.max(1);
        match duration {
            None => SessionLengths {
                min_s: 30,
                max_s: 600,
                gap_min_s: 3,
                gap_max_s: 15,
            },
            Some(d) => {
                let d = d.as_secs();
                let max_s = (d / 2).clamp(3 * i, 600);
                let min_s = (d / 20).clamp(2 * i, 30).min(max_s);
                SessionLengths {
                    min_s,
                    max_s,
                    gap_min_s: 1,
                    gap_max_s: (d / 20).clamp(1, 15),
                }
            }
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimSummary {
    pub pairs: usize,
    pub seed: u64,
    pub elapsed: Duration,
    /// Sessions whose first report went out.
    pub sessions_started: u64,
    /// Sessions whose `Final` reports both devices had acknowledged.
    pub sessions_ended: u64,
    /// Sessions planned bad / with a link failure, among those started.
    pub sessions_planned_bad: u64,
    pub sessions_with_link_failure: u64,
    /// `ReportSessionMetrics` calls answered (successfully or not), and `ReportDeviceStatus` ones.
    pub metric_reports: u64,
    pub status_reports: u64,
    /// Attempts repeated after a network error or a transient API error.
    pub retries: u64,
    /// Distinct samples generated (a resent sample counts once).
    pub samples_generated: u64,
    pub samples_accepted: u64,
    pub samples_duplicates: u64,
    /// Samples of reports the server refused with an error (it stores nothing of such a report).
    pub samples_rejected: u64,
    /// Samples given up on without an answer (server unreachable).
    pub samples_dropped: u64,
    pub devices_created: u64,
    pub devices_rekeyed: u64,
    /// API error codes (and `NetworkError` for calls given up after retries), with counts.
    pub errors: BTreeMap<String, u64>,
}

impl SimSummary {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

impl fmt::Display for SimSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "simulated {} pair(s) for {:.1} s (seed {})",
            self.pairs,
            self.elapsed.as_secs_f64(),
            self.seed
        )?;
        if self.devices_created + self.devices_rekeyed > 0 {
            writeln!(
                f,
                "  devices   {} created, {} given a fresh token",
                self.devices_created, self.devices_rekeyed
            )?;
        }
        writeln!(
            f,
            "  sessions  {} started, {} ended ({} planned bad, {} with a link failure)",
            self.sessions_started,
            self.sessions_ended,
            self.sessions_planned_bad,
            self.sessions_with_link_failure
        )?;
        writeln!(
            f,
            "  reports   {} metric reports, {} status reports, {} retries",
            self.metric_reports, self.status_reports, self.retries
        )?;
        writeln!(
            f,
            "  samples   {} generated, {} accepted, {} duplicates, {} rejected, {} dropped",
            self.samples_generated,
            self.samples_accepted,
            self.samples_duplicates,
            self.samples_rejected,
            self.samples_dropped
        )?;
        if self.errors.is_empty() {
            write!(f, "  errors    none")
        } else {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            write!(
                f,
                "  errors    {} ({})",
                self.error_count(),
                list.join(", ")
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sample generator (pure)
// ---------------------------------------------------------------------------------------------

/// Two decimals, as devices report CPU, memory, loss and stutter rates.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn float2(x: f64) -> Option<Float> {
    Some(Float(round2(x)))
}

fn int(x: f64) -> Option<i64> {
    Some(x.round() as i64)
}

/// One step of a mean-reverting random walk.
fn walk(rng: &mut Rng, x: f64, base: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    (x + 0.2 * (base - x) + sigma * rng.normal()).clamp(lo, hi)
}

/// What stays the same for a pair across its sessions: hardware, video configuration, links.
#[derive(Debug, Clone, PartialEq)]
pub struct PairProfile {
    pub width: i64,
    pub height: i64,
    pub config_width: i64,
    pub config_height: i64,
    /// Video bitrate the encoder settles at, kbps, and the congestion controller's cap.
    pub rate_target: f64,
    pub bwe_cap: f64,
    pub field_cpu: f64,
    pub field_mem: f64,
    pub remote_cpu: f64,
    pub remote_mem: f64,
    /// Private addresses of the field device's two NICs.
    pub net_ips: [String; 2],
    pub link_rtt: [f64; 2],
    pub field_latency: f64,
    pub remote_latency: f64,
}

impl PairProfile {
    pub fn new(rng: &mut Rng, index: usize) -> PairProfile {
        // (width, height, config width, config height), (bitrate range, congestion-control cap)
        type Video = ([i64; 4], [f64; 3]);
        let videos: [Video; 4] = [
            ([1280, 720, 1280, 720], [600.0, 1200.0, 2000.0]),
            ([1280, 720, 1920, 1536], [600.0, 1400.0, 2000.0]),
            ([1280, 720, 1920, 1080], [900.0, 1800.0, 3000.0]),
            ([1920, 1080, 1920, 1080], [1800.0, 3500.0, 4000.0]),
        ];
        let ([width, height, config_width, config_height], [rate_lo, rate_hi, bwe_cap]) =
            videos[rng.int(0, videos.len() as i64 - 1) as usize];
        let subnet = 10 + (index % 100) as i64 * 2;
        PairProfile {
            width,
            height,
            config_width,
            config_height,
            rate_target: rng.range(rate_lo, rate_hi),
            bwe_cap,
            field_cpu: rng.range(20.0, 55.0),
            field_mem: rng.range(40.0, 80.0),
            remote_cpu: rng.range(8.0, 30.0),
            remote_mem: rng.range(30.0, 60.0),
            net_ips: [
                format!("192.168.{}.2", subnet + 1),
                format!("192.168.{subnet}.2"),
            ],
            link_rtt: [rng.range(45.0, 80.0), rng.range(85.0, 130.0)],
            field_latency: rng.range(60.0, 100.0),
            remote_latency: rng.range(4.0, 20.0),
        }
    }
}

/// Why a session is planned bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadKind {
    /// Remote video latency 250-400 ms throughout.
    VideoLatency,
    /// The remote stalls (frame interval over 150 ms) well over 3 % of the time.
    Stalls,
    Both,
}

impl BadKind {
    fn high_latency(self) -> bool {
        matches!(self, BadKind::VideoLatency | BadKind::Both)
    }
    fn stalls(self) -> bool {
        matches!(self, BadKind::Stalls | BadKind::Both)
    }
    pub fn describe(self) -> &'static str {
        match self {
            BadKind::VideoLatency => "high video latency",
            BadKind::Stalls => "stalls",
            BadKind::Both => "high video latency and stalls",
        }
    }
}

/// How one session will go.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPlan {
    /// The field device's samples are at ticks `0..=ticks` (`TimeOffset` = tick × interval).
    pub ticks: u32,
    /// The remote device joins at this tick (its `StartTime` that much later).
    pub remote_join: u32,
    pub bad: Option<BadKind>,
    /// The tick from which link 1 is down.
    pub link_failure_at: Option<u32>,
    pub fps_target: f64,
    /// Ticks of the remote part (counted from its join) with a long stall.
    pub stall_ticks: Vec<u32>,
    pub video_latency_base: f64,
    pub total_bitrate_factor: f64,
    /// Share of the video the primary link carries.
    pub link0_share: f64,
}

/// Generates one session's samples, tick by tick, for both devices.
#[derive(Debug, Clone)]
pub struct SessionGen {
    pub plan: SessionPlan,
    interval_s: u64,
    profile: PairProfile,
    rng: Rng,
    field_latency: f64,
    remote_latency: f64,
    video_latency: f64,
    rtt: [f64; 2],
    cpu: [f64; 2],
    mem: [f64; 2],
    lag100_total: f64,
    lag150_total: f64,
    /// This tick's field frame rate and video bitrate, which the remote receives.
    field_fps: f64,
    field_rate: f64,
}

impl SessionGen {
    /// Plans a session with a stream forked from `rng`.
    pub fn new(
        profile: &PairProfile,
        rng: &mut Rng,
        lengths: &SessionLengths,
        interval_s: u64,
    ) -> SessionGen {
        let interval_s = interval_s.max(1);
        let mut rng = rng.fork();
        let len = rng.int(
            lengths.min_s as i64,
            lengths.max_s.max(lengths.min_s) as i64,
        ) as u64;
        let ticks = ((len / interval_s) as u32).max(2);
        let remote_join = if ticks >= 10 && rng.chance(0.5) { 1 } else { 0 };
        let bad = rng.chance(BAD_SESSION_RATE).then(|| match rng.int(0, 2) {
            0 => BadKind::VideoLatency,
            1 => BadKind::Stalls,
            _ => BadKind::Both,
        });
        let link_failure_at = rng
            .chance(LINK_FAILURE_RATE)
            .then(|| (rng.int(ticks as i64 / 4, 3 * ticks as i64 / 4) as u32).max(1));
        let remote_ticks = ticks - remote_join;
        let stall_ticks = if bad.is_some_and(BadKind::stalls) {
            let share = rng.range(0.2, 0.35);
            let count = ((remote_ticks as f64 * share).round() as usize).max(1);
            let mut candidates: Vec<u32> = (1..=remote_ticks).collect();
            for i in 0..count.min(candidates.len()) {
                let j = rng.int(i as i64, candidates.len() as i64 - 1) as usize;
                candidates.swap(i, j);
            }
            candidates.truncate(count);
            candidates.sort_unstable();
            candidates
        } else {
            Vec::new()
        };
        let fps_targets = [19.0, 20.0, 24.0, 25.0, 30.0];
        let fps_target = fps_targets[rng.int(0, fps_targets.len() as i64 - 1) as usize];
        let video_latency_base = if bad.is_some_and(BadKind::high_latency) {
            rng.range(290.0, 360.0)
        } else {
            rng.range(55.0, 100.0)
        };
        let plan = SessionPlan {
            ticks,
            remote_join,
            bad,
            link_failure_at,
            fps_target,
            stall_ticks,
            video_latency_base,
            total_bitrate_factor: rng.range(2.6, 3.2),
            link0_share: rng.range(0.85, 0.97),
        };
        SessionGen {
            field_latency: profile.field_latency,
            remote_latency: profile.remote_latency,
            video_latency: plan.video_latency_base,
            rtt: profile.link_rtt,
            cpu: [
                profile.field_cpu + rng.range(-2.0, 2.0),
                profile.remote_cpu + rng.range(-1.0, 1.0),
            ],
            mem: [
                profile.field_mem + rng.range(-1.0, 1.0),
                profile.remote_mem + rng.range(-1.0, 1.0),
            ],
            lag100_total: 0.0,
            lag150_total: 0.0,
            field_fps: 0.0,
            field_rate: 0.0,
            plan,
            interval_s,
            profile: profile.clone(),
            rng,
        }
    }

    /// The samples of tick `k` (0..=ticks, in order): the field device's, and the remote device's
    /// once it has joined.
    pub fn next(&mut self, k: u32) -> (Sample, Option<Sample>) {
        let field = self.field_sample(k);
        let remote =
            (k >= self.plan.remote_join).then(|| self.remote_sample(k - self.plan.remote_join));
        (field, remote)
    }

    /// CPU or memory: mostly unchanged from one sample to the next, sometimes a small step.
    fn drift(&mut self, x: f64, step: f64, lo: f64, hi: f64) -> f64 {
        if self.rng.chance(0.25) {
            round2((x + self.rng.range(-step, step)).clamp(lo, hi))
        } else {
            x
        }
    }

    fn field_sample(&mut self, k: u32) -> Sample {
        let i = self.interval_s as f64;
        let t = k as f64 * i;
        let first = k == 0;
        let failed = self.plan.link_failure_at.is_some_and(|f| k >= f);
        let p = &self.profile;
        let (rate_target, bwe_cap, field_latency_base, link_rtt) =
            (p.rate_target, p.bwe_cap, p.field_latency, p.link_rtt);
        let rng = &mut self.rng;

        // The encoder starts after a few seconds, then the bitrate ramps up over ~12 s.
        let fps = if t < 3.0 {
            0.0
        } else {
            let base = self.plan.fps_target * if t < 5.0 { 0.8 } else { 1.0 };
            let mut f = base + 0.8 * rng.normal();
            if rng.chance(0.03) {
                f *= rng.range(0.5, 0.85);
            }
            f.max(0.0).round()
        };
        let rate = if fps == 0.0 {
            0.0
        } else {
            (rate_target * (t / 12.0).min(1.0) * (1.0 + 0.12 * rng.normal()))
                .max(0.0)
                .round()
        };
        self.field_fps = fps;
        self.field_rate = rate;
        let bwe = if first {
            0.0
        } else {
            let ramp = (0.45 + 0.05 * t).min(1.0);
            let noise = if ramp < 1.0 {
                1.0 - 0.1 * rng.normal().abs()
            } else if rng.chance(0.1) {
                rng.range(0.9, 0.99)
            } else {
                1.0
            };
            (bwe_cap * ramp * noise).round()
        };
        let total_bwe = if first {
            0.0
        } else {
            bwe * self.plan.total_bitrate_factor * (1.0 + 0.04 * rng.normal())
        };
        let network_latency = if first {
            -1.0
        } else {
            let base = field_latency_base + if failed { 15.0 } else { 0.0 };
            self.field_latency = walk(rng, self.field_latency, base, 6.0, 30.0, 180.0);
            if rng.chance(0.03) {
                rng.range(200.0, 390.0)
            } else {
                self.field_latency
            }
        };
        let lost = if first {
            0.0
        } else if failed && rng.chance(0.3) {
            rng.range(0.5, 4.0)
        } else if rng.chance(0.05) {
            rng.range(0.1, 2.5)
        } else {
            0.0
        };
        let encode = if fps == 0.0 {
            0.0
        } else if rng.chance(0.15) {
            rng.range(15.0, 28.0)
        } else {
            rng.range(7.0, 14.0)
        };
        let capture = if !first && rng.chance(0.1) {
            rng.int(1, 3) as f64
        } else {
            0.0
        };
        let frame_delta = if first {
            0.0
        } else {
            let f = if fps > 0.0 { fps } else { self.plan.fps_target };
            (1000.0 / f + 0.6 * rng.normal()).round().max(1.0)
        };
        let max_frame_delta = if first {
            0.0
        } else {
            let spike = if rng.chance(0.05) {
                rng.range(30.0, 90.0)
            } else {
                0.0
            };
            frame_delta + rng.range(8.0, 30.0) + spike
        };
        let mut nack = if round2(lost) > 0.0 {
            (lost * rng.range(3.0, 12.0)).round()
        } else {
            0.0
        };
        if failed {
            nack += rng.int(5, 40) as f64;
        }

        let mut nets = Vec::with_capacity(2);
        for (l, base) in link_rtt.into_iter().enumerate() {
            let down = l == 1 && failed;
            let rtt = if first {
                0.0
            } else if down {
                rng.range(500.0, 1500.0)
            } else {
                self.rtt[l] = walk(rng, self.rtt[l], base, 3.0, base * 0.7, base * 2.0);
                if rng.chance(0.03) {
                    (self.rtt[l] * rng.range(1.8, 2.5)).min(380.0)
                } else {
                    self.rtt[l]
                }
            };
            let link_lost = if first {
                0
            } else if down {
                rng.int(30, 100)
            } else if rng.chance(0.03) {
                rng.int(1, 2)
            } else {
                0
            };
            let send = if first {
                0.0
            } else if down {
                rng.int(0, 5) as f64
            } else if l == 0 {
                let share = if failed { 1.0 } else { self.plan.link0_share };
                if rate == 0.0 {
                    rng.range(30.0, 120.0)
                } else {
                    (rate * share + 30.0 * rng.normal()).max(0.0)
                }
            } else if rng.chance(0.05) {
                rng.range(300.0, 800.0)
            } else {
                rng.range(28.0, 40.0)
            };
            let recv = if first {
                0.0
            } else if down {
                rng.int(0, 3) as f64
            } else {
                let r = if l == 0 {
                    rng.range(21.0, 28.0)
                } else {
                    rng.range(30.0, 38.0)
                };
                if rng.chance(0.05) {
                    r * 2.0
                } else {
                    r
                }
            };
            nets.push(NetSample {
                NetId: l as i64,
                NetIp: Some(self.profile.net_ips[l].clone()),
                Rtt: int(rtt),
                Lost: Some(link_lost),
                SendBps: int(send),
                RecvBps: int(recv),
            });
        }

        self.cpu[0] = self.drift(self.cpu[0], 0.6, 3.0, 95.0);
        self.mem[0] = self.drift(self.mem[0], 0.3, 10.0, 95.0);
        Sample {
            TimeOffset: (k as u64 * self.interval_s) as i64,
            Rate: int(rate),
            Fps: int(fps),
            Lost: float2(lost),
            NetworkLatency: int(network_latency),
            CpuUsed: float2(self.cpu[0]),
            MemUsed: float2(self.mem[0]),
            EncodeCost: int(encode),
            CaptureCost: int(capture),
            BitRateEstimate: int(bwe),
            TotalBitrateEstimate: int(total_bwe),
            FrameDelta: int(frame_delta),
            MaxFrameDelta: int(max_frame_delta),
            NACK: int(nack),
            MultiNet: Some(nets),
            ..Sample::default()
        }
    }

    /// The remote device's sample at its own tick `kr` (ticks since it joined).
    fn remote_sample(&mut self, kr: u32) -> Sample {
        let window_ms = self.interval_s as f64 * 1000.0;
        let scale = self.interval_s as f64 / 2.0;
        let first = kr == 0;
        let bad = self.plan.bad;
        let stall = self.plan.stall_ticks.binary_search(&kr).is_ok();
        let (field_fps, field_rate) = (self.field_fps, self.field_rate);
        let rng = &mut self.rng;

        // Stalls first: they shape the frame rate and the frame intervals.
        let (lag100, lag150) = if first {
            (0.0, 0.0)
        } else if stall {
            let lag150 = rng.range(500.0, 1200.0) * scale;
            (lag150 + rng.range(20.0, 150.0) * scale, lag150)
        } else if rng.chance(0.04) {
            let lag100 = rng.range(20.0, 200.0) * scale;
            let lag150 = if rng.chance(0.4) {
                lag100 * rng.range(0.3, 0.6)
            } else {
                0.0
            };
            (lag100, lag150)
        } else {
            (0.0, 0.0)
        };
        let (lag100, lag150) = (lag100.min(window_ms).round(), lag150.min(window_ms).round());
        self.lag100_total += lag100;
        self.lag150_total += lag150;
        let elapsed_ms = (kr as f64 + 1.0) * window_ms;
        let k100 = (100.0 * self.lag100_total / elapsed_ms).min(100.0);
        let k150 = (100.0 * self.lag150_total / elapsed_ms).min(100.0);
        let stalled = lag100 / window_ms;

        let fps = if first || field_fps == 0.0 {
            0.0
        } else {
            ((field_fps + 0.6 * rng.normal()) * (1.0 - stalled))
                .max(0.0)
                .round()
        };
        let rate = if first || field_rate == 0.0 {
            0.0
        } else {
            (field_rate * (1.0 + 0.06 * rng.normal()) * (1.0 - stalled)).max(0.0)
        };
        let lost = if first {
            0.0
        } else if bad.is_some() && rng.chance(0.15) {
            rng.range(0.5, 3.0)
        } else if rng.chance(0.03) {
            rng.range(0.1, 1.0)
        } else {
            0.0
        };
        let network_latency = if first || rng.chance(0.01) {
            -1.0
        } else {
            self.remote_latency = walk(
                rng,
                self.remote_latency,
                self.profile.remote_latency,
                1.5,
                2.0,
                60.0,
            );
            self.remote_latency
        };
        let video_latency = if fps == 0.0 {
            0.0
        } else if bad.is_some_and(BadKind::high_latency) {
            self.video_latency = walk(
                rng,
                self.video_latency,
                self.plan.video_latency_base,
                15.0,
                250.0,
                400.0,
            );
            self.video_latency
        } else {
            self.video_latency = walk(
                rng,
                self.video_latency,
                self.plan.video_latency_base,
                6.0,
                35.0,
                140.0,
            );
            if rng.chance(0.03) {
                rng.range(150.0, 210.0)
            } else {
                self.video_latency
            }
        };
        let decode = if first {
            0.0
        } else if rng.chance(0.04) {
            rng.int(5, 10) as f64
        } else {
            rng.int(1, 4) as f64
        };
        let render = if !first && rng.chance(0.1) { 1.0 } else { 0.0 };
        let frame_delta = if first {
            rng.range(10.0, 25.0)
        } else if fps > 0.0 {
            (1000.0 / fps + rng.normal()).max(1.0)
        } else {
            rng.int(4, 20) as f64
        };
        let max_frame_delta = if lag150 > 0.0 {
            150.0 + rng.range(5.0, lag150.clamp(6.0, 400.0))
        } else if lag100 > 0.0 {
            100.0 + rng.range(1.0, 49.0)
        } else {
            (frame_delta + rng.range(15.0, 45.0)).min(99.0)
        };
        let nack = if !first && rng.chance(if bad.is_some() { 0.1 } else { 0.03 }) {
            rng.int(1, 30) as f64
        } else {
            0.0
        };

        self.cpu[1] = self.drift(self.cpu[1], 0.3, 2.0, 95.0);
        self.mem[1] = self.drift(self.mem[1], 0.3, 10.0, 95.0);
        Sample {
            TimeOffset: (kr as u64 * self.interval_s) as i64,
            Rate: int(rate),
            Fps: int(fps),
            Lost: float2(lost),
            NetworkLatency: int(network_latency),
            VideoLatency: int(video_latency),
            CpuUsed: float2(self.cpu[1]),
            MemUsed: float2(self.mem[1]),
            DecodeCost: int(decode),
            RenderCost: int(render),
            K100: float2(k100),
            K150: float2(k150),
            NACK: int(nack),
            FrameDelta: int(frame_delta),
            MaxFrameDelta: int(max_frame_delta),
            Lag100Duration: int(lag100),
            Lag150Duration: int(lag150),
            ..Sample::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calls: retries, and every error counted
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum CallError {
    /// `Response.Error`.
    Api { code: String, message: String },
    /// No usable answer after the retries.
    Network(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Api { code, message } => write!(f, "{code}: {message}"),
            CallError::Network(e) => write!(f, "NetworkError: {e}"),
        }
    }
}

#[derive(Clone)]
struct Api {
    pool: Pool,
    stats: Arc<Mutex<SimSummary>>,
}

impl Api {
    fn new(endpoint: &str, stats: Arc<Mutex<SimSummary>>) -> anyhow::Result<Api> {
        Ok(Api {
            pool: Pool::new(Endpoint::parse(endpoint)?, TIMEOUTS),
            stats,
        })
    }

    fn stat(&self, f: impl FnOnce(&mut SimSummary)) {
        f(&mut self.stats.lock().expect("stats lock"));
    }

    /// One call, retried on network errors, `RequestLimitExceeded` and `InternalError` (bounded
    /// exponential backoff). Every API error is printed and counted; so is a call given up.
    async fn call(
        &self,
        who: &str,
        creds: &Credentials,
        action: &str,
        body: &impl Serialize,
    ) -> Result<Value, CallError> {
        let body = serde_json::to_vec(body).expect("requests serialize");
        let mut backoff = Duration::from_millis(250);
        for attempt in 1..=MAX_ATTEMPTS {
            let last = attempt == MAX_ATTEMPTS;
            match self.pool.answer(creds, action, body.clone()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(ApiError { code, message })) => {
                    eprintln!("simulate: {who}: {action} failed: {code}: {message}");
                    self.stat(|s| *s.errors.entry(code.clone()).or_default() += 1);
                    if last || !matches!(code.as_str(), "RequestLimitExceeded" | "InternalError") {
                        return Err(CallError::Api { code, message });
                    }
                }
                Err(e) => {
                    if last {
                        let e = format!("{e:#}");
                        eprintln!(
                            "simulate: {who}: {action} failed after {MAX_ATTEMPTS} attempts: NetworkError: {e}"
                        );
                        self.stat(|s| *s.errors.entry("NetworkError".into()).or_default() += 1);
                        return Err(CallError::Network(e));
                    }
                }
            }
            self.stat(|s| s.retries += 1);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(4));
        }
        unreachable!("the last attempt returns")
    }
}

// ---------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------

/// Creates `sim_field_<i>`/`sim_remote_<i>` with fresh tokens, or gives existing ones a fresh token.
async fn provision(api: &Api, cfg: &SimConfig) -> anyhow::Result<Vec<SimPair>> {
    let creds = Credentials {
        secret_id: cfg.secret_id.clone(),
        secret_key: cfg.secret_key.clone(),
    };
    let fatal = |what: &str, e: CallError| anyhow::anyhow!("{what}: {e}");
    let mut existing: HashMap<String, String> = HashMap::new();
    let mut page = 1;
    loop {
        let v = api
            .call(
                "account",
                &creds,
                "DescribeDeviceList",
                &json!({"ProjectId": cfg.project_id, "PageNumber": page, "PageSize": 100,
                        "SearchWords": "sim_"}),
            )
            .await
            .map_err(|e| fatal("listing the project's devices", e))?;
        let list: DescribeDeviceListResponse = serde_json::from_value(v)?;
        let n = list.Devices.len() as i64;
        for d in list.Devices {
            existing.insert(d.DeviceId, d.DeviceType);
        }
        if n == 0 || page * 100 >= list.Total {
            break;
        }
        page += 1;
    }

    let mut pairs = Vec::with_capacity(cfg.pairs);
    for i in 1..=cfg.pairs {
        let mut tokens = Vec::with_capacity(2);
        for (id, kind) in [
            (format!("sim_field_{i}"), "field"),
            (format!("sim_remote_{i}"), "remote"),
        ] {
            // Stay under the default 50/s of CreateDevice and ModifyDevice.
            tokio::time::sleep(PROVISION_SPACING).await;
            let token = ids::device_token();
            let modify = json!({"ProjectId": cfg.project_id, "DeviceId": id, "DeviceToken": token});
            match existing.get(&id).map(String::as_str) {
                Some(t) if t == kind => {
                    api.call("account", &creds, "ModifyDevice", &modify)
                        .await
                        .map_err(|e| fatal(&format!("setting a fresh token on {id}"), e))?;
                    api.stat(|s| s.devices_rekeyed += 1);
                }
                Some(other) => anyhow::bail!(
                    "device {id} exists in project {} as a {other} device; delete it or use another project",
                    cfg.project_id
                ),
                None => {
                    let create = json!({"ProjectId": cfg.project_id, "DeviceId": id,
                        "DeviceName": id, "DeviceType": kind, "DeviceToken": token});
                    match api.call("account", &creds, "CreateDevice", &create).await {
                        Ok(_) => api.stat(|s| s.devices_created += 1),
                        // Created meanwhile (another simulator): take it over with a fresh token.
                        Err(CallError::Api { code, message })
                            if code == "InvalidParameterValue" && message.contains("in use") =>
                        {
                            api.call("account", &creds, "ModifyDevice", &modify)
                                .await
                                .map_err(|e| fatal(&format!("setting a fresh token on {id}"), e))?;
                            api.stat(|s| s.devices_rekeyed += 1);
                        }
                        Err(e) => return Err(fatal(&format!("creating {id}"), e)),
                    }
                }
            }
            tokens.push((id, token));
        }
        let (remote_id, remote_token) = tokens.pop().expect("two devices");
        let (field_id, field_token) = tokens.pop().expect("two devices");
        pairs.push(SimPair {
            field_id,
            field_token,
            remote_id,
            remote_token,
        });
    }
    Ok(pairs)
}

// ---------------------------------------------------------------------------------------------
// Driving the pairs
// ---------------------------------------------------------------------------------------------

/// Provisions the devices (unless given), then runs the pairs until `cfg.duration` is over (counted
/// from when the devices are ready) or `stop` turns true (a dropped sender means no stop signal: the
/// duration alone ends the run), ending open sessions with `Final` reports. An error only when the
/// run could not start (bad endpoint, provisioning failed); API errors during the run are in the
/// summary.
pub async fn run(cfg: SimConfig, stop: watch::Receiver<bool>) -> anyhow::Result<SimSummary> {
    anyhow::ensure!(cfg.interval_s >= 1, "the interval is at least 1 second");
    anyhow::ensure!(cfg.batch >= 1, "the batch is at least 1 sample");
    let started = Instant::now();
    let stats = Arc::new(Mutex::new(SimSummary {
        seed: cfg.seed,
        ..SimSummary::default()
    }));
    let api = Api::new(&cfg.endpoint, stats.clone())?;
    let pairs = match &cfg.devices {
        Some(p) => p.clone(),
        None => {
            anyhow::ensure!(cfg.pairs >= 1, "at least one pair");
            provision(&api, &cfg).await?
        }
    };
    let lengths = cfg
        .lengths
        .unwrap_or_else(|| SessionLengths::for_run(cfg.duration, cfg.interval_s));

    // One stop signal for the pairs: the caller's, or the end of the duration.
    let (stop_tx, stop_rx) = watch::channel(false);
    // The duration counts from the moment the devices are ready.
    let deadline = cfg.duration.map(|d| Instant::now() + d);
    let mut external = stop;
    let relay = tokio::spawn(async move {
        let signalled = async {
            if external.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let timed_out = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = signalled => {},
            _ = timed_out => {},
        }
        let _ = stop_tx.send(true);
    });

    let mut seeds = Rng::new(cfg.seed);
    let n = pairs.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, pair) in pairs.into_iter().enumerate() {
        let mut rng = seeds.fork();
        let profile = PairProfile::new(&mut rng, index);
        // Spread the pairs over one interval so that their reports do not all arrive at once.
        let offset =
            Duration::from_millis((index as u64 * cfg.interval_s * 1000) / n.max(1) as u64);
        let driver = PairDriver {
            api: api.clone(),
            field: DeviceRun::new(
                &cfg.project_id,
                &pair.field_id,
                &pair.field_token,
                &pair.remote_id,
            ),
            remote: DeviceRun::new(
                &cfg.project_id,
                &pair.remote_id,
                &pair.remote_token,
                &pair.field_id,
            ),
            profile,
            rng,
            lengths,
            interval_s: cfg.interval_s,
            batch: cfg.batch,
            verbose: cfg.verbose,
            stop: stop_rx.clone(),
        };
        tasks.spawn(driver.run(offset));
    }
    drop(stop_rx);
    let mut failure = None;
    while let Some(done) = tasks.join_next().await {
        if let Err(e) = done {
            failure.get_or_insert(e);
        }
    }
    relay.abort();
    if let Some(e) = failure {
        anyhow::bail!("a simulated pair failed: {e}");
    }
    let mut summary = stats.lock().expect("stats lock").clone();
    summary.pairs = n;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// One device's side of the pair.
struct DeviceRun {
    id: String,
    peer: String,
    creds: Credentials,
    /// Samples not yet acknowledged by the server.
    pending: Vec<Sample>,
    /// Whether the device has reported in the current session.
    joined: bool,
    last_contact: Instant,
}

impl DeviceRun {
    fn new(project_id: &str, id: &str, token: &str, peer: &str) -> DeviceRun {
        DeviceRun {
            id: id.to_owned(),
            peer: peer.to_owned(),
            creds: Credentials {
                secret_id: format!("{project_id}:{id}"),
                secret_key: token.to_owned(),
            },
            pending: Vec::new(),
            joined: false,
            last_contact: Instant::now(),
        }
    }
}

/// A device's part of a session: what goes into every report besides the samples.
struct PartMeta {
    session_id: String,
    start_time: i64,
    width: i64,
    height: i64,
    config_width: i64,
    config_height: i64,
    multi_mode: i64,
}

struct PairDriver {
    api: Api,
    field: DeviceRun,
    remote: DeviceRun,
    profile: PairProfile,
    rng: Rng,
    lengths: SessionLengths,
    interval_s: u64,
    batch: usize,
    verbose: bool,
    stop: watch::Receiver<bool>,
}

/// Sleeps until `at`; true if the stop signal came first (or had come already).
async fn stopped_before(at: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep_until(at) => {}
        _ = stop.wait_for(|s| *s) => return true,
    }
    *stop.borrow()
}

async fn status(api: &Api, dev: &mut DeviceRun, value: &str) {
    let r = api
        .call(
            &dev.id,
            &dev.creds,
            "ReportDeviceStatus",
            &json!({ "Status": value }),
        )
        .await;
    api.stat(|s| s.status_reports += 1);
    if r.is_ok() {
        dev.last_contact = Instant::now();
    }
}

/// Sends the device's pending samples; true when the server acknowledged them.
async fn flush(api: &Api, dev: &mut DeviceRun, meta: &PartMeta, last: bool) -> bool {
    if dev.pending.is_empty() {
        return true;
    }
    let n = dev.pending.len() as u64;
    let req = ReportSessionMetricsRequest {
        SessionId: meta.session_id.clone(),
        PeerDeviceId: dev.peer.clone(),
        StartTime: meta.start_time,
        Ver: Some(SDK_VER.into()),
        SdkMode: Some(SDK_MODE.into()),
        Width: Some(meta.width),
        Height: Some(meta.height),
        ConfigWidth: Some(meta.config_width),
        ConfigHeight: Some(meta.config_height),
        MultiMode: Some(meta.multi_mode),
        DeviceType: None,
        Samples: dev.pending.clone(),
        Final: Some(last),
    };
    let result = api
        .call(&dev.id, &dev.creds, "ReportSessionMetrics", &req)
        .await;
    match result {
        Ok(v) => {
            let r: ReportSessionMetricsResponse = serde_json::from_value(v).unwrap_or_default();
            api.stat(|s| {
                s.metric_reports += 1;
                s.samples_accepted += r.Accepted as u64;
                s.samples_duplicates += r.Duplicates as u64;
            });
            dev.pending.clear();
            dev.last_contact = Instant::now();
            true
        }
        Err(CallError::Api { .. }) => {
            // The server stored nothing of the report; sending it again would fail the same way.
            api.stat(|s| {
                s.metric_reports += 1;
                s.samples_rejected += n;
            });
            dev.pending.clear();
            false
        }
        Err(CallError::Network(_)) => {
            if last {
                api.stat(|s| s.samples_dropped += n);
                dev.pending.clear();
            } else if dev.pending.len() > MAX_PENDING {
                let excess = dev.pending.len() - MAX_PENDING;
                dev.pending.drain(..excess);
                api.stat(|s| s.samples_dropped += excess as u64);
            }
            false
        }
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl PairDriver {
    async fn run(mut self, offset: Duration) {
        if stopped_before(Instant::now() + offset, &mut self.stop).await {
            return;
        }
        let api = self.api.clone();
        tokio::join!(
            status(&api, &mut self.field, "ready"),
            status(&api, &mut self.remote, "ready")
        );
        let mut number = 0u32;
        loop {
            if *self.stop.borrow() {
                break;
            }
            number += 1;
            self.session(number).await;
            if *self.stop.borrow() {
                break;
            }
            let gap = self.rng.int(
                self.lengths.gap_min_s as i64,
                self.lengths.gap_max_s.max(self.lengths.gap_min_s) as i64,
            ) as u64;
            for dev in [&mut self.field, &mut self.remote] {
                if dev.last_contact.elapsed() >= HEARTBEAT_EVERY {
                    status(&api, dev, "ready").await;
                }
            }
            if stopped_before(Instant::now() + Duration::from_secs(gap), &mut self.stop).await {
                break;
            }
        }
        tokio::join!(
            status(&api, &mut self.field, "offline"),
            status(&api, &mut self.remote, "offline")
        );
    }

    /// One session, from its first report to the `Final` ones.
    async fn session(&mut self, number: u32) {
        let api = self.api.clone();
        let mut gen = SessionGen::new(&self.profile, &mut self.rng, &self.lengths, self.interval_s);
        let plan = gen.plan.clone();
        let session_id = format!("{}-{number}", uuid::Uuid::new_v4());
        let t0 = Instant::now();
        let start = unix_now();
        let i = self.interval_s;
        let field_meta = PartMeta {
            session_id: session_id.clone(),
            start_time: start,
            width: self.profile.width,
            height: self.profile.height,
            config_width: self.profile.config_width,
            config_height: self.profile.config_height,
            multi_mode: 1,
        };
        let remote_meta = PartMeta {
            session_id: session_id.clone(),
            start_time: start + (plan.remote_join as u64 * i) as i64,
            width: self.profile.width,
            height: self.profile.height,
            config_width: 0,
            config_height: 0,
            multi_mode: 0,
        };
        api.stat(|s| {
            s.sessions_started += 1;
            s.sessions_planned_bad += plan.bad.is_some() as u64;
            s.sessions_with_link_failure += plan.link_failure_at.is_some() as u64;
        });
        if self.verbose {
            let mut notes = Vec::new();
            if let Some(b) = plan.bad {
                notes.push(format!("planned bad: {}", b.describe()));
            }
            if let Some(f) = plan.link_failure_at {
                notes.push(format!("link 1 fails at {} s", f as u64 * i));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" [{}]", notes.join("; "))
            };
            println!(
                "session {session_id} started: {} -> {}, up to {} s{notes}",
                self.remote.id,
                self.field.id,
                plan.ticks as u64 * i
            );
        }
        self.field.joined = false;
        self.remote.joined = false;
        let mut k = 0;
        let (field_final, remote_final, stopped) = loop {
            let stopping = k > 0
                && stopped_before(t0 + Duration::from_secs(k as u64 * i), &mut self.stop).await;
            let last = stopping || k == plan.ticks;
            let (f, r) = gen.next(k);
            api.stat(|s| s.samples_generated += 1 + r.is_some() as u64);
            self.field.pending.push(f);
            let field_due = !self.field.joined || last || self.field.pending.len() >= self.batch;
            self.field.joined = true;
            let mut remote_due = false;
            if let Some(r) = r {
                self.remote.pending.push(r);
                remote_due = !self.remote.joined || last || self.remote.pending.len() >= self.batch;
                self.remote.joined = true;
            }
            let (field, remote) = (&mut self.field, &mut self.remote);
            let (field_ok, remote_ok) = tokio::join!(
                async { !field_due || flush(&api, field, &field_meta, last).await },
                async { !remote_due || flush(&api, remote, &remote_meta, last).await }
            );
            if last {
                break (field_ok, remote_ok && self.remote.joined, stopping);
            }
            k += 1;
        };
        // Nothing carries over to the next session.
        self.field.pending.clear();
        self.remote.pending.clear();
        let ended = field_final && remote_final;
        if ended {
            api.stat(|s| s.sessions_ended += 1);
        }
        if self.verbose {
            println!(
                "session {session_id} {} after {} s{}",
                if ended { "ended" } else { "closed with errors" },
                k as u64 * i,
                if stopped { " (stopped early)" } else { "" }
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

/// `teleoscope simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The server, e.g. http://127.0.0.1:8080 (plain http).
    #[arg(
        long,
        env = "TELEOSCOPE_ENDPOINT",
        default_value = "http://127.0.0.1:8080"
    )]
    pub endpoint: String,
    /// The account's SecretId (creates the simulated devices).
    #[arg(long, env = "TENCENTCLOUD_SECRET_ID")]
    pub secret_id: String,
    /// The account's SecretKey.
    #[arg(long, env = "TENCENTCLOUD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// The project the devices and sessions go into.
    #[arg(long)]
    pub project: String,
    /// Field/remote device pairs (sim_field_<i>, sim_remote_<i>).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub pairs: u64,
    /// Seconds to run; without it, until Ctrl-C. Open sessions end with a Final report either way.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Seed of the session plans and sample values (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds between samples.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub interval: u64,
    /// Samples per report.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=900))]
    pub batch: u64,
    /// Print only errors and the summary, not every session start and end.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the command: Ctrl-C (or SIGTERM) ends the run early, with Final reports. Fails when any
/// API call failed, after printing the summary.
pub async fn main(args: SimulateArgs) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let mut cfg = SimConfig::new(
        &args.endpoint,
        &args.secret_id,
        &args.secret_key,
        &args.project,
    );
    cfg.pairs = args.pairs as usize;
    cfg.duration = args.duration.map(Duration::from_secs);
    cfg.seed = seed;
    cfg.interval_s = args.interval;
    cfg.batch = args.batch as usize;
    cfg.verbose = !args.quiet;
    println!(
        "simulating {} pair(s) against {} (project {}, seed {seed}, a sample every {} s, {} per report){}",
        cfg.pairs,
        cfg.endpoint,
        cfg.project_id,
        cfg.interval_s,
        cfg.batch,
        match cfg.duration {
            Some(d) => format!(" for {} s", d.as_secs()),
            None => ", until Ctrl-C".to_owned(),
        }
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let signal = tokio::spawn(async move {
        teleoscope_server::http::shutdown_signal().await;
        eprintln!("simulate: stopping: ending open sessions");
        let _ = stop_tx.send(true);
    });
    let summary = run(cfg, stop_rx).await;
    signal.abort();
    let summary = summary?;
    println!("{summary}");
    if summary.error_count() > 0 {
        anyhow::bail!("{} API call(s) failed (see above)", summary.error_count());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use teleoscope_server::actions::device::sample_in;
    use teleoscope_server::domain::quality::{score_part, score_session, QualityConfig};
    use teleoscope_server::domain::sessions::columns_from_samples;
    use teleoscope_server::model::quality::Grade;
    use teleoscope_server::model::DeviceType;

    fn lengths(min_s: u64, max_s: u64) -> SessionLengths {
        SessionLengths {
            min_s,
            max_s,
            gap_min_s: 1,
            gap_max_s: 1,
        }
    }

    /// All samples of a session: (field, remote).
    fn generate(gen: &mut SessionGen) -> (Vec<Sample>, Vec<Sample>) {
        let (mut field, mut remote) = (Vec::new(), Vec::new());
        for k in 0..=gen.plan.ticks {
            let (f, r) = gen.next(k);
            field.push(f);
            remote.extend(r);
        }
        (field, remote)
    }

    fn sessions(seed: u64, n: usize, lengths: SessionLengths, interval: u64) -> Vec<SessionGen> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(n);
        let mut profiles = Vec::new();
        for p in 0..8 {
            profiles.push(PairProfile::new(&mut rng, p));
        }
        for s in 0..n {
            out.push(SessionGen::new(
                &profiles[s % profiles.len()],
                &mut rng,
                &lengths,
                interval,
            ));
        }
        out
    }

    fn names(s: &Sample) -> Vec<&'static str> {
        s.metrics().map(|(n, _)| n).collect()
    }

    fn net_ids(s: &Sample) -> Vec<i64> {
        s.MultiNet
            .iter()
            .flatten()
            .map(|n| n.NetId)
            .collect::<Vec<_>>()
    }

    #[test]
    fn metric_set_is_fixed_and_values_are_plausible() {
        for mut gen in sessions(7, 200, lengths(30, 240), 2) {
            let (field, remote) = generate(&mut gen);
            assert_eq!(field.len() as u32, gen.plan.ticks + 1);
            assert_eq!(
                remote.len() as u32,
                gen.plan.ticks + 1 - gen.plan.remote_join
            );
            for (samples, expected) in [(&field, 13), (&remote, 16)] {
                let set = names(&samples[0]);
                assert_eq!(set.len(), expected, "{set:?}");
                let nets = net_ids(&samples[0]);
                for (j, s) in samples.iter().enumerate() {
                    assert_eq!(names(s), set, "same metrics in every sample");
                    assert_eq!(net_ids(s), nets, "same links in every sample");
                    assert_eq!(s.TimeOffset, j as i64 * 2, "offsets step by the interval");
                    for (name, v) in s.metrics() {
                        assert!(v.is_finite() && v >= -1.0, "{name} = {v}");
                        assert_eq!(round2(v), v, "{name} = {v} has at most 2 decimals");
                    }
                }
                // The first sample is the start: no latency known, no frames yet.
                assert_eq!(samples[0].NetworkLatency, Some(-1));
                assert_eq!(samples[0].Fps, Some(0));
            }
            assert_eq!(net_ids(&field[0]), vec![0, 1]);
            assert!(net_ids(&remote[0]).is_empty());
            for s in &field {
                let fps = s.Fps.unwrap();
                assert!((0..=40).contains(&fps), "fps {fps}");
                let lat = s.NetworkLatency.unwrap();
                assert!(lat == -1 || (1..400).contains(&lat), "latency {lat}");
                let cpu = s.CpuUsed.unwrap().0;
                assert!((0.0..=100.0).contains(&cpu));
                assert!(s.BitRateEstimate.unwrap() <= 4000);
                for n in s.MultiNet.as_ref().unwrap() {
                    assert!((0..=1500).contains(&n.Rtt.unwrap()));
                    assert!((0..=100).contains(&n.Lost.unwrap()));
                    assert!(n.SendBps.unwrap() >= 0 && n.RecvBps.unwrap() >= 0);
                }
                if s.TimeOffset >= 6 {
                    assert!(s.FrameDelta.unwrap() > 0);
                }
                if s.TimeOffset >= 20 && fps > 0 {
                    let fd = s.FrameDelta.unwrap() as f64;
                    assert!(
                        (fd - 1000.0 / fps as f64).abs() < 30.0,
                        "frame delta {fd} at {fps} fps"
                    );
                }
            }
            for s in &remote {
                let (l100, l150) = (s.Lag100Duration.unwrap(), s.Lag150Duration.unwrap());
                assert!(0 <= l150 && l150 <= l100 && l100 <= 2000, "{l100} {l150}");
                let (k100, k150) = (s.K100.unwrap().0, s.K150.unwrap().0);
                assert!((0.0..=100.0).contains(&k150) && k150 <= k100 + 0.01);
                let vl = s.VideoLatency.unwrap();
                assert!((0..=400).contains(&vl), "video latency {vl}");
                if l150 > 0 {
                    assert!(s.MaxFrameDelta.unwrap() > 150);
                }
            }
        }
    }

    #[test]
    fn field_bitrate_ramps_up() {
        let mut hit = 0;
        for mut gen in sessions(3, 50, lengths(60, 120), 2) {
            let (field, _) = generate(&mut gen);
            let rate = |t: i64| {
                field
                    .iter()
                    .find(|s| s.TimeOffset == t)
                    .unwrap()
                    .Rate
                    .unwrap()
            };
            assert_eq!(rate(0), 0);
            assert_eq!(field[0].BitRateEstimate, Some(0));
            let early = rate(4) as f64;
            let settled: f64 = field[10..20]
                .iter()
                .map(|s| s.Rate.unwrap() as f64)
                .sum::<f64>()
                / 10.0;
            if early < settled * 0.6 {
                hit += 1;
            }
        }
        assert!(hit >= 45, "ramp-up seen in {hit} of 50 sessions");
    }

    #[test]
    fn bad_session_rate_under_the_real_scorer_is_about_one_in_ten() {
        let cfg = QualityConfig::default();
        let (mut bad, mut planned_bad, mut mismatched) = (0, 0, 0);
        let all = sessions(42, 1000, lengths(30, 120), 2);
        for mut gen in all {
            let (field, remote) = generate(&mut gen);
            let parts: Vec<_> = [(DeviceType::Field, &field), (DeviceType::Remote, &remote)]
                .into_iter()
                .map(|(ty, samples)| {
                    let columns =
                        columns_from_samples(samples.iter().map(sample_in).collect()).unwrap();
                    score_part(ty, &columns, &cfg)
                })
                .collect();
            let grade = score_session(&parts).grade;
            let is_bad = grade == Grade::Bad;
            bad += is_bad as u32;
            planned_bad += gen.plan.bad.is_some() as u32;
            if is_bad != gen.plan.bad.is_some() {
                mismatched += 1;
            }
        }
        eprintln!("{bad} bad sessions of 1000 ({planned_bad} planned, {mismatched} otherwise)");
        assert!((50..=200).contains(&bad), "{bad} bad sessions of 1000");
        assert!(
            (50..=200).contains(&planned_bad),
            "{planned_bad} planned bad"
        );
        assert!(
            mismatched <= 10,
            "{mismatched} sessions graded otherwise than planned"
        );
    }

    #[test]
    fn link_1_fails_mid_session_and_stays_in_the_samples() {
        let mut failures = 0;
        for mut gen in sessions(9, 200, lengths(60, 200), 2) {
            let Some(at) = gen.plan.link_failure_at else {
                continue;
            };
            failures += 1;
            assert!(at >= 1 && at <= gen.plan.ticks);
            let (field, _) = generate(&mut gen);
            for (k, s) in field.iter().enumerate() {
                let nets = s.MultiNet.as_ref().unwrap();
                assert_eq!(nets.len(), 2);
                let link1 = &nets[1];
                if k as u32 >= at {
                    assert!((500..=1500).contains(&link1.Rtt.unwrap()));
                    assert!((30..=100).contains(&link1.Lost.unwrap()));
                    assert!(link1.SendBps.unwrap() <= 5);
                } else if k > 0 {
                    assert!(link1.Rtt.unwrap() < 500);
                }
            }
        }
        assert!(
            (10..=45).contains(&failures),
            "{failures} link failures in 200 sessions"
        );
    }

    #[test]
    fn same_seed_same_samples() {
        let run = |seed| {
            sessions(seed, 5, lengths(30, 60), 2)
                .into_iter()
                .map(|mut g| generate(&mut g))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn short_runs_get_short_sessions() {
        let l = SessionLengths::for_run(Some(Duration::from_secs(6)), 1);
        assert_eq!((l.min_s, l.max_s, l.gap_min_s, l.gap_max_s), (2, 3, 1, 1));
        let l = SessionLengths::for_run(Some(Duration::from_secs(3600)), 2);
        assert_eq!((l.min_s, l.max_s), (30, 600));
        let l = SessionLengths::for_run(None, 2);
        assert_eq!((l.min_s, l.max_s), (30, 600));
    }

    #[test]
    fn summary_reads_well() {
        let mut s = SimSummary {
            pairs: 2,
            seed: 9,
            sessions_started: 3,
            ..SimSummary::default()
        };
        assert!(s.to_string().contains("errors    none"));
        s.errors.insert("OperationDenied".into(), 2);
        s.errors.insert("NetworkError".into(), 1);
        assert!(s
            .to_string()
            .contains("errors    3 (NetworkError 1, OperationDenied 2)"));
    }
}
