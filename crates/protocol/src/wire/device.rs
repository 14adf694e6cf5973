//! The device API (docs/api.md §4): this product's extension of the vendor protocol, so these wire
//! types are hand-written rather than generated. Devices call `ReportDeviceStatus` and
//! `ReportSessionMetrics` on the same endpoint, TC3-signed with device credentials.
//!
//! The request types deny unknown fields in their serde derive and cap their lists at
//! [`MAX_SAMPLES`], so a strict typed decode that succeeds means the same as the lenient,
//! schema-checked one (`decode_json`): devices report often, and the strict decode is several times
//! faster. Anything it refuses goes through the lenient path, which accepts numeric strings and names
//! the parameter of an error. Both paths are linear and stop at the first unknown name: serde's
//! `deny_unknown_fields` refuses it as it is read, and the lenient decode stops there too.

use super::Float;
use crate::params::{Field, Kind, Limits, Params, MAX_PAIRS};
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// The most samples in one report (docs/api.md §4.3), and the cap of any list in a device
/// request (a sample's `MultiNet` too).
pub const MAX_SAMPLES: usize = 1800;

/// A report carries up to [`MAX_SAMPLES`] samples; flattened into pairs, the most any request may.
const REPORT_LIMITS: Limits = Limits {
    pairs: MAX_PAIRS,
    elements: MAX_SAMPLES,
};

const fn field(name: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        kind,
        required,
    }
}

/// Decode a device request: strictly typed first, the lenient schema path if that fails.
pub fn decode_json<T: Params>(body: &[u8]) -> Result<T, crate::params::ParamError> {
    serde_json::from_slice(body).or_else(|_| crate::params::from_json(body))
}

/// A strictly typed list of at most [`MAX_SAMPLES`] elements. Refusing a longer one as soon as it
/// has one too many sends the body to the lenient path, which names the list and its length.
struct Capped<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Capped<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CappedVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for CappedVisitor<T> {
            type Value = Capped<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a list of at most {MAX_SAMPLES} elements")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if items.len() == MAX_SAMPLES {
                        return Err(serde::de::Error::invalid_length(MAX_SAMPLES + 1, &self));
                    }
                    items.push(item);
                }
                Ok(Capped(items))
            }
        }

        d.deserialize_seq(CappedVisitor(PhantomData))
    }
}

fn capped<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Capped::deserialize(d).map(|c| c.0)
}

fn capped_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Capped<T>>::deserialize(d).map(|c| c.map(|c| c.0))
}

/// Device actions, answered only to device credentials.
pub const DEVICE_ACTIONS: &[&str] = &["ReportDeviceStatus", "ReportSessionMetrics"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDeviceStatusRequest {
    /// `ready` (heartbeat) or `offline` (logging out).
    pub Status: String,
    /// Only needed when the device registers itself and the project allows both types.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub DeviceType: Option<String>,
}

impl Params for ReportDeviceStatusRequest {
    const FIELDS: &'static [Field] = &[
        field("Status", Kind::String, true),
        field("DeviceType", Kind::String, false),
    ];
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportDeviceStatusResponse {
    /// The device's status after the report: offline, ready or connected.
    pub DeviceStatus: String,
}

/// One link of a bonded connection in one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSample {
    pub NetId: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub NetIp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Rtt: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Lost: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub SendBps: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub RecvBps: Option<i64>,
}

pub const NET_SAMPLE_FIELDS: &[Field] = &[
    field("NetId", Kind::Integer, true),
    field("NetIp", Kind::String, false),
    field("Rtt", Kind::Integer, false),
    field("Lost", Kind::Integer, false),
    field("SendBps", Kind::Integer, false),
    field("RecvBps", Kind::Integer, false),
];

macro_rules! sample {
    ($( $name:ident : $ty:ty => $kind:expr ),* $(,)?) => {
        /// One 2-second sample: the singular of `SessionDeviceDetail`'s metric arrays.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Sample {
            pub TimeOffset: i64,
            $(
                #[serde(skip_serializing_if = "Option::is_none", default)]
                pub $name: Option<$ty>,
            )*
            #[serde(skip_serializing_if = "Option::is_none", default, deserialize_with = "capped_option")]
            pub MultiNet: Option<Vec<NetSample>>,
        }

        pub const SAMPLE_FIELDS: &[Field] = &[
            field("TimeOffset", Kind::Integer, true),
            $( field(stringify!($name), $kind, false), )*
            field("MultiNet", Kind::List(&Kind::Object(NET_SAMPLE_FIELDS)), false),
        ];

        /// The metric fields of [`Sample`], in model order.
        pub const SAMPLE_METRICS: &[&str] = &[$( stringify!($name), )*];

        impl Sample {
            /// Every metric's value if reported, in model order ([`SAMPLE_METRICS`]).
            pub fn metric_values(&self) -> [Option<f64>; SAMPLE_METRICS.len()] {
                [$( self.$name.map(|v| v.to_f64()), )*]
            }

            /// The reported metrics by vendor name, in model order.
            pub fn metrics(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
                [$( (stringify!($name), self.$name.map(|v| v.to_f64())), )*]
                    .into_iter()
                    .filter_map(|(n, v)| v.map(|v| (n, v)))
            }
        }
    };
}

