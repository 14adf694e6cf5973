//! DescribeDeviceSessionList, DescribeDeviceSessionDetails, DescribeRecentSessionList; and the
//! console's DescribeSessions and DescribeSessionQuality (docs/api.md §8).

use super::{page, Ctx, Handler};
use crate::domain::clock;
use crate::domain::incidents::{self, Incident as Found, Threshold};
use crate::errors::DomainError;
use crate::model::quality::{Grade, Reason, REASON_METRICS};
use crate::model::samples::{Columns, Metric};
use crate::model::sessions::{PartSamples, SessionFilter, SessionRow, SessionSamples};
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

/// `SessionInfo.Resolution` is `<Width>*<Height>` of the field device's video (docs/api.md §2.8); empty
/// until the field device has reported.
fn resolution(s: &SessionRow) -> String {
    if s.has_field_part {
        format!("{}*{}", s.width, s.height)
    } else {
        String::new()
    }
}

/// Unset optional device filters may arrive as empty strings from some SDKs.
fn device_filter(d: Option<String>) -> Option<String> {
    d.filter(|d| !d.is_empty())
}

#[async_trait]
impl Handler for DescribeDeviceSessionListRequest {
    type Response = DescribeDeviceSessionListResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(Some(self.PageNumber), Some(self.PageSize), "PageNumber")?;
        // The seed's example sends `"StartTime": "0"`: zero is "from the beginning".
        let filter = SessionFilter {
            device_id: device_filter(self.DeviceId),
            from: clock::time_opt("StartTime", self.StartTime)?.filter(|t| *t > 0),
            to: clock::time_opt("EndTime", self.EndTime)?.filter(|t| *t > 0),
            ..Default::default()
        };
        let (total, rows) = ctx
            .domain
            .list_sessions(ctx.caller, &self.ProjectId, &filter, page)
            .await?;
        let list: Vec<SessionInfo> = rows
            .iter()
            .map(|s| SessionInfo {
                SessionId: s.session_id.clone(),
                RemoteDeviceId: s.remote_device_id.clone(),
                FieldDeviceId: s.field_device_id.clone(),
                Resolution: resolution(s),
                StartTime: s.start_time,
                EndTime: s.end_time,
                Quality: s.quality.as_str().to_owned(),
            })
            .collect();
        Ok(DescribeDeviceSessionListResponse {
            Total: total as i64,
            Num: list.len() as i64,
            DeviceSessionList: list,
        })
    }
}

#[async_trait]
impl Handler for DescribeRecentSessionListRequest {
    type Response = DescribeRecentSessionListResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(Some(self.PageNumber), Some(self.PageSize), "PageNumber")?;
        // api.json: the window is at most the last two hours; an absent or out-of-range StartTime is
        // two hours ago, an absent or out-of-range EndTime is now. "Out of range" is a time outside
        // those two hours; a value that is no time at all (negative, past year 9999) is refused as
        // for every other action.
        let now = ctx.domain.clock.now();
        let earliest = now - 2 * 3600;
        let within = |t: Option<i64>| t.filter(|t| (earliest..=now).contains(t));
        let from = within(clock::time_opt("StartTime", self.StartTime)?).unwrap_or(earliest);
        let to = within(clock::time_opt("EndTime", self.EndTime)?).unwrap_or(now);
        let filter = SessionFilter {
            device_id: device_filter(self.DeviceId),
            from: None,
            to: Some(to),
            updated_since: Some(from),
            ..Default::default()
        };
        let (total, rows) = ctx
            .domain
            .list_sessions(ctx.caller, &self.ProjectId, &filter, page)
            .await?;
        let list: Vec<RecentSessionInfo> = rows
            .iter()
            .map(|s| RecentSessionInfo {
                SessionId: s.session_id.clone(),
                RemoteDeviceId: s.remote_device_id.clone(),
                FieldDeviceId: s.field_device_id.clone(),
                Resolution: resolution(s),
                StartTime: s.start_time,
                LatestUpdateTime: s.last_update,
            })
            .collect();
        Ok(DescribeRecentSessionListResponse {
            Total: total as i64,
            Num: list.len() as i64,
            RecentSessionList: list,
        })
    }
}

