//! The error edge: every mapping of an error to the vendor code and message the client sees, in one
//! place. The three layers `StoreError` (what the database said) -> `DomainError` (what went wrong
//! for the product) -> `ApiError`, and the refusals of the request path: business parameters
//! (`ParamError`), an action the caller may not call (`NotCallable`), a body not read (`Refused`),
//! a rate limit (`Exceeded`), the brake on guessing (`Blocked`), a device login (`LoginRefusal`).
//! The matches are exhaustive on purpose: a new variant must be given a code here.
//!
//! An internal cause is logged where it becomes `InternalError` (`From<DomainError>`), never shown to
//! the client; the gateway runs every request in a span carrying its RequestId, so the log line is
//! found from the RequestId the client got.

use crate::actions::{ActionError, NotCallable};
use crate::config::Config;
use crate::domain::device_login::LoginRefusal;
use crate::http::auth_failures::Blocked;
use crate::http::bodies::Refused;
use crate::http::ratelimit::{Exceeded, Limited};
use crate::model::sessions::AppendRejection;
use std::borrow::Cow;
use teleoscope_protocol::error::{ApiError, Code};
use teleoscope_protocol::params::ParamError;
use teleoscope_protocol::wire::VENDOR_ACTIONS;

/// Values longer than this many characters are cut in messages.
const SHOWN_CHARS: usize = 64;

/// A value as a message shows it: control characters escaped (`\u{0}`), and a long value cut to
/// its first characters and its length, so that a 9 MB parameter is not echoed back whole.
fn shown(value: &str) -> Cow<'_, str> {
    let n = value.chars().count();
    if n <= SHOWN_CHARS && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let mut out = String::new();
    for c in value.chars().take(SHOWN_CHARS / 2) {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    if n > SHOWN_CHARS / 2 {
        out.push_str(&format!("… ({n} characters)"));
    }
    Cow::Owned(out)
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (the row already exists).
    #[error("already exists")]
    Conflict,
    #[error("database: {0}")]
    Database(String),
    /// A write failed for lack of space: the disk is full, or the database is at its configured
    /// size limit. Retryable; the store logs it once and reports not-ready while it lasts.
    #[error("the store cannot write, the disk or the database is full: {0}")]
    Full(String),
    #[error("data store is corrupt or unreadable: {0}")]
    Corrupt(String),
    /// The database cannot be reached (restarting, or the network to it down). Retryable; `/readyz`
    /// reports not ready while it lasts, and the store reconnects by itself.
    #[error("the store's database is unreachable: {0}")]
    Unavailable(String),
    /// The writer is behind: its queue is full. Refused at once rather than queued without bound,
    /// so the caller's retry meets a shorter queue; nothing was stored.
    #[error("the store's write queue is full")]
    Busy,
}

/// The kind of object a caller asked for; names the object in `ResourceNotFound` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Account,
    Project,
    Device,
    Session,
}

