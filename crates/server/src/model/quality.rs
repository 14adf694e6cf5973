//! Session quality as the product states it: a grade (`good`, `normal`, `bad`) and the reasons behind
//! it. The scorer that gives them is `domain::quality`.

use super::DeviceType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A quality grade. Ordered from best to worst, so `max` is the worse of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    Good,
    Normal,
    Bad,
}

impl Grade {
    /// The vendor's spelling (`SessionInfo.Quality`).
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Good => "good",
            Grade::Normal => "normal",
            Grade::Bad => "bad",
        }
    }

    pub fn parse(s: &str) -> Option<Grade> {
        match s {
            "good" => Some(Grade::Good),
            "normal" => Some(Grade::Normal),
            "bad" => Some(Grade::Bad),
            _ => None,
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One threshold crossed: which device, how bad, on which metric, and a sentence for the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub device_type: DeviceType,
    /// `normal` or `bad` (a criterion that is good gives no reason).
    pub grade: Grade,
    /// The vendor's metric name (`VideoLatency`, `Lag150Duration`, ...); per-link criteria are
    /// `MultiNet.Rtt` and `MultiNet.Lost`.
    pub metric: String,
    /// E.g. "remote stalled 2.9% of the time", "field RTT p95 326 ms on NIC 1".
    pub text: String,
}

/// Every `Reason::metric` the scorer gives, in criterion order: the values a reason filter may name.
pub const REASON_METRICS: &[&str] = &[
    "Lag150Duration",
    "K150",
    "VideoLatency",
    "ControlLatency",
    "NetworkLatency",
    "Lost",
    "Fps",
    "MultiNet.Rtt",
    "MultiNet.Lost",
];

/// The reasons as stored with a session (`Assessment::reasons` as JSON); none if unreadable.
pub fn parse_reasons(stored: &str) -> Vec<Reason> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A grade with every threshold crossed, worst first; `reasons` is empty when the grade is good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub grade: Grade,
    pub reasons: Vec<Reason>,
}

impl Assessment {
    /// Good, nothing to say.
    pub fn good() -> Assessment {
        Assessment {
            grade: Grade::Good,
            reasons: Vec::new(),
        }
    }
}
