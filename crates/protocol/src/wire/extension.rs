//! Teleoscope's extension actions (docs/api.md §8): queries the web console needs beyond the
//! vendor's API, answered to account keys on the same endpoint and in the same envelope, so the
//! vendor's SDKs can call them through their `CommonClient`. Not in the vendor model, so these wire
//! types are hand-written; names follow the vendor's PascalCase and times are UNIX seconds.

use super::Float;
use crate::params::{Field, Kind, Params};
use serde::{Deserialize, Serialize};

/// The extension actions, answered only to account keys (the device API is `DEVICE_ACTIONS`).
pub const EXTENSION_ACTIONS: &[&str] = &[
    "DescribeSessions",
    "DescribeSessionQuality",
    "DescribeFleetOverview",
];

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

/// The session list with the console's filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeSessionsRequest {
    pub ProjectId: String,
    /// Either end of the session.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub DeviceId: Option<String>,
    /// The session's span overlaps [StartTime, EndTime], as DescribeDeviceSessionList.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub StartTime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub EndTime: Option<i64>,
    /// `good`, `normal` or `bad`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Quality: Option<String>,
    /// A reason's `Metric` (`Lag150Duration`, `MultiNet.Rtt`, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Live: Option<bool>,
    /// `true`: [StartTime, EndTime] bounds the session's start instead of overlapping its span (what
    /// the statistics count a session by: a bucket's sessions).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ByStart: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub PageNumber: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub PageSize: Option<i64>,
}

impl Params for DescribeSessionsRequest {
    const FIELDS: &'static [Field] = &[
        field("ProjectId", Kind::String, true),
        field("DeviceId", Kind::String, false),
        field("StartTime", Kind::Integer, false),
        field("EndTime", Kind::Integer, false),
        field("Quality", Kind::String, false),
        field("Reason", Kind::String, false),
        field("Live", Kind::Boolean, false),
        field("ByStart", Kind::Boolean, false),
        field("PageNumber", Kind::Integer, false),
        field("PageSize", Kind::Integer, false),
    ];
}

/// One threshold the scorer found crossed (docs/quality.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityReason {
    /// `field` or `remote`.
    pub DeviceType: String,
    /// `normal` or `bad`.
    pub Grade: String,
    /// The vendor's metric name; per-link criteria are `MultiNet.Rtt` and `MultiNet.Lost`.
    pub Metric: String,
    pub Text: String,
}

/// One session of a list, with its grade and the reasons for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSummary {
    pub SessionId: String,
    pub FieldDeviceId: String,
    pub RemoteDeviceId: String,
    pub StartTime: i64,
    pub EndTime: i64,
    /// EndTime − StartTime, seconds.
    pub Duration: i64,
    /// `<Width>*<Height>` of the field device's video; empty until it has reported.
    pub Resolution: String,
    pub MultiMode: i64,
    pub Quality: String,
    /// Whether the grade is final (the session has ended and was scored since).
    pub QualityFinal: bool,
    pub Live: bool,
    pub Reasons: Vec<QualityReason>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeSessionsResponse {
    pub Total: i64,
    pub Num: i64,
    pub Sessions: Vec<SessionSummary>,
}

/// What went wrong in one session, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeSessionQualityRequest {
    pub SessionId: String,
}

impl Params for DescribeSessionQualityRequest {
    const FIELDS: &'static [Field] = &[field("SessionId", Kind::String, true)];
}

/// An interval of a device part where something went wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Incident {
    pub DeviceType: String,
    /// `stall`, `loss`, `video_latency`, `network_latency`, `link_down`, `link_loss`, `link_rtt`.
    pub Kind: String,
    /// The link (`MultiNet.NetId`) of a link incident, -1 otherwise.
    pub NetId: i64,
    /// Absolute UNIX seconds.
    pub StartTime: i64,
    pub EndTime: i64,
    /// The worst value of the interval, in the unit of its kind (docs/api.md §8.2).
    pub Peak: Float,
    pub Text: String,
}

/// One of the scorer's thresholds, for a charted metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityThreshold {
    pub Metric: String,
    /// `null` when the criterion is switched off (an infinite threshold).
    pub Normal: Float,
    pub Bad: Float,
    pub Unit: String,
    /// `above` (worse when higher) or `below` (frame rate).
    pub Direction: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeSessionQualityResponse {
    pub SessionId: String,
    pub ProjectId: String,
    pub Quality: String,
    pub QualityFinal: bool,
    pub Reasons: Vec<QualityReason>,
    pub Incidents: Vec<Incident>,
    pub Thresholds: Vec<QualityThreshold>,
    /// The glass-to-glass latency target, ms (`latency_budget_ms`).
    pub LatencyBudgetMs: i64,
}

/// The fleet overview's lists for a project and a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescribeFleetOverviewRequest {
    pub ProjectId: String,
    /// Sessions that start in [StartTime, EndTime], as DescribeSessionStatistics.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub StartTime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub EndTime: Option<i64>,
}

impl Params for DescribeFleetOverviewRequest {
    const FIELDS: &'static [Field] = &[
        field("ProjectId", Kind::String, true),
        field("StartTime", Kind::Integer, false),
        field("EndTime", Kind::Integer, false),
    ];
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityMix {
    pub Good: i64,
    pub Normal: i64,
    pub Bad: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceBadSessions {
    pub DeviceId: String,
    /// `field` or `remote`.
    pub DeviceType: String,
    pub BadSessions: i64,
    pub Sessions: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeFleetOverviewResponse {
    pub SessionNum: i64,
    pub QualityMix: QualityMix,
    pub WorstSessions: Vec<SessionSummary>,
    pub DevicesWithMostBadSessions: Vec<DeviceBadSessions>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{from_json, from_pairs, ParamError};

    #[test]
    fn requests_decode_leniently_and_name_their_errors() {
        let r: DescribeSessionsRequest = from_json(
            br#"{"ProjectId": "p", "Quality": "bad", "Live": "true", "PageSize": "20", "Reason": "MultiNet.Rtt"}"#,
        )
        .unwrap();
        assert_eq!(r.Live, Some(true));
        assert_eq!(r.PageSize, Some(20));
        assert_eq!(r.Reason.as_deref(), Some("MultiNet.Rtt"));
        let pairs = [
            ("ProjectId".to_owned(), "p".to_owned()),
            ("Live".to_owned(), "False".to_owned()),
        ];
        assert_eq!(
            from_pairs::<DescribeSessionsRequest>(&pairs).unwrap().Live,
            Some(false)
        );
        assert_eq!(
            from_json::<DescribeSessionsRequest>(br#"{"Quality": "bad"}"#).unwrap_err(),
            ParamError::Missing("ProjectId".into())
        );
        assert_eq!(
            from_json::<DescribeSessionQualityRequest>(br#"{"SessionId": "s", "Foo": 1}"#)
                .unwrap_err(),
            ParamError::Unknown("Foo".into())
        );
        assert!(matches!(
            from_json::<DescribeFleetOverviewRequest>(br#"{"ProjectId": "p", "StartTime": "soon"}"#),
            Err(ParamError::Type { path, .. }) if path == "StartTime"
        ));
    }

    #[test]
    fn a_switched_off_threshold_is_null_and_whole_numbers_have_no_fraction() {
        let t = QualityThreshold {
            Metric: "Lost".into(),
            Normal: Float(5.0),
            Bad: Float(f64::INFINITY),
            Unit: "%".into(),
            Direction: "above".into(),
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"Metric":"Lost","Normal":5,"Bad":null,"Unit":"%","Direction":"above"}"#
        );
    }
}
