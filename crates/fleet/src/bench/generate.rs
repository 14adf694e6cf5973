//! Realistic samples for the benchmark: one sample every two seconds per device, all 21 metrics of
//! `SessionDeviceDetail` plus `MultiNet` links, each metric following the shape real series have
//! (levels that wander: Fps, bit rates, CPU; mostly-zero series with bursts: Lost, NACK, stalls;
//! latencies with rare spikes). Deterministic: a seed gives the same hour every run, so figures
//! compare across runs and across the server and its baselines.

use crate::rng::Rng;
use teleoscope_protocol::wire::{Float, NetSample, Sample};
use teleoscope_server::model::samples::{Columns, Metric, NetColumns};

/// One sample's values: the 21 metrics in `Metric::ALL` order, and per link Rtt, Lost, SendBps,
/// RecvBps.
#[derive(Debug, Clone)]
pub struct Values {
    pub time_offset: i64,
    pub metrics: [f64; 21],
    pub nets: Vec<[i64; 4]>,
}

/// The slowly moving state of one device.
pub struct Device {
    rng: Rng,
    links: usize,
    rate: i64,
    fps: i64,
    net_latency: i64,
    video_latency: i64,
    cpu_centi: i64,
    mem_centi: i64,
    bwe: i64,
    total_bwe: i64,
    frame_delta: i64,
    lost_burst: i64,
    rtt: Vec<i64>,
    send: Vec<i64>,
    recv: Vec<i64>,
}

fn wander(rng: &mut Rng, v: i64, step: i64, lo: i64, hi: i64) -> i64 {
    (v + rng.int(-step, step)).clamp(lo, hi)
}

impl Device {
    pub fn new(seed: u64, links: usize) -> Device {
        let mut rng = Rng::new(seed);
        Device {
            rate: rng.int(1800, 3200),
            fps: 30,
            net_latency: rng.int(25, 60),
            video_latency: rng.int(90, 160),
            cpu_centi: rng.int(2500, 4500),
            mem_centi: rng.int(6000, 7500),
            bwe: rng.int(800, 1200),
            total_bwe: rng.int(2200, 3000),
            frame_delta: 33,
            lost_burst: 0,
            rtt: (0..links).map(|_| rng.int(20, 70)).collect(),
            send: (0..links).map(|_| rng.int(800, 1600)).collect(),
            recv: (0..links).map(|_| rng.int(30, 90)).collect(),
            links,
            rng,
        }
    }

