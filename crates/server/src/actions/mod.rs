//! The served actions: one handler per request type (`impl Handler for XRequest`), grouped by area
//! (`projects`, `devices`, `policy`, `callbacks`, `sessions`, `statistics`, and `device`, the device
//! API), the extension actions beside their vendor siblings. `ACTIONS` is the one list of what is
//! served and to whom; the gateway finds a request's action in it once the caller is authenticated
//! (`call`, step 9) and runs it (step 13). Handlers translate wire types to domain calls and back.

mod callbacks;
pub mod device;
mod devices;
mod policy;
mod projects;
mod sessions;
mod statistics;

use crate::domain::device_login::DeviceLogin;
use crate::domain::Domain;
use crate::errors::DomainError;
use crate::model::{AccountId, Page};
use async_trait::async_trait;
use chrono::{FixedOffset, SecondsFormat, TimeZone};
use futures_util::future::BoxFuture;
use serde::Serialize;
use teleoscope_protocol::params::{self, ParamError, Params};
use teleoscope_protocol::wire::*;

/// What a handler knows about its call. `C` is who calls: an account (`AccountId`, signed with an
/// API key or a console session) or a device (`DeviceLogin`, signed with device credentials).
pub struct Ctx<'a, C = AccountId> {
    pub domain: &'a Domain,
    pub caller: &'a C,
    /// The configured time zone of ISO-8601 times and day buckets (docs/api.md §2.10, default +08:00).
    pub tz: FixedOffset,
}

impl<C> Ctx<'_, C> {
    /// `2022-03-22T13:08:04+08:00`, the vendor's `datetime_iso`.
    pub fn iso(&self, ts: i64) -> String {
        self.tz
            .timestamp_opt(ts, 0)
            .single()
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false))
            .unwrap_or_default()
    }
}

/// A request type the server answers; `C` is the caller it answers to (an account unless said).
#[async_trait]
pub trait Handler<C: Sync = AccountId>: Params + Send {
    type Response: Serialize;

    /// Decodes a JSON body (the device API decodes strictly typed first: `device`).
    fn from_json(body: &[u8]) -> Result<Self, ParamError> {
        params::from_json(body)
    }

    async fn handle(self, ctx: &Ctx<'_, C>) -> Result<Self::Response, DomainError>;
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

/// Who signed a request.
pub enum Caller {
    Account(AccountId),
    Device(Box<DeviceLogin>),
}

/// An action run for a caller of type `C`: decode, handle, serialize.
type Run<C> = for<'a> fn(Input<'a>, &'a Ctx<'a, C>) -> BoxFuture<'a, Result<Vec<u8>, ActionError>>;

/// A served action: its name, and how it runs for the caller it answers to.
struct Action {
    name: &'static str,
    runner: Runner,
}

/// How an action runs, by the caller it answers to.
#[derive(Clone, Copy)]
enum Runner {
    Account(Run<AccountId>),
    Device(Run<DeviceLogin>),
}

/// An action answered to accounts (their API keys and console sessions).
const fn account<R: Handler>(name: &'static str) -> Action {
    Action {
        name,
        runner: Runner::Account(run::<AccountId, R>),
    }
}

/// An action answered to devices only (the device API, docs/api.md §4).
const fn device<R: Handler<DeviceLogin>>(name: &'static str) -> Action {
    Action {
        name,
        runner: Runner::Device(run::<DeviceLogin, R>),
    }
}

/// What is served, and to whom: the one list of actions.
const ACTIONS: &[Action] = &[
    account::<CreateProjectRequest>("CreateProject"),
    account::<DescribeProjectListRequest>("DescribeProjectList"),
    account::<DescribeProjectInfoRequest>("DescribeProjectInfo"),
    account::<ModifyProjectRequest>("ModifyProject"),
    account::<DeleteProjectRequest>("DeleteProject"),
    account::<ModifyProjectSecModeRequest>("ModifyProjectSecMode"),
    account::<CreateDeviceRequest>("CreateDevice"),
    account::<DescribeDeviceListRequest>("DescribeDeviceList"),
    account::<DescribeDeviceInfoRequest>("DescribeDeviceInfo"),
    account::<ModifyDeviceRequest>("ModifyDevice"),
    account::<BatchDeleteDevicesRequest>("BatchDeleteDevices"),
    account::<ModifyPolicyRequest>("ModifyPolicy"),
    account::<DescribePolicyRequest>("DescribePolicy"),
    account::<BatchDeletePolicyRequest>("BatchDeletePolicy"),
    account::<ModifyCallbackUrlRequest>("ModifyCallbackUrl"),
    account::<DescribeDeviceSessionListRequest>("DescribeDeviceSessionList"),
    account::<DescribeDeviceSessionDetailsRequest>("DescribeDeviceSessionDetails"),
    account::<DescribeRecentSessionListRequest>("DescribeRecentSessionList"),
    account::<DescribeSessionStatisticsRequest>("DescribeSessionStatistics"),
    account::<DescribeSessionStatisticsByIntervalRequest>("DescribeSessionStatisticsByInterval"),
    account::<GetTotalDurationRequest>("GetTotalDuration"),
    account::<GetDurationDetailsRequest>("GetDurationDetails"),
    // Teleoscope's extension actions (EXTENSION_ACTIONS, docs/api.md §8).
    account::<DescribeSessionsRequest>("DescribeSessions"),
    account::<DescribeSessionQualityRequest>("DescribeSessionQuality"),
    account::<DescribeFleetOverviewRequest>("DescribeFleetOverview"),
    // The device API (docs/api.md §4).
    device::<ReportDeviceStatusRequest>("ReportDeviceStatus"),
    device::<ReportSessionMetricsRequest>("ReportSessionMetrics"),
];

/// Decodes, handles and serializes (the JSON object the envelope wraps).
fn run<'a, C: Sync, R: Handler<C>>(
    input: Input<'a>,
    ctx: &'a Ctx<'a, C>,
) -> BoxFuture<'a, Result<Vec<u8>, ActionError>> {
    Box::pin(async move {
        let req: R = match input {
            Input::Json(body) => R::from_json(body),
            Input::Pairs(pairs) => params::from_pairs(pairs),
        }
        .map_err(ActionError::Params)?;
        let out = req.handle(ctx).await.map_err(ActionError::Domain)?;
        serialize(&out)
    })
}