fn floats(v: Option<&[f64]>) -> Vec<Float> {
    v.map(|v| v.iter().map(|x| Float(*x)).collect())
        .unwrap_or_default()
}

fn ints(v: Option<&[f64]>) -> Vec<i64> {
    v.map(|v| v.iter().map(|x| *x as i64).collect())
        .unwrap_or_default()
}

fn detail(session_id: &str, project_id: &str, d: PartSamples) -> SessionDeviceDetail {
    let c: &Columns = &d.columns;
    let p = &d.part;
    let i = |m: Metric| ints(c.metric(m));
    let f = |m: Metric| floats(c.metric(m));
    // With a time cut, the span is that of the points shown; TimeOffset stays relative to the
    // device's StartTime, so StartTime + TimeOffset is always a point's time.
    let end = p.start_time + c.time_offset.last().copied().unwrap_or(0);
    SessionDeviceDetail {
        DeviceType: p.device_type.as_str().to_owned(),
        StartTime: p.start_time,
        EndTime: end,
        SessionId: session_id.to_owned(),
        Rate: i(Metric::Rate),
        Fps: i(Metric::Fps),
        Lost: f(Metric::Lost),
        NetworkLatency: i(Metric::NetworkLatency),
        VideoLatency: i(Metric::VideoLatency),
        CpuUsed: f(Metric::CpuUsed),
        MemUsed: f(Metric::MemUsed),
        TimeOffset: c.time_offset.clone(),
        ProjectId: project_id.to_owned(),
        DeviceId: p.device_id.clone(),
        Ver: p.meta.ver.clone(),
        SdkMode: p.meta.sdk_mode.clone(),
        DecodeCost: i(Metric::DecodeCost),
        K100: f(Metric::K100),
        K150: f(Metric::K150),
        NACK: i(Metric::NACK),
        BitRateEstimate: i(Metric::BitRateEstimate),
        Width: p.meta.width,
        Height: p.meta.height,
        EncodeCost: i(Metric::EncodeCost),
        CaptureCost: i(Metric::CaptureCost),
        RenderCost: i(Metric::RenderCost),
        ConfigWidth: p.meta.config_width,
        ConfigHeight: p.meta.config_height,
        FrameDelta: i(Metric::FrameDelta),
        MaxFrameDelta: i(Metric::MaxFrameDelta),
        TotalBitrateEstimate: i(Metric::TotalBitrateEstimate),
        Lag100Duration: i(Metric::Lag100Duration),
        Lag150Duration: i(Metric::Lag150Duration),
        MultiMode: p.meta.multi_mode,
        MultiNet: c
            .nets
            .iter()
            .map(|n| MultiNet {
                NetId: n.net_id,
                NetIp: n.net_ip.clone(),
                Rtt: ints(Some(&n.rtt)),
                Lost: ints(Some(&n.lost)),
                SendBps: ints(Some(&n.send_bps)),
                RecvBps: ints(Some(&n.recv_bps)),
            })
            .collect(),
        ControlLatency: i(Metric::ControlLatency),
    }
}

#[async_trait]
impl Handler for DescribeDeviceSessionDetailsRequest {
    type Response = DescribeDeviceSessionDetailsResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let from = clock::time_opt("StartTime", self.StartTime)?;
        let to = clock::time_opt("EndTime", self.EndTime)?;
        let SessionSamples { session, parts } = ctx
            .domain
            .session_details(ctx.caller, &self.SessionId, from, to)
            .await?;
        // Field first, then remote (docs/api.md §2.7): the store returns them in that order.
        let details = parts
            .into_iter()
            .map(|d| detail(&session.session_id, &session.project_id, d))
            .collect();
        Ok(DescribeDeviceSessionDetailsResponse { Details: details })
    }
}

/// The reasons stored with a session, on the wire.
fn wire_reasons(reasons: &[Reason]) -> Vec<QualityReason> {
    reasons
        .iter()
        .map(|r| QualityReason {
            DeviceType: r.device_type.as_str().to_owned(),
            Grade: r.grade.as_str().to_owned(),
            Metric: r.metric.clone(),
            Text: r.text.clone(),
        })
        .collect()
}