    /// The sample at `time_offset`.
    pub fn next(&mut self, time_offset: i64) -> Values {
        let r = &mut self.rng;
        self.rate = wander(r, self.rate, 60, 300, 8000);
        self.fps = if r.chance(0.02) {
            r.int(15, 29)
        } else if r.chance(0.3) {
            wander(r, self.fps, 1, 25, 30)
        } else {
            30
        };
        // Loss comes in bursts of a few samples.
        if self.lost_burst == 0 && r.chance(0.02) {
            self.lost_burst = r.int(1, 6);
        }
        let lost_centi = if self.lost_burst > 0 {
            self.lost_burst -= 1;
            r.int(1, 400)
        } else {
            0
        };
        self.net_latency = wander(r, self.net_latency, 3, 10, 150);
        let net_latency = if r.chance(0.01) {
            r.int(200, 900)
        } else {
            self.net_latency
        };
        self.video_latency = wander(r, self.video_latency, 6, 60, 400);
        self.cpu_centi = wander(r, self.cpu_centi, 40, 500, 9900);
        if r.chance(0.1) {
            self.mem_centi = wander(r, self.mem_centi, 5, 1000, 9900);
        }
        self.bwe = wander(r, self.bwe, 25, 100, 5000);
        self.total_bwe = wander(r, self.total_bwe, 40, 300, 12000);
        self.frame_delta = if self.fps < 30 {
            1000 / self.fps.max(1)
        } else {
            33
        };
        let frame_delta = self.frame_delta + r.int(-2, 2);
        let stall = r.chance(0.015);
        let lag100 = if stall { r.int(100, 900) } else { 0 };
        let lag150 = if stall && r.chance(0.5) {
            r.int(150, lag100.max(150))
        } else {
            0
        };
        let k100 = if stall {
            r.int(1, 50) as f64 / 10.0
        } else {
            0.0
        };
        let k150 = if lag150 > 0 {
            r.int(1, 30) as f64 / 10.0
        } else {
            0.0
        };
        let nack = if lost_centi > 0 || r.chance(0.03) {
            r.int(1, 25)
        } else {
            0
        };
        let metrics = [
            self.rate as f64,                        // Rate
            self.fps as f64,                         // Fps
            lost_centi as f64 / 100.0,               // Lost
            net_latency as f64,                      // NetworkLatency
            self.video_latency as f64,               // VideoLatency
            self.cpu_centi as f64 / 100.0,           // CpuUsed
            self.mem_centi as f64 / 100.0,           // MemUsed
            r.int(3, 9) as f64,                      // DecodeCost
            k100,                                    // K100
            k150,                                    // K150
            nack as f64,                             // NACK
            self.bwe as f64,                         // BitRateEstimate
            r.int(4, 12) as f64,                     // EncodeCost
            r.int(1, 3) as f64,                      // CaptureCost
            r.int(1, 5) as f64,                      // RenderCost
            frame_delta as f64,                      // FrameDelta
            (frame_delta + r.int(0, 25)) as f64,     // MaxFrameDelta
            self.total_bwe as f64,                   // TotalBitrateEstimate
            lag100 as f64,                           // Lag100Duration
            lag150 as f64,                           // Lag150Duration
            (net_latency / 2 + r.int(5, 20)) as f64, // ControlLatency
        ];
        let mut nets = Vec::with_capacity(self.links);
        for i in 0..self.links {
            self.rtt[i] = wander(r, self.rtt[i], 4, 5, 300);
            self.send[i] = wander(r, self.send[i], 80, 50, 20000);
            self.recv[i] = wander(r, self.recv[i], 6, 5, 500);
            let lost = if lost_centi > 0 { r.int(0, 5) } else { 0 };
            nets.push([self.rtt[i], lost, self.send[i], self.recv[i]]);
        }
        Values {
            time_offset,
            metrics,
            nets,
        }
    }
}

/// How many values (as `Columns::value_count` counts them) one sample with `links` links holds.
pub fn values_per_sample(links: usize) -> u64 {
    (1 + Metric::ALL.len() + 4 * links) as u64
}

impl Values {
    /// The sample as a device reports it (`ReportSessionMetrics.Samples[i]`).
    pub fn to_wire(&self) -> Sample {
        let m = &self.metrics;
        let i = |k: usize| Some(m[k] as i64);
        let f = |k: usize| Some(Float(m[k]));
        Sample {
            TimeOffset: self.time_offset,
            Rate: i(0),
            Fps: i(1),
            Lost: f(2),
            NetworkLatency: i(3),
            VideoLatency: i(4),
            CpuUsed: f(5),
            MemUsed: f(6),
            DecodeCost: i(7),
            K100: f(8),
            K150: f(9),
            NACK: i(10),
            BitRateEstimate: i(11),
            EncodeCost: i(12),
            CaptureCost: i(13),
            RenderCost: i(14),
            FrameDelta: i(15),
            MaxFrameDelta: i(16),
            TotalBitrateEstimate: i(17),
            Lag100Duration: i(18),
            Lag150Duration: i(19),
            ControlLatency: i(20),
            MultiNet: (!self.nets.is_empty()).then(|| {
                self.nets
                    .iter()
                    .enumerate()
                    .map(|(id, n)| NetSample {
                        NetId: id as i64,
                        NetIp: Some(format!("192.168.11.{}", 2 + id)),
                        Rtt: Some(n[0]),
                        Lost: Some(n[1]),
                        SendBps: Some(n[2]),
                        RecvBps: Some(n[3]),
                    })
                    .collect()
            }),
        }
    }