/// A response serialized; serde_json fails only on non-string map keys, which no wire type has.
pub fn serialize<T: serde::Serialize>(out: &T) -> Result<Vec<u8>, ActionError> {
    serde_json::to_vec(out).map_err(|e| ActionError::Params(ParamError::Malformed(e.to_string())))
}

/// Why a caller cannot call an action (the gateway's step 9).
#[derive(Debug, PartialEq, Eq)]
pub enum NotCallable {
    /// No action of this name is served.
    Unknown(String),
    /// An account's action, called with device credentials.
    AccountsOnly,
    /// A device action, called by an account.
    DevicesOnly,
}

/// An action paired with a caller it answers to, ready to run.
pub enum Call<'a> {
    Account(Run<AccountId>, &'a AccountId),
    Device(Run<DeviceLogin>, &'a DeviceLogin),
}

/// The action named `action`, if `caller` may call it.
pub fn call<'a>(action: &str, caller: &'a Caller) -> Result<Call<'a>, NotCallable> {
    let Some(found) = ACTIONS.iter().find(|a| a.name == action) else {
        return Err(NotCallable::Unknown(action.to_owned()));
    };
    match (found.runner, caller) {
        (Runner::Account(run), Caller::Account(account)) => Ok(Call::Account(run, account)),
        (Runner::Device(run), Caller::Device(login)) => Ok(Call::Device(run, login)),
        (Runner::Account(_), Caller::Device(_)) => Err(NotCallable::AccountsOnly),
        (Runner::Device(_), Caller::Account(_)) => Err(NotCallable::DevicesOnly),
    }
}

impl Call<'_> {
    /// Runs the action on `input`; `tz` is the configured time zone (`Ctx::tz`).
    pub async fn run(
        self,
        input: Input<'_>,
        domain: &Domain,
        tz: FixedOffset,
    ) -> Result<Vec<u8>, ActionError> {
        match self {
            Call::Account(run, caller) => run(input, &Ctx { domain, caller, tz }).await,
            Call::Device(run, caller) => run(input, &Ctx { domain, caller, tz }).await,
        }
    }
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

    #[test]
    fn the_list_serves_the_scope_each_action_to_its_callers() {
        let account = Caller::Account(AccountId("1".into()));
        let device = Caller::Device(Box::new(DeviceLogin {
            account: AccountId("1".into()),
            project_id: "p".into(),
            device_id: "d".into(),
            device: None,
            auto_register: crate::model::AutoRegister::Off,
        }));
        for action in SERVED_ACTIONS.iter().chain(EXTENSION_ACTIONS) {
            assert!(
                matches!(call(action, &account), Ok(Call::Account(..))),
                "{action} is not served to accounts"
            );
            assert_eq!(call(action, &device).err(), Some(NotCallable::AccountsOnly));
        }
        for action in DEVICE_ACTIONS {
            assert!(
                matches!(call(action, &device), Ok(Call::Device(..))),
                "{action} is not served to devices"
            );
            assert_eq!(call(action, &account).err(), Some(NotCallable::DevicesOnly));
        }
        let scope = SERVED_ACTIONS.len() + EXTENSION_ACTIONS.len() + DEVICE_ACTIONS.len();
        assert_eq!(
            ACTIONS.len(),
            scope,
            "the list serves actions outside the scope"
        );
        assert_eq!(
            call("GetLicenses", &account).err(),
            Some(NotCallable::Unknown("GetLicenses".into()))
        );
    }
}