/// Conversion of a sample's scalar to the stored `f64`.
pub trait ToF64: Copy {
    fn to_f64(self) -> f64;
}
impl ToF64 for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }
}
impl ToF64 for Float {
    fn to_f64(self) -> f64 {
        self.0
    }
}

sample! {
    Rate: i64 => Kind::Integer,
    Fps: i64 => Kind::Integer,
    Lost: Float => Kind::Float,
    NetworkLatency: i64 => Kind::Integer,
    VideoLatency: i64 => Kind::Integer,
    CpuUsed: Float => Kind::Float,
    MemUsed: Float => Kind::Float,
    DecodeCost: i64 => Kind::Integer,
    K100: Float => Kind::Float,
    K150: Float => Kind::Float,
    NACK: i64 => Kind::Integer,
    BitRateEstimate: i64 => Kind::Integer,
    EncodeCost: i64 => Kind::Integer,
    CaptureCost: i64 => Kind::Integer,
    RenderCost: i64 => Kind::Integer,
    FrameDelta: i64 => Kind::Integer,
    MaxFrameDelta: i64 => Kind::Integer,
    TotalBitrateEstimate: i64 => Kind::Integer,
    Lag100Duration: i64 => Kind::Integer,
    Lag150Duration: i64 => Kind::Integer,
    ControlLatency: i64 => Kind::Integer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSessionMetricsRequest {
    pub SessionId: String,
    pub PeerDeviceId: String,
    /// The device's start of this session, UNIX seconds; `TimeOffset` counts from it.
    pub StartTime: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Ver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub SdkMode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Width: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Height: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ConfigWidth: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ConfigHeight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub MultiMode: Option<i64>,
    /// Only needed when the device registers itself and the project allows both types.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub DeviceType: Option<String>,
    #[serde(deserialize_with = "capped")]
    pub Samples: Vec<Sample>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub Final: Option<bool>,
}

impl Params for ReportSessionMetricsRequest {
    const FIELDS: &'static [Field] = &[
        field("SessionId", Kind::String, true),
        field("PeerDeviceId", Kind::String, true),
        field("StartTime", Kind::Integer, true),
        field("Ver", Kind::String, false),
        field("SdkMode", Kind::String, false),
        field("Width", Kind::Integer, false),
        field("Height", Kind::Integer, false),
        field("ConfigWidth", Kind::Integer, false),
        field("ConfigHeight", Kind::Integer, false),
        field("MultiMode", Kind::Integer, false),
        field("DeviceType", Kind::String, false),
        field("Samples", Kind::List(&Kind::Object(SAMPLE_FIELDS)), true),
        field("Final", Kind::Boolean, false),
    ];
    const LIMITS: Limits = REPORT_LIMITS;
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportSessionMetricsResponse {
    /// Samples stored by this call.
    pub Accepted: i64,
    /// Samples already stored (same SessionId, DeviceId and TimeOffset) and ignored.
    pub Duplicates: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{from_json, ParamError};

    #[test]
    fn the_product_example_decodes() {
        let body = br#"{"SessionId": "c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1", "PeerDeviceId": "driver_456",
          "StartTime": 1731399569, "Ver": "2.4", "SdkMode": "server2", "Width": 1280, "Height": 720,
          "ConfigWidth": 1920, "ConfigHeight": 1536, "MultiMode": 1,
          "Samples": [{"TimeOffset": 2, "Rate": 0, "Fps": 0, "Lost": 0, "NetworkLatency": -1, "CpuUsed": 35.02,
            "MemUsed": 71.25, "EncodeCost": 0, "BitRateEstimate": 975, "FrameDelta": 48, "MaxFrameDelta": 59,
            "TotalBitrateEstimate": 2635, "NACK": 0, "CaptureCost": 0,
            "MultiNet": [{"NetId": 0, "NetIp": "192.168.11.2", "Rtt": 0, "Lost": 0, "SendBps": 77, "RecvBps": 53}]}],
          "Final": false}"#;
        let r: ReportSessionMetricsRequest = from_json(body).unwrap();
        assert_eq!(r.Samples.len(), 1);
        let s = &r.Samples[0];
        assert_eq!(s.CpuUsed, Some(Float(35.02)));
        assert_eq!(s.metrics().count(), 13);
        assert_eq!(s.MultiNet.as_ref().unwrap()[0].SendBps, Some(77));
        assert_eq!(r.Final, Some(false));
    }

    #[test]
    fn the_strict_path_agrees_with_the_lenient_one_and_falls_back() {
        let body = br#"{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Final":true,
          "Samples":[{"TimeOffset":0,"Rate":800,"CpuUsed":35.02,"MultiNet":[{"NetId":1,"Rtt":5,"Lost":0,"SendBps":1,"RecvBps":2}]}]}"#;
        let strict: ReportSessionMetricsRequest = serde_json::from_slice(body).unwrap();
        assert_eq!(
            strict,
            from_json::<ReportSessionMetricsRequest>(body).unwrap()
        );
        // Numeric strings and nulls are refused by the strict decode but accepted by decode_json.
        let lenient = br#"{"SessionId":"s","PeerDeviceId":"p","StartTime":"1","Ver":null,"Samples":[{"TimeOffset":"0"}]}"#;
        assert!(serde_json::from_slice::<ReportSessionMetricsRequest>(lenient).is_err());
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(lenient)
                .unwrap()
                .StartTime,
            1
        );
        // Unknown fields are still errors, with their path.
        let unknown = br#"{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Samples":[{"TimeOffset":0,"Foo":1}]}"#;
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(unknown).unwrap_err(),
            crate::params::ParamError::Unknown("Samples.0.Foo".into())
        );
    }

    #[test]
    fn both_paths_stop_at_the_first_unknown_name() {
        // The strict decode refuses the first unknown name as it reads it; the lenient one must
        // stop there too: what follows (1 MB of other names, then no JSON) is never parsed.
        let rest: String = (0..100_000).map(|i| format!("\"k{i}\":0,")).collect();
        let body = format!("{{\"Foo\": 1, {rest} ]]] not json");
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(body.as_bytes()).unwrap_err(),
            ParamError::Unknown("Foo".into())
        );
        let body = format!(
            r#"{{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Samples":[{{"TimeOffset":0,"Foo":1,{rest} ]]]"#
        );
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(body.as_bytes()).unwrap_err(),
            ParamError::Unknown("Samples.0.Foo".into())
        );
    }

    fn report_of(samples: usize, nets: usize) -> String {
        let net = r#"{"NetId":0,"Rtt":5}"#;
        let nets = vec![net; nets].join(",");
        let sample = |i: usize| format!(r#"{{"TimeOffset":{i},"Rate":800,"MultiNet":[{nets}]}}"#);
        let samples: Vec<String> = (0..samples).map(sample).collect();
        format!(
            r#"{{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Samples":[{}]}}"#,
            samples.join(",")
        )
    }

    #[test]
    fn lists_over_the_sample_limit_are_too_many_on_both_paths() {
        assert_eq!(MAX_SAMPLES, 1800);
        // At the limit the fast strict decode takes it.
        let full = report_of(MAX_SAMPLES, 1);
        let strict: ReportSessionMetricsRequest = serde_json::from_slice(full.as_bytes()).unwrap();
        assert_eq!(strict.Samples.len(), MAX_SAMPLES);
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(full.as_bytes()).unwrap(),
            strict
        );
        // One more: the strict decode refuses it, the lenient one names the list and its length.
        let over = report_of(MAX_SAMPLES + 1, 1);
        assert!(serde_json::from_slice::<ReportSessionMetricsRequest>(over.as_bytes()).is_err());
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(over.as_bytes()).err(),
            Some(ParamError::TooMany {
                path: "Samples".into(),
                count: MAX_SAMPLES + 1,
                max: MAX_SAMPLES
            })
        );
        let many_nets = report_of(1, MAX_SAMPLES + 1);
        assert_eq!(
            decode_json::<ReportSessionMetricsRequest>(many_nets.as_bytes()).err(),
            Some(ParamError::TooMany {
                path: "Samples.0.MultiNet".into(),
                count: MAX_SAMPLES + 1,
                max: MAX_SAMPLES
            })
        );
        assert_eq!(ReportSessionMetricsRequest::LIMITS.elements, MAX_SAMPLES);
        // A control-plane request keeps the control-plane limit.
        assert_eq!(ReportDeviceStatusRequest::LIMITS, Limits::CONTROL);
    }

    #[test]
    fn unknown_metric_and_wrong_type_are_named() {
        let unknown = br#"{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Samples":[{"TimeOffset":0,"Foo":1}]}"#;
        assert_eq!(
            from_json::<ReportSessionMetricsRequest>(unknown).unwrap_err(),
            crate::params::ParamError::Unknown("Samples.0.Foo".into())
        );
        let float_rate = br#"{"SessionId":"s","PeerDeviceId":"p","StartTime":1,"Samples":[{"TimeOffset":0,"Rate":1.5}]}"#;
        assert!(matches!(
            from_json::<ReportSessionMetricsRequest>(float_rate).unwrap_err(),
            crate::params::ParamError::Type { path, .. } if path == "Samples.0.Rate"
        ));
    }
}
