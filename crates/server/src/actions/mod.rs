//! The served actions: one handler per request type (`impl Handler for XRequest`), grouped by area
//! (`projects`, `devices`, `policy`, `callbacks`, `sessions`, `statistics`), the extension actions
//! beside their vendor siblings. `dispatch` is the one list of what is served; the gateway calls it
//! after authentication. Handlers translate wire types to domain calls and back.

mod callbacks;
pub mod device;
mod devices;
mod policy;
mod projects;
mod sessions;
mod statistics;

use crate::domain::Domain;
use crate::errors::DomainError;
use crate::model::{AccountId, Page};
use async_trait::async_trait;
use chrono::{FixedOffset, SecondsFormat, TimeZone};
use serde::Serialize;
use teleoscope_protocol::params::{self, ParamError, Params};
use teleoscope_protocol::wire::*;

/// What a handler knows about its call.
pub struct Ctx<'a> {
    pub domain: &'a Domain,
    pub account: &'a AccountId,
    /// The configured time zone of ISO-8601 times and day buckets (docs/api.md §2.10, default +08:00).
    pub tz: FixedOffset,
}

impl Ctx<'_> {
    /// `2022-03-22T13:08:04+08:00`, the vendor's `datetime_iso`.
    pub fn iso(&self, ts: i64) -> String {
        self.tz
            .timestamp_opt(ts, 0)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
            .unwrap_or_default()
    }
}

#[async_trait]
pub trait Handler: Params + Send {
    type Response: Serialize;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError>;
}