/// A session as the console's lists show it (DescribeSessions, DescribeFleetOverview).
pub(super) fn summary(s: &SessionRow) -> SessionSummary {
    SessionSummary {
        SessionId: s.session_id.clone(),
        FieldDeviceId: s.field_device_id.clone(),
        RemoteDeviceId: s.remote_device_id.clone(),
        StartTime: s.start_time,
        EndTime: s.end_time,
        Duration: s.end_time - s.start_time,
        Resolution: resolution(s),
        MultiMode: s.multi_mode,
        Quality: s.quality.as_str().to_owned(),
        QualityFinal: s.quality_final,
        Live: s.live,
        Reasons: wire_reasons(&s.reasons),
    }
}

/// An optional string filter: absent or empty is "any" (some clients send unset strings as "").
fn chosen(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

#[async_trait]
impl Handler for DescribeSessionsRequest {
    type Response = DescribeSessionsResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(self.PageNumber, self.PageSize, "PageNumber")?;
        // As DescribeDeviceSessionList: zero is an open bound. Both given, they must be in order.
        let from = clock::time_opt("StartTime", self.StartTime)?.filter(|t| *t > 0);
        let to = clock::time_opt("EndTime", self.EndTime)?.filter(|t| *t > 0);
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                return Err(DomainError::invalid(
                    "EndTime",
                    to.to_string(),
                    format!("not before StartTime ({from})"),
                ));
            }
        }
        let quality =
            match chosen(&self.Quality) {
                None => None,
                Some(q) => Some(Grade::parse(q).ok_or_else(|| {
                    DomainError::invalid("Quality", q, "`good`, `normal` or `bad`")
                })?),
            };
        let reason = match chosen(&self.Reason) {
            None => None,
            Some(r) if REASON_METRICS.contains(&r) => Some(r.to_owned()),
            Some(r) => {
                let allowed: Vec<String> =
                    REASON_METRICS.iter().map(|m| format!("`{m}`")).collect();
                return Err(DomainError::invalid(
                    "Reason",
                    r,
                    format!("the metric of a reason: {}", allowed.join(", ")),
                ));
            }
        };
        let filter = SessionFilter {
            device_id: device_filter(self.DeviceId),
            from,
            to,
            updated_since: None,
            quality,
            reason,
            live: self.Live,
            by_start: self.ByStart.unwrap_or(false),
        };
        let (total, rows) = ctx
            .domain
            .list_sessions(ctx.caller, &self.ProjectId, &filter, page)
            .await?;
        let sessions: Vec<SessionSummary> = rows.iter().map(summary).collect();
        Ok(DescribeSessionsResponse {
            Total: total as i64,
            Num: sessions.len() as i64,
            Sessions: sessions,
        })
    }
}

fn wire_incident(i: &Found) -> Incident {
    Incident {
        DeviceType: i.device_type.as_str().to_owned(),
        Kind: i.kind.as_str().to_owned(),
        NetId: i.net_id.unwrap_or(-1),
        StartTime: i.start,
        EndTime: i.end,
        Peak: Float(i.peak),
        Text: i.text.clone(),
    }
}

fn wire_threshold(t: &Threshold) -> QualityThreshold {
    QualityThreshold {
        Metric: t.metric.to_owned(),
        Normal: Float(t.normal),
        Bad: Float(t.bad),
        Unit: t.unit.to_owned(),
        Direction: t.direction.as_str().to_owned(),
    }
}

#[async_trait]
impl Handler for DescribeSessionQualityRequest {
    type Response = DescribeSessionQualityResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let found = ctx
            .domain
            .session_quality(ctx.caller, &self.SessionId)
            .await?;
        let settings = &ctx.domain.settings;
        let s = &found.session;
        Ok(DescribeSessionQualityResponse {
            SessionId: s.session_id.clone(),
            ProjectId: s.project_id.clone(),
            Quality: s.quality.as_str().to_owned(),
            QualityFinal: s.quality_final,
            Reasons: wire_reasons(&s.reasons),
            Incidents: found.incidents.iter().map(wire_incident).collect(),
            Thresholds: incidents::thresholds(&settings.quality)
                .iter()
                .map(wire_threshold)
                .collect(),
            LatencyBudgetMs: settings.latency_budget_ms.into(),
        })
    }
}
