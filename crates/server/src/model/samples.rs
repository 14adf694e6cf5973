//! What a device reports about a session, as columns: one `TimeOffset` array and one array per
//! reported metric, aligned with it, plus the per-link (`MultiNet`) arrays. This is the shape the
//! vendor's `SessionDeviceDetail` answers with, the shape the codec stores, and the shape the quality
//! scorer reads.
//!
//! Values are kept as `f64`: every integer metric fits exactly, and float metrics keep the exact
//! value the device sent (35.02 stays 35.02; see `teleoscope_protocol::wire::Float`).

/// The per-sample metrics of `SessionDeviceDetail`, in the order of the vendor model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Metric {
    Rate = 0,
    Fps = 1,
    Lost = 2,
    NetworkLatency = 3,
    VideoLatency = 4,
    CpuUsed = 5,
    MemUsed = 6,
    DecodeCost = 7,
    K100 = 8,
    K150 = 9,
    NACK = 10,
    BitRateEstimate = 11,
    EncodeCost = 12,
    CaptureCost = 13,
    RenderCost = 14,
    FrameDelta = 15,
    MaxFrameDelta = 16,
    TotalBitrateEstimate = 17,
    Lag100Duration = 18,
    Lag150Duration = 19,
    ControlLatency = 20,
}

/// Whether the model types a metric as an integer (`int64`) or a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Integer,
    Float,
}

impl Metric {
    pub const COUNT: usize = 21;
    pub const ALL: [Metric; Metric::COUNT] = [
        Metric::Rate,
        Metric::Fps,
        Metric::Lost,
        Metric::NetworkLatency,
        Metric::VideoLatency,
        Metric::CpuUsed,
        Metric::MemUsed,
        Metric::DecodeCost,
        Metric::K100,
        Metric::K150,
        Metric::NACK,
        Metric::BitRateEstimate,
        Metric::EncodeCost,
        Metric::CaptureCost,
        Metric::RenderCost,
        Metric::FrameDelta,
        Metric::MaxFrameDelta,
        Metric::TotalBitrateEstimate,
        Metric::Lag100Duration,
        Metric::Lag150Duration,
        Metric::ControlLatency,
    ];

    /// The vendor's field name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rate => "Rate",
            Metric::Fps => "Fps",
            Metric::Lost => "Lost",
            Metric::NetworkLatency => "NetworkLatency",
            Metric::VideoLatency => "VideoLatency",
            Metric::CpuUsed => "CpuUsed",
            Metric::MemUsed => "MemUsed",
            Metric::DecodeCost => "DecodeCost",
            Metric::K100 => "K100",
            Metric::K150 => "K150",
            Metric::NACK => "NACK",
            Metric::BitRateEstimate => "BitRateEstimate",
            Metric::EncodeCost => "EncodeCost",
            Metric::CaptureCost => "CaptureCost",
            Metric::RenderCost => "RenderCost",
            Metric::FrameDelta => "FrameDelta",
            Metric::MaxFrameDelta => "MaxFrameDelta",
            Metric::TotalBitrateEstimate => "TotalBitrateEstimate",
            Metric::Lag100Duration => "Lag100Duration",
            Metric::Lag150Duration => "Lag150Duration",
            Metric::ControlLatency => "ControlLatency",
        }
    }

    /// api.json SessionDeviceDetail: Lost, CpuUsed, MemUsed, K100, K150 are floats; the rest int64.
    pub fn kind(self) -> ValueKind {
        match self {
            Metric::Lost | Metric::CpuUsed | Metric::MemUsed | Metric::K100 | Metric::K150 => {
                ValueKind::Float
            }
            _ => ValueKind::Integer,
        }
    }

    pub fn from_u8(v: u8) -> Option<Metric> {
        Metric::ALL.get(v as usize).copied()
    }
}

/// The per-link metrics of `MultiNet` (all int64 in the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetMetric {
    Rtt,
    Lost,
    SendBps,
    RecvBps,
}

impl NetMetric {
    pub const ALL: [NetMetric; 4] = [
        NetMetric::Rtt,
        NetMetric::Lost,
        NetMetric::SendBps,
        NetMetric::RecvBps,
    ];
    pub fn name(self) -> &'static str {
        match self {
            NetMetric::Rtt => "Rtt",
            NetMetric::Lost => "Lost",
            NetMetric::SendBps => "SendBps",
            NetMetric::RecvBps => "RecvBps",
        }
    }
}