/// The business parameters as they arrived.
pub enum Input<'a> {
    /// A JSON body (TC3 POST).
    Json(&'a [u8]),
    /// Flattened pairs (GET query, v1 form), common parameters removed.
    Pairs(&'a [(String, String)]),
}

#[derive(Debug)]
pub enum ActionError {
    Params(ParamError),
    Domain(DomainError),
}

/// Decodes, handles and serializes (the JSON object the envelope wraps).
async fn run<R: Handler>(input: Input<'_>, ctx: &Ctx<'_>) -> Result<Vec<u8>, ActionError> {
    let req: R = match input {
        Input::Json(body) => params::from_json(body),
        Input::Pairs(pairs) => params::from_pairs(pairs),
    }
    .map_err(ActionError::Params)?;
    let out = req.handle(ctx).await.map_err(ActionError::Domain)?;
    serialize(&out)
}

/// A response serialized; serde_json fails only on non-string map keys, which no wire type has.
pub fn serialize<T: serde::Serialize>(out: &T) -> Result<Vec<u8>, ActionError> {
    serde_json::to_vec(out).map_err(|e| ActionError::Params(ParamError::Malformed(e.to_string())))
}

/// Runs a served action; `None` if `action` is not one (the gateway decides between
/// `UnsupportedOperation` and `InvalidAction`).
pub async fn dispatch(
    action: &str,
    input: Input<'_>,
    ctx: &Ctx<'_>,
) -> Option<Result<Vec<u8>, ActionError>> {
    Some(match action {
        "CreateProject" => run::<CreateProjectRequest>(input, ctx).await,
        "DescribeProjectList" => run::<DescribeProjectListRequest>(input, ctx).await,
        "DescribeProjectInfo" => run::<DescribeProjectInfoRequest>(input, ctx).await,
        "ModifyProject" => run::<ModifyProjectRequest>(input, ctx).await,
        "DeleteProject" => run::<DeleteProjectRequest>(input, ctx).await,
        "ModifyProjectSecMode" => run::<ModifyProjectSecModeRequest>(input, ctx).await,
        "CreateDevice" => run::<CreateDeviceRequest>(input, ctx).await,
        "DescribeDeviceList" => run::<DescribeDeviceListRequest>(input, ctx).await,
        "DescribeDeviceInfo" => run::<DescribeDeviceInfoRequest>(input, ctx).await,
        "ModifyDevice" => run::<ModifyDeviceRequest>(input, ctx).await,
        "BatchDeleteDevices" => run::<BatchDeleteDevicesRequest>(input, ctx).await,
        "ModifyPolicy" => run::<ModifyPolicyRequest>(input, ctx).await,
        "DescribePolicy" => run::<DescribePolicyRequest>(input, ctx).await,
        "BatchDeletePolicy" => run::<BatchDeletePolicyRequest>(input, ctx).await,
        "ModifyCallbackUrl" => run::<ModifyCallbackUrlRequest>(input, ctx).await,
        "DescribeDeviceSessionList" => run::<DescribeDeviceSessionListRequest>(input, ctx).await,
        "DescribeDeviceSessionDetails" => {
            run::<DescribeDeviceSessionDetailsRequest>(input, ctx).await
        }
        "DescribeRecentSessionList" => run::<DescribeRecentSessionListRequest>(input, ctx).await,
        "DescribeSessionStatistics" => run::<DescribeSessionStatisticsRequest>(input, ctx).await,
        "DescribeSessionStatisticsByInterval" => {
            run::<DescribeSessionStatisticsByIntervalRequest>(input, ctx).await
        }
        "GetTotalDuration" => run::<GetTotalDurationRequest>(input, ctx).await,
        "GetDurationDetails" => run::<GetDurationDetailsRequest>(input, ctx).await,
        // Teleoscope's extension actions (EXTENSION_ACTIONS, docs/api.md §8).
        "DescribeSessions" => run::<DescribeSessionsRequest>(input, ctx).await,
        "DescribeSessionQuality" => run::<DescribeSessionQualityRequest>(input, ctx).await,
        "DescribeFleetOverview" => run::<DescribeFleetOverviewRequest>(input, ctx).await,
        _ => return None,
    })
}

/// Paging of docs/api.md §2.5: number from 1, size 1..=100, defaults 1 and 10; zero means "not set"
/// (the vendor's DescribeProjectList example sends `"PageNumber": 0` and gets the first page).
pub fn page(
    number: Option<i64>,
    size: Option<i64>,
    number_param: &'static str,
) -> Result<Page, DomainError> {
    let number = match number.unwrap_or(0) {
        0 => 1,
        n if n < 0 => {
            return Err(DomainError::invalid(
                number_param,
                n.to_string(),
                "an integer of at least 1 (0 means 1)",
            ))
        }
        n => n as u64,
    };
    let size = match size.unwrap_or(0) {
        0 => 10,
        s if !(1..=100).contains(&s) => {
            return Err(DomainError::invalid(
                "PageSize",
                s.to_string(),
                "an integer from 1 to 100 (0 means 10)",
            ))
        }
        s => s as u64,
    };
    Ok(Page { number, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_rules() {
        assert_eq!(
            page(None, None, "PageNumber").unwrap(),
            Page {
                number: 1,
                size: 10
            }
        );
        assert_eq!(
            page(Some(0), Some(0), "PageNumber").unwrap(),
            Page {
                number: 1,
                size: 10
            }
        );
        assert_eq!(
            page(Some(3), Some(100), "PageNumber").unwrap(),
            Page {
                number: 3,
                size: 100
            }
        );
        assert!(page(Some(-1), None, "PageNumber").is_err());
        assert!(page(None, Some(101), "PageNumber").is_err());
        assert!(page(None, Some(-5), "PageNumber").is_err());
    }

    #[tokio::test]
    async fn every_action_of_the_scope_is_dispatched() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config {
            database: format!("sqlite://{}", dir.path().join("t.db").display()),
            ..Default::default()
        };
        let domain = crate::open_domain(&config).unwrap();
        let account = crate::model::AccountId("1".into());
        let ctx = Ctx {
            domain: &domain,
            account: &account,
            tz: config.time_zone,
        };
        for action in SERVED_ACTIONS.iter().chain(EXTENSION_ACTIONS) {
            assert!(
                dispatch(action, Input::Json(b"{}"), &ctx).await.is_some(),
                "{action} is not dispatched"
            );
        }
        assert!(dispatch("GetLicenses", Input::Json(b"{}"), &ctx)
            .await
            .is_none());
    }
}
