//! The device API (docs/api.md §4): ReportDeviceStatus and ReportSessionMetrics, answered only to
//! device credentials. Their JSON bodies are decoded strictly typed first, the lenient path only if
//! that fails (`wire::decode_json`): a report is large and sent every few seconds.

use super::{Ctx, Handler};
use crate::domain::device_login::DeviceLogin;
use crate::domain::sessions::{MetricsReport, NetIn, SampleIn};
use crate::errors::DomainError;
use crate::model::sessions::PartMeta;
use async_trait::async_trait;
use teleoscope_protocol::params::ParamError;
use teleoscope_protocol::wire::*;

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

#[async_trait]
impl Handler<DeviceLogin> for ReportDeviceStatusRequest {
    type Response = ReportDeviceStatusResponse;

    fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        decode_json(body)
    }

    async fn handle(self, ctx: &Ctx<'_, DeviceLogin>) -> Result<Self::Response, DomainError> {
        let status = ctx
            .domain
            .report_status(ctx.caller, &self.Status, self.DeviceType.as_deref())
            .await?;
        Ok(ReportDeviceStatusResponse {
            DeviceStatus: status.as_str().to_owned(),
        })
    }
}

#[async_trait]
impl Handler<DeviceLogin> for ReportSessionMetricsRequest {
    type Response = ReportSessionMetricsResponse;

    fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        decode_json(body)
    }

    async fn handle(self, ctx: &Ctx<'_, DeviceLogin>) -> Result<Self::Response, DomainError> {
        let report = MetricsReport {
            session_id: self.SessionId,
            peer_device_id: self.PeerDeviceId,
            start_time: self.StartTime,
            meta: PartMeta {
                ver: self.Ver.unwrap_or_default(),
                sdk_mode: self.SdkMode.unwrap_or_default(),
                width: self.Width.unwrap_or(0),
                height: self.Height.unwrap_or(0),
                config_width: self.ConfigWidth.unwrap_or(0),
                config_height: self.ConfigHeight.unwrap_or(0),
                multi_mode: self.MultiMode.unwrap_or(0),
            },
            device_type: self.DeviceType,
            samples: self.Samples.iter().map(sample_in).collect(),
            last: self.Final.unwrap_or(false),
        };
        let outcome = ctx.domain.report_metrics(ctx.caller, report).await?;
        Ok(ReportSessionMetricsResponse {
            Accepted: outcome.accepted as i64,
            Duplicates: outcome.duplicates as i64,
        })
    }
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