/// One network interface's arrays, aligned with the part's `time_offset`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetColumns {
    pub net_id: i64,
    pub net_ip: String,
    pub rtt: Vec<f64>,
    pub lost: Vec<f64>,
    pub send_bps: Vec<f64>,
    pub recv_bps: Vec<f64>,
}

impl NetColumns {
    pub fn column(&self, m: NetMetric) -> &Vec<f64> {
        match m {
            NetMetric::Rtt => &self.rtt,
            NetMetric::Lost => &self.lost,
            NetMetric::SendBps => &self.send_bps,
            NetMetric::RecvBps => &self.recv_bps,
        }
    }
    pub fn column_mut(&mut self, m: NetMetric) -> &mut Vec<f64> {
        match m {
            NetMetric::Rtt => &mut self.rtt,
            NetMetric::Lost => &mut self.lost,
            NetMetric::SendBps => &mut self.send_bps,
            NetMetric::RecvBps => &mut self.recv_bps,
        }
    }
}

/// A run of samples of one device in one session, as columns. Invariants: `time_offset` is strictly
/// increasing; every metric column and every net column has `time_offset.len()` values; `metrics` is
/// sorted by `Metric` and has no repeats; `nets` is sorted by `net_id` with no repeats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Columns {
    pub time_offset: Vec<i64>,
    pub metrics: Vec<(Metric, Vec<f64>)>,
    pub nets: Vec<NetColumns>,
}

impl Columns {
    pub fn len(&self) -> usize {
        self.time_offset.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time_offset.is_empty()
    }

    pub fn metric(&self, m: Metric) -> Option<&[f64]> {
        self.metrics
            .iter()
            .find(|(k, _)| *k == m)
            .map(|(_, v)| v.as_slice())
    }

    /// How many metric values these columns hold (the unit of "bytes per value"): every element of
    /// every array, `TimeOffset` included.
    pub fn value_count(&self) -> usize {
        let per_sample = 1 + self.metrics.len() + 4 * self.nets.len();
        per_sample * self.len()
    }
}

impl Columns {
    /// Which metrics and links the columns carry, e.g. `m0,1,5|n0,1`. A device keeps one schema for
    /// its whole part of a session, so every array stays aligned with `TimeOffset`.
    pub fn schema(&self) -> String {
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .map(|(m, _)| (*m as u8).to_string())
            .collect();
        let nets: Vec<String> = self.nets.iter().map(|n| n.net_id.to_string()).collect();
        format!("m{}|n{}", metrics.join(","), nets.join(","))
    }

    /// The samples whose offset `keep` accepts.
    pub fn retain(&self, keep: impl Fn(i64) -> bool) -> Columns {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&i| keep(self.time_offset[i]))
            .collect();
        self.select(&rows)
    }

    /// The samples at these positions, in this order.
    pub fn select(&self, rows: &[usize]) -> Columns {
        let pick = |v: &[f64]| -> Vec<f64> { rows.iter().map(|&i| v[i]).collect() };
        Columns {
            time_offset: rows.iter().map(|&i| self.time_offset[i]).collect(),
            metrics: self.metrics.iter().map(|(m, v)| (*m, pick(v))).collect(),
            nets: self
                .nets
                .iter()
                .map(|n| NetColumns {
                    net_id: n.net_id,
                    net_ip: n.net_ip.clone(),
                    rtt: pick(&n.rtt),
                    lost: pick(&n.lost),
                    send_bps: pick(&n.send_bps),
                    recv_bps: pick(&n.recv_bps),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_retain() {
        let c = Columns {
            time_offset: vec![0, 2, 4],
            metrics: vec![
                (Metric::Rate, vec![1.0, 2.0, 3.0]),
                (Metric::CpuUsed, vec![35.02, 35.02, 35.5]),
            ],
            nets: vec![NetColumns {
                net_id: 1,
                rtt: vec![10.0, 20.0, 30.0],
                lost: vec![0.0; 3],
                send_bps: vec![1.0; 3],
                recv_bps: vec![2.0; 3],
                ..Default::default()
            }],
        };
        assert_eq!(c.schema(), "m0,5|n1");
        assert_eq!(c.value_count(), 3 * (1 + 2 + 4));
        let r = c.retain(|o| o != 2);
        assert_eq!(r.time_offset, vec![0, 4]);
        assert_eq!(r.metric(Metric::CpuUsed).unwrap(), &[35.02, 35.5]);
        assert_eq!(r.nets[0].rtt, vec![10.0, 30.0]);
    }
}
