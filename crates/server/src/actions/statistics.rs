//! DescribeSessionStatistics, DescribeSessionStatisticsByInterval, GetTotalDuration,
//! GetDurationDetails (semantics in `domain::usage`); and the console's DescribeFleetOverview, over
//! the same windows (docs/api.md §8.3).

use super::sessions::summary;
use super::{page, Ctx, Handler};
use crate::domain::clock;
use crate::domain::usage::{Interval, Scope};
use crate::errors::DomainError;
use crate::model::usage::Usage;
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

/// The usage columns that GetTotalDurationResponse and DurationDetails share. Voice has no Multi*
/// column in the model, so multi-network voice minutes count as Voice.
macro_rules! usage {
    ($ty:ident { $($extra:tt)* }, $u:expr) => {{
        let u: &Usage = &$u;
        $ty {
            $($extra)*
            Voice: u.voice + u.multi_voice,
            SD: u.video[0],
            HD: u.video[1],
            FHD: u.video[2],
            TwoK: u.video[3],
            FourK: u.video[4],
            Online: u.online,
            MultiSD: u.multi_video[0],
            MultiHD: u.multi_video[1],
            MultiFHD: u.multi_video[2],
            MultiTwoK: u.multi_video[3],
            MultiFourK: u.multi_video[4],
            MultiOnline: u.multi_online,
            DeductDuration: u.deduct(),
        }
    }};
}

/// [from, to) from optional bounds: an absent StartTime is 0 (every session), an absent EndTime is
/// now; EndTime is inclusive (the vendor's examples ask for StartTime = EndTime). Both must be times
/// a request may name (`clock::time`). The window's length is not limited: the work follows the
/// sessions in it (`domain::usage`), and only buckets with sessions are listed.
fn window(ctx: &Ctx<'_>, from: Option<i64>, to: Option<i64>) -> Result<(i64, i64), DomainError> {
    let from = clock::time_opt("StartTime", from)?.unwrap_or(0);
    let end = match clock::time_opt("EndTime", to)? {
        Some(t) => t,
        None => ctx.domain.clock.now().clamp(0, clock::LATEST),
    };
    if end < from {
        return Err(DomainError::invalid(
            "EndTime",
            end.to_string(),
            format!("not before StartTime ({from})"),
        ));
    }
    Ok((from, end + 1))
}

fn scope<'a>(project_id: &'a str, device_id: &'a Option<String>, from: i64, to: i64) -> Scope<'a> {
    // Unset optional device filters may arrive as empty strings from some SDKs.
    Scope {
        project_id,
        device_id: device_id.as_deref().filter(|d| !d.is_empty()),
        from,
        to,
    }
}

#[async_trait]
impl Handler for DescribeSessionStatisticsRequest {
    type Response = DescribeSessionStatisticsResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let (from, to) = window(ctx, self.StartTime, self.EndTime)?;
        let s = ctx
            .domain
            .statistics(ctx.caller, scope(&self.ProjectId, &self.DeviceId, from, to))
            .await?;
        Ok(DescribeSessionStatisticsResponse {
            SessionNum: s.session_num,
            TotalDuration: s.total_minutes,
            ActiveFieldDeviceNum: s.active_field,
            ActiveRemoteDeviceNum: s.active_remote,
            NotBadSessionRatio: s.not_bad_ratio,
        })
    }
}

#[async_trait]
impl Handler for DescribeSessionStatisticsByIntervalRequest {
    type Response = DescribeSessionStatisticsByIntervalResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let interval = match self.StatisticInterval.as_str() {
            "hour" => Interval::Hour,
            "day" => Interval::Day,
            "month" => Interval::Month,
            other => {
                return Err(DomainError::invalid(
                    "StatisticInterval",
                    other,
                    "`hour`, `day` or `month`",
                ))
            }
        };
        let (from, to) = window(ctx, self.StartTime, self.EndTime)?;
        let rows = ctx
            .domain
            .statistics_by_interval(
                ctx.caller,
                scope(&self.ProjectId, &self.DeviceId, from, to),
                interval,
                ctx.tz,
            )
            .await?;
        Ok(DescribeSessionStatisticsByIntervalResponse {
            SessionStatistics: rows
                .into_iter()
                .map(|(start, end, s)| SessionIntervalStatistic {
                    ActiveFieldDeviceNum: s.active_field,
                    ActiveRemoteDeviceNum: s.active_remote,
                    SessionNum: s.session_num,
                    TotalDuration: s.total_minutes,
                    StartTime: start,
                    EndTime: end,
                    NotBadSessionRatio: s.not_bad_ratio,
                })
                .collect(),
        })
    }
}

#[async_trait]
impl Handler for GetTotalDurationRequest {
    type Response = GetTotalDurationResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let (from, to) = window(ctx, Some(self.StartTime), Some(self.EndTime))?;
        let u = ctx
            .domain
            .usage(ctx.caller, scope(&self.ProjectId, &self.DeviceId, from, to))
            .await?;
        Ok(usage!(GetTotalDurationResponse {}, u))
    }
}

fn day(start: i64, u: &Usage) -> DurationDetails {
    usage!(
        DurationDetails {
            SessionTime: start.to_string(),
        },
        u
    )
}

#[async_trait]
impl Handler for GetDurationDetailsRequest {
    type Response = GetDurationDetailsResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(Some(self.PageNum), Some(self.PageSize), "PageNum")?;
        let (from, to) = window(ctx, Some(self.StartTime), Some(self.EndTime))?;
        let (total, days) = ctx
            .domain
            .usage_by_day(
                ctx.caller,
                scope(&self.ProjectId, &self.DeviceId, from, to),
                ctx.tz,
                page,
            )
            .await?;
        let list = days.iter().map(|(start, u)| day(*start, u)).collect();
        Ok(GetDurationDetailsResponse {
            TotalCount: total as i64,
            DurationDetails: list,
        })
    }
}

#[async_trait]
impl Handler for DescribeFleetOverviewRequest {
    type Response = DescribeFleetOverviewResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        // The statistics' window, so that SessionNum is DescribeSessionStatistics' for the same
        // parameters: the sessions that start in it.
        let window = window(ctx, self.StartTime, self.EndTime)?;
        let o = ctx
            .domain
            .fleet_overview(ctx.caller, &self.ProjectId, window)
            .await?;
        Ok(DescribeFleetOverviewResponse {
            SessionNum: (o.good + o.normal + o.bad) as i64,
            QualityMix: QualityMix {
                Good: o.good as i64,
                Normal: o.normal as i64,
                Bad: o.bad as i64,
            },
            WorstSessions: o.worst.iter().map(summary).collect(),
            DevicesWithMostBadSessions: o
                .devices
                .iter()
                .map(|d| DeviceBadSessions {
                    DeviceId: d.device_id.clone(),
                    DeviceType: d.device_type.as_str().to_owned(),
                    BadSessions: d.bad_sessions as i64,
                    Sessions: d.sessions as i64,
                })
                .collect(),
        })
    }
}