    /// The sample as the store holds it (one-sample columns).
    pub fn to_columns(&self) -> Columns {
        Columns {
            time_offset: vec![self.time_offset],
            metrics: Metric::ALL
                .iter()
                .zip(self.metrics)
                .map(|(m, v)| (*m, vec![v]))
                .collect(),
            nets: self
                .nets
                .iter()
                .enumerate()
                .map(|(id, n)| NetColumns {
                    net_id: id as i64,
                    net_ip: format!("192.168.11.{}", 2 + id),
                    rtt: vec![n[0] as f64],
                    lost: vec![n[1] as f64],
                    send_bps: vec![n[2] as f64],
                    recv_bps: vec![n[3] as f64],
                })
                .collect(),
        }
    }
}

/// One device's hour: `points` samples two seconds apart, each already serialized as the JSON
/// object a device sends, so the client only concatenates them into request bodies.
pub struct Series {
    pub samples: Vec<String>,
    pub values_per_sample: u64,
}

pub fn series(seed: u64, links: usize, points: usize) -> Series {
    let mut device = Device::new(seed, links);
    let samples = (0..points)
        .map(|i| {
            serde_json::to_string(&device.next(2 * i as i64).to_wire()).expect("samples serialize")
        })
        .collect();
    Series {
        samples,
        values_per_sample: values_per_sample(links),
    }
}

/// The body of one `ReportSessionMetrics`: `head` holds the fields after SessionId (PeerDeviceId,
/// StartTime, video facts), precomputed once per device.
pub fn report_body(session_id: &str, head: &str, samples: &[String], last: bool) -> Vec<u8> {
    let len = samples.iter().map(|s| s.len() + 1).sum::<usize>() + head.len() + 64;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(b"{\"SessionId\":\"");
    out.extend_from_slice(session_id.as_bytes());
    out.extend_from_slice(b"\",");
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b",\"Samples\":[");
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(if last {
        b"],\"Final\":true}"
    } else {
        b"],\"Final\":false}"
    });
    out
}

/// The fields of a report after SessionId, as a field or remote device sends them.
pub fn report_head(peer_device_id: &str, start_time: i64, field: bool) -> String {
    let (w, h) = if field { (1280, 720) } else { (0, 0) };
    format!(
        "\"PeerDeviceId\":\"{peer_device_id}\",\"StartTime\":{start_time},\"Ver\":\"2.4\",\"SdkMode\":\"server2\",\
         \"Width\":{w},\"Height\":{h},\"ConfigWidth\":1920,\"ConfigHeight\":1080,\"MultiMode\":0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use teleoscope_protocol::params::from_json;
    use teleoscope_protocol::wire::ReportSessionMetricsRequest;

    #[test]
    fn bodies_are_valid_reports_with_every_metric() {
        let s = series(7, 2, 40);
        assert_eq!(s.values_per_sample, 30);
        let head = report_head("remote-1", 1_700_000_000, true);
        let body = report_body("bench-1", &head, &s.samples[..30], true);
        let r: ReportSessionMetricsRequest = from_json(&body).unwrap();
        // The server's fast path (typed serde) takes them as they are: it measures that path.
        let typed: ReportSessionMetricsRequest = serde_json::from_slice(&body).unwrap();
        assert_eq!(typed, r);
        assert_eq!(r.Samples.len(), 30);
        assert_eq!(r.Samples[29].TimeOffset, 58);
        assert_eq!(r.Samples[0].metrics().count(), 21);
        assert_eq!(r.Samples[0].MultiNet.as_ref().unwrap().len(), 2);
        assert_eq!(r.Final, Some(true));
        // Deterministic.
        assert_eq!(series(7, 2, 40).samples, s.samples);
    }
}
