//! The three error layers and the one place they are mapped:
//! `StoreError` (what the database said) -> `DomainError` (what went wrong for the product) ->
//! `ApiError` (the vendor code and message the client sees). The matches are exhaustive on purpose:
//! a new variant must be given a code here. Internal causes are logged under the RequestId and never
//! shown to clients (they get `InternalError`).

use std::borrow::Cow;
use teleoscope_protocol::error::{ApiError, Code};

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

    /// Whether the cause must be hidden from the client and logged instead.
    pub fn is_internal(&self) -> bool {
        match self {
            DomainError::Store(StoreError::Conflict)
            | DomainError::Store(StoreError::Database(_))
            | DomainError::Store(StoreError::Corrupt(_))
            | DomainError::Secret(_) => true,
            // Logged once by the store, with its cause, not once per request.
            DomainError::Store(StoreError::Full(_))
            | DomainError::NotFound { .. }
            | DomainError::InvalidValue { .. }
            | DomainError::InvalidHttpUrl { .. }
            | DomainError::AlreadyExists { .. }
            | DomainError::Denied(_) => false,
        }
    }
}

impl From<&DomainError> for ApiError {
    fn from(err: &DomainError) -> ApiError {
        match err {
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
            DomainError::Store(StoreError::Conflict)
            | DomainError::Store(StoreError::Database(_))
            | DomainError::Store(StoreError::Corrupt(_))
            | DomainError::Secret(_) => ApiError::internal(),
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
        let e = ApiError::from(&DomainError::invalid("Ver", "x".repeat(100), "at most 32"));
        assert!(e.en.contains("… (100 characters)"), "{}", e.en);
    }
}