impl Resource {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Resource::Account => ("account", "账号"),
            Resource::Project => ("project", "项目"),
            Resource::Device => ("device", "设备"),
            Resource::Session => ("session", "会话"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Missing or owned by another account: the two must look the same (docs/api.md §2.9).
    #[error("{kind:?} {id} not found")]
    NotFound { kind: Resource, id: String },
    /// A well-typed value that breaks a rule: the parameter, the value, and what is allowed.
    #[error("invalid {param}={value}: {allowed}")]
    InvalidValue {
        /// A name (`Ver`) or a path (`Samples.0.MultiNet.1.NetIp`).
        param: Cow<'static, str>,
        value: String,
        allowed: String,
    },
    /// ModifyCallbackUrl: not an http(s) URL (TRRO code `InvalidParameterValue.InvalidHttpUrl`).
    #[error("invalid callback url {value}")]
    InvalidHttpUrl { value: String },
    /// A value that would duplicate an existing object.
    #[error("{param}={value} already exists")]
    AlreadyExists { param: &'static str, value: String },
    /// The request is well-formed but the product's rules forbid it (policy, device type, ...).
    #[error("denied: {0}")]
    Denied(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A secret could not be opened (wrong or missing master key).
    #[error("secret: {0}")]
    Secret(String),
}

impl DomainError {
    pub fn invalid(
        param: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        DomainError::InvalidValue {
            param: param.into(),
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    pub fn not_found(kind: Resource, id: impl Into<String>) -> Self {
        DomainError::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// Samples the store refused to append to a session (`AppendRejection`), as the parameter that
    /// caused it.
    pub fn append_rejected(r: AppendRejection, session_id: &str, peer_device_id: &str) -> Self {
        match r {
            AppendRejection::SessionInOtherProject => DomainError::invalid(
                "SessionId",
                session_id,
                "a session id not used by another project",
            ),
            AppendRejection::OtherDevice {
                device_type,
                existing,
            } => DomainError::invalid(
                "SessionId",
                session_id,
                format!(
                    "a session has one {} device, and this one's is `{existing}`",
                    device_type.as_str()
                ),
            ),
            AppendRejection::PeerMismatch { expected } => DomainError::invalid(
                "PeerDeviceId",
                peer_device_id,
                format!("the session's other device, `{expected}`"),
            ),
            AppendRejection::SchemaMismatch { expected, got } => DomainError::invalid(
                "Samples",
                format!("metrics/links {got}"),
                format!("the same metrics and links as this device's earlier samples of the session ({expected})"),
            ),
            // Only a `joined_only` append is refused so, and the domain then takes the full path.
            AppendRejection::NotJoined => DomainError::Store(StoreError::Database(
                "a joined_only append's refusal reached the client".into(),
            )),
        }
    }
}

/// The client's view of a domain error: its own code, or `InternalError` with the cause logged (a
/// full store is logged once by the store, with its cause, not once per request).
impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> ApiError {
        match &err {
            DomainError::NotFound { kind, id } => {
                let (en, zh) = kind.names();
                ApiError::not_found(en, zh, &shown(id))
            }
            DomainError::InvalidValue {
                param,
                value,
                allowed,
            } => ApiError::invalid_value(param, &shown(value), allowed),
            DomainError::InvalidHttpUrl { value } => {
                let value = shown(value);
                ApiError::new(
                Code::InvalidParameterValueInvalidHttpUrl,
                format!("The value `{value}` of parameter `CallbackUrl` is not valid: an absolute http:// or https:// URL with a host."),
                format!("参数 `CallbackUrl` 的取值 `{value}` 无效：应为带主机名的 http:// 或 https:// 地址。"),
            )
            }
            // The vendor documents no code for duplicates; InvalidParameterValue is the code its
            // CreateDevice page lists for a bad DeviceId (tccli trro model, CreateDevice errors).
            DomainError::AlreadyExists { param, value } => {
                let value = shown(value);
                ApiError::new(
                Code::InvalidParameterValue,
                format!("The value `{value}` of parameter `{param}` is already in use; choose another."),
                format!("参数 `{param}` 的取值 `{value}` 已存在，请更换。"),
            )
            }
            DomainError::Denied(reason) => ApiError::new(
                Code::OperationDenied,
                format!("The operation is denied: {reason}."),
                format!("操作被拒绝：{reason}。"),
            ),
            DomainError::Store(StoreError::Full(_)) => ApiError::store_full(),
            DomainError::Store(StoreError::Busy) => ApiError::store_busy(),
            DomainError::Store(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "the store is unreachable");
                ApiError::store_unavailable()
            }
            DomainError::Store(StoreError::Conflict)
            | DomainError::Store(StoreError::Database(_))
            | DomainError::Store(StoreError::Corrupt(_))
            | DomainError::Secret(_) => {
                tracing::error!(error = %err, "internal error");
                ApiError::internal()
            }
        }
    }
}

/// A request's business parameters refused (`ApiError` and `ParamError` are both the protocol
/// crate's, so this is a function rather than a `From`).
pub fn param_error(e: &ParamError) -> ApiError {
    match e {
        ParamError::Malformed(detail) => ApiError::malformed(detail),
        ParamError::Unknown(path) => ApiError::unknown_parameter(path),
        ParamError::TooMany { path, count, max } => ApiError::invalid_value(
            path,
            &format!("{count} elements"),
            &format!("at most {max} elements"),
        ),
        ParamError::TooManyPairs { count, max } => ApiError::new(
            Code::InvalidParameter,
            format!("The request has {count} parameters; at most {max} are allowed."),
            format!("请求参数共 {count} 个，最多允许 {max} 个。"),
        ),
        ParamError::Missing(path) => ApiError::missing_parameter(path),
        ParamError::Type { path, expected } => ApiError::parameter_type(path, expected),
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> ApiError {
        match e {
            ActionError::Params(p) => param_error(&p),
            ActionError::Domain(d) => d.into(),
        }
    }
}

/// Step 9 (docs/protocol.md §8): an action not served is unsupported if the vendor has it (media
/// and billing), invalid otherwise; device credentials reach only the device API, and API keys
/// only the control plane.
impl From<NotCallable> for ApiError {
    fn from(e: NotCallable) -> ApiError {
        match e {
            NotCallable::Unknown(action) if VENDOR_ACTIONS.contains(&action.as_str()) => {
                ApiError::unsupported_action(&action)
            }
            NotCallable::Unknown(action) => ApiError::invalid_action(&action),
            NotCallable::AccountsOnly => ApiError::unauthorized(
                "device credentials may call only ReportDeviceStatus and ReportSessionMetrics",
            ),
            NotCallable::DevicesOnly => ApiError::unauthorized(
                "device actions need device credentials (SecretId `<ProjectId>:<DeviceId>`)",
            ),
        }
    }
}

/// The answer to a body that could not be read, `limit` the cap it was read under.
pub fn body_refused(why: Refused, limit: usize, config: &Config) -> ApiError {
    match why {
        Refused::TooLarge => ApiError::request_size_limit(limit),
        Refused::Busy => ApiError::bodies_busy(),
        Refused::TimedOut | Refused::Broken => {
            ApiError::body_timeout(config.body_read_timeout_seconds)
        }
    }
}

/// The same for a v1 request, whose body over the cap gets the vendor's answer: SignatureFailure,
/// naming TC3 (docs/protocol.md §5.2).
pub fn v1_body_refused(why: Refused, limit: usize, config: &Config) -> ApiError {
    match why {
        Refused::TooLarge => ApiError::v1_size_limit(),
        Refused::Busy | Refused::TimedOut | Refused::Broken => body_refused(why, limit, config),
    }
}

impl From<Exceeded> for ApiError {
    fn from(e: Exceeded) -> ApiError {
        ApiError::request_limit(e.count, e.limit)
    }
}

impl From<Limited> for ApiError {
    fn from(r: Limited) -> ApiError {
        match r {
            Limited::Exceeded(e) => e.into(),
            Limited::Store(e) => DomainError::Store(e).into(),
        }
    }
}

/// The brake on guessing (docs/security.md): a SecretId or address in cool-down.
impl From<Blocked> for ApiError {
    fn from(b: Blocked) -> ApiError {
        ApiError::too_many_failed_signatures(b.who, b.retry_after.as_secs().max(1))
    }
}

/// Told only to a caller whose signature with the credential's key is valid (`LoginRefusal`).
impl From<LoginRefusal> for ApiError {
    fn from(r: LoginRefusal) -> ApiError {
        match r {
            LoginRefusal::Expired { expire_time } => ApiError::device_password_expired(expire_time),
            LoginRefusal::ProjectKeyOnly => ApiError::project_key_only(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_and_control_characters_are_not_echoed_as_they_are() {
        assert_eq!(shown("truck_1"), "truck_1");
        assert_eq!(shown(&"a".repeat(64)), "a".repeat(64));
        let cut = shown(&"a".repeat(9_000_000)).into_owned();
        assert_eq!(cut, format!("{}… (9000000 characters)", "a".repeat(32)));
        assert_eq!(shown("v1\u{7}\n"), "v1\\u{7}\\u{a}");
        let e = ApiError::from(DomainError::invalid("Ver", "x".repeat(100), "at most 32"));
        assert!(e.en.contains("… (100 characters)"), "{}", e.en);
    }
}
