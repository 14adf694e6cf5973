//! The device API (docs/api.md §4): ReportDeviceStatus and ReportSessionMetrics, answered only to
//! device credentials.

use super::{serialize, ActionError, Input};
use crate::domain::device_login::DeviceLogin;
use crate::domain::sessions::{MetricsReport, NetIn, SampleIn};
use crate::domain::Domain;
use crate::model::sessions::PartMeta;
use teleoscope_protocol::params::{self, Params};
use teleoscope_protocol::wire::*;

fn decode<R: Params>(input: Input<'_>) -> Result<R, ActionError> {
    match input {
        Input::Json(body) => decode_json(body),
        Input::Pairs(pairs) => params::from_pairs(pairs),
    }
    .map_err(ActionError::Params)
}

/// A decoded sample in domain terms. The wire's metric fields and `Metric` share the model's
/// order (tested below), so values move by position.
pub fn sample_in(s: &Sample) -> SampleIn {
    let nets = s
        .MultiNet
        .iter()
        .flatten()
        .map(|n| NetIn {
            net_id: n.NetId,
            net_ip: n.NetIp.clone(),
            values: [n.Rtt, n.Lost, n.SendBps, n.RecvBps].map(|v| v.map(|v| v as f64)),
        })
        .collect();
    SampleIn {
        time_offset: s.TimeOffset,
        metrics: s.metric_values(),
        nets,
    }
}

/// Runs a device action; `None` if `action` is not one.
pub async fn dispatch(
    action: &str,
    input: Input<'_>,
    domain: &Domain,
    login: &DeviceLogin,
) -> Option<Result<Vec<u8>, ActionError>> {
    let domain_err = ActionError::Domain;
    Some(match action {
        "ReportDeviceStatus" => {
            async {
                let req: ReportDeviceStatusRequest = decode(input)?;
                let status = domain
                    .report_status(login, &req.Status, req.DeviceType.as_deref())
                    .await
                    .map_err(domain_err)?;
                serialize(&ReportDeviceStatusResponse {
                    DeviceStatus: status.as_str().to_owned(),
                })
            }
            .await
        }
        "ReportSessionMetrics" => {
            async {
                let req: ReportSessionMetricsRequest = decode(input)?;
                let report = MetricsReport {
                    session_id: req.SessionId,
                    peer_device_id: req.PeerDeviceId,
                    start_time: req.StartTime,
                    meta: PartMeta {
                        ver: req.Ver.unwrap_or_default(),
                        sdk_mode: req.SdkMode.unwrap_or_default(),
                        width: req.Width.unwrap_or(0),
                        height: req.Height.unwrap_or(0),
                        config_width: req.ConfigWidth.unwrap_or(0),
                        config_height: req.ConfigHeight.unwrap_or(0),
                        multi_mode: req.MultiMode.unwrap_or(0),
                    },
                    device_type: req.DeviceType,
                    samples: req.Samples.iter().map(sample_in).collect(),
                    last: req.Final.unwrap_or(false),
                };
                let outcome = domain
                    .report_metrics(login, report)
                    .await
                    .map_err(domain_err)?;
                serialize(&ReportSessionMetricsResponse {
                    Accepted: outcome.accepted as i64,
                    Duplicates: outcome.duplicates as i64,
                })
            }
            .await
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::model::samples::Metric;
    use teleoscope_protocol::wire::SAMPLE_METRICS;

    #[test]
    fn wire_metrics_and_domain_metrics_share_the_model_order() {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(SAMPLE_METRICS, names.as_slice());
    }
}
