//! Error codes of the Tencent Cloud API 3.0 convention and TRRO, with their messages in the two
//! languages the vendor serves (`X-TC-Language` / `Language`: `zh-CN` default, `en-US`).
//!
//! Codes are the contract; messages are for people and always name the parameter, the value and what
//! is allowed. Sources: docs/protocol.md §5 (situation table, the vendor's verbatim messages marked *vendor*).

use std::fmt;

/// Every code this server answers. The string form is exactly the vendor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    AuthFailureInvalidAuthorization,
    AuthFailureInvalidSecretId,
    AuthFailureSecretIdNotFound,
    AuthFailureSignatureExpire,
    AuthFailureSignatureFailure,
    AuthFailureTokenFailure,
    AuthFailureUnauthorizedOperation,
    FailedOperation,
    InternalError,
    InvalidAction,
    InvalidParameter,
    InvalidParameterValue,
    InvalidParameterValueInvalidHttpUrl,
    InvalidRequest,
    LimitExceeded,
    MissingParameter,
    NoSuchVersion,
    OperationDenied,
    RequestLimitExceeded,
    RequestSizeLimitExceeded,
    ResourceInUse,
    ResourceNotFound,
    ServiceUnavailable,
    UnauthorizedOperation,
    UnknownParameter,
    UnsupportedOperation,
    UnsupportedProtocol,
    UnsupportedRegion,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::AuthFailureInvalidAuthorization => "AuthFailure.InvalidAuthorization",
            Code::AuthFailureInvalidSecretId => "AuthFailure.InvalidSecretId",
            Code::AuthFailureSecretIdNotFound => "AuthFailure.SecretIdNotFound",
            Code::AuthFailureSignatureExpire => "AuthFailure.SignatureExpire",
            Code::AuthFailureSignatureFailure => "AuthFailure.SignatureFailure",
            Code::AuthFailureTokenFailure => "AuthFailure.TokenFailure",
            Code::AuthFailureUnauthorizedOperation => "AuthFailure.UnauthorizedOperation",
            Code::FailedOperation => "FailedOperation",
            Code::InternalError => "InternalError",
            Code::InvalidAction => "InvalidAction",
            Code::InvalidParameter => "InvalidParameter",
            Code::InvalidParameterValue => "InvalidParameterValue",
            Code::InvalidParameterValueInvalidHttpUrl => "InvalidParameterValue.InvalidHttpUrl",
            Code::InvalidRequest => "InvalidRequest",
            Code::LimitExceeded => "LimitExceeded",
            Code::MissingParameter => "MissingParameter",
            Code::NoSuchVersion => "NoSuchVersion",
            Code::OperationDenied => "OperationDenied",
            Code::RequestLimitExceeded => "RequestLimitExceeded",
            Code::RequestSizeLimitExceeded => "RequestSizeLimitExceeded",
            Code::ResourceInUse => "ResourceInUse",
            Code::ResourceNotFound => "ResourceNotFound",
            Code::ServiceUnavailable => "ServiceUnavailable",
            Code::UnauthorizedOperation => "UnauthorizedOperation",
            Code::UnknownParameter => "UnknownParameter",
            Code::UnsupportedOperation => "UnsupportedOperation",
            Code::UnsupportedProtocol => "UnsupportedProtocol",
            Code::UnsupportedRegion => "UnsupportedRegion",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language of messages, from `X-TC-Language` (TC3) or `Language` (v1).
/// The vendor's default is `zh-CN`; an unknown value is treated as `zh-CN` (docs/protocol.md §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    ZhCn,
    EnUs,
}

impl Language {
    pub fn parse(value: Option<&str>) -> Language {
        match value {
            Some(v) if v.eq_ignore_ascii_case("en-US") => Language::EnUs,
            _ => Language::ZhCn,
        }
    }
}

/// An error as the client sees it: a vendor code and a message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: Code,
    pub en: String,
    pub zh: String,
}

impl ApiError {
    pub fn new(code: Code, en: impl Into<String>, zh: impl Into<String>) -> ApiError {
        ApiError {
            code,
            en: en.into(),
            zh: zh.into(),
        }
    }

    pub fn message(&self, lang: Language) -> &str {
        match lang {
            Language::EnUs => &self.en,
            Language::ZhCn => &self.zh,
        }
    }

    // --- the protocol-level situations of docs/protocol.md §5.2, messages verbatim where known ---

    pub fn unsupported_protocol() -> ApiError {
        ApiError::new(
            Code::UnsupportedProtocol,
            "HTTP(S) request protocol error; only GET and POST requests are supported.",
            "HTTP(S)请求协议错误，只支持GET和POST请求。",
        )
    }

    pub fn request_size_limit(limit: usize) -> ApiError {
        ApiError::new(
            Code::RequestSizeLimitExceeded,
            format!("The request size exceeds the upper limit ({limit} bytes)."),
            format!("请求包大小超过上限（{limit} 字节）。"),
        )
    }

    /// Oversized v1 request: the vendor answers SignatureFailure with this message (docs/protocol.md §5.2).
    pub fn v1_size_limit() -> ApiError {
        ApiError::new(
            Code::AuthFailureSignatureFailure,
            "The provided credentials could not be validated because of exceeding request size limit, please use new signature method `TC3-HMAC-SHA256`.",
            "请求包大小超过签名方法的上限，请使用新的签名方法 `TC3-HMAC-SHA256`。",
        )
    }

    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError::new(
            Code::MissingParameter,
            format!("The request is missing a required parameter `{name}`."),
            format!("缺少必填参数 `{name}`。"),
        )
    }

    pub fn parameter_type(name: &str, expected: &str) -> ApiError {
        ApiError::new(
            Code::InvalidParameter,
            format!("Parameter `{name}` type error: expected {expected}."),
            format!("参数 `{name}` 类型错误：应为 {expected}。"),
        )
    }

    pub fn malformed(detail: &str) -> ApiError {
        ApiError::new(
            Code::InvalidParameter,
            format!("The request parameters could not be parsed: {detail}."),
            format!("请求参数无法解析：{detail}。"),
        )
    }

    pub fn unknown_parameter(name: &str) -> ApiError {
        ApiError::new(
            Code::UnknownParameter,
            format!("The parameter `{name}` is not recognized."),
            format!("参数 `{name}` 无法识别。"),
        )
    }

    pub fn invalid_authorization(detail: Option<&str>) -> ApiError {
        let base = "The request `Authorization` header does not conform to tencentcloud standards";
        match detail {
            Some(d) => ApiError::new(
                Code::AuthFailureInvalidAuthorization,
                format!("{base}: {d}"),
                format!("请求头部的 `Authorization` 不符合腾讯云标准：{d}"),
            ),
            None => ApiError::new(
                Code::AuthFailureInvalidAuthorization,
                format!("{base}."),
                "请求头部的 `Authorization` 不符合腾讯云标准。",
            ),
        }
    }

    pub fn signature_expire() -> ApiError {
        ApiError::new(
            Code::AuthFailureSignatureExpire,
            "The signature is expired, please request again.",
            "签名过期，请重新请求。",
        )
    }

    pub fn secret_id_not_found() -> ApiError {
        ApiError::new(
            Code::AuthFailureSecretIdNotFound,
            "The SecretId is not found, please ensure that your SecretId is correct.",
            "密钥不存在，请确认 SecretId 是否正确。",
        )
    }

    pub fn token_failure() -> ApiError {
        ApiError::new(
            Code::AuthFailureTokenFailure,
            "Token error: this server issues no temporary credentials.",
            "Token 错误：本服务不签发临时凭证。",
        )
    }

    pub fn signature_failure() -> ApiError {
        ApiError::new(
            Code::AuthFailureSignatureFailure,
            "The provided credentials could not be validated. Please check your signature is correct.",
            "请求签名验证失败，请检查您的签名计算是否正确。",
        )
    }

    pub fn no_such_version(version: &str, service: &str) -> ApiError {
        ApiError::new(
            Code::NoSuchVersion,
            format!("The specified api version=`{version}` does not exist in service=`{service}`."),
            format!("服务 `{service}` 不存在版本 `{version}`。"),
        )
    }

    pub fn invalid_action(action: &str) -> ApiError {
        ApiError::new(
            Code::InvalidAction,
            format!("The request `Action` is invalid or not found: `{action}`."),
            format!("请求的 `Action` 不存在：`{action}`。"),
        )
    }

    pub fn unsupported_action(action: &str) -> ApiError {
        ApiError::new(
            Code::UnsupportedOperation,
            format!("The action `{action}` is a media or billing feature of the cloud service that this self-hosted telemetry server does not provide."),
            format!("接口 `{action}` 属于云服务的媒体或计费功能，本自托管遥测服务不提供。"),
        )
    }

    /// A project-key device password whose ExpireTime has passed (docs/api.md §4.1).
    pub fn device_password_expired(expire_time: i64) -> ApiError {
        ApiError::new(
            Code::AuthFailureSignatureExpire,
            format!("The device password expired at `{expire_time}`; derive a new one with a later ExpireTime."),
            format!("设备密码已于 `{expire_time}` 过期，请用更晚的 ExpireTime 重新生成。"),
        )
    }

    /// A device whose token is `USEPROJECTKEYPWD` logging in with its token.
    pub fn project_key_only() -> ApiError {
        ApiError::new(
            Code::AuthFailureInvalidSecretId,
            "This device logs in only with the project key: use SecretId `<ProjectId>:<DeviceId>:<ExpireTime>`.",
            "该设备只能使用项目密钥登录：SecretId 应为 `<ProjectId>:<DeviceId>:<ExpireTime>`。",
        )
    }

    pub fn unauthorized(detail: &str) -> ApiError {
        ApiError::new(
            Code::AuthFailureUnauthorizedOperation,
            format!("The request is not authorized: {detail}."),
            format!("请求未授权：{detail}。"),
        )
    }

    pub fn invalid_region(param: &str, value: &str) -> ApiError {
        ApiError::new(
            Code::InvalidParameterValue,
            format!("A value specified in `{param}` is not valid, is unsupported, or cannot be used: `{value}`."),
            format!("`{param}` 的取值 `{value}` 无效或不受支持。"),
        )
    }

    pub fn unsupported_region(value: &str) -> ApiError {
        ApiError::new(
            Code::UnsupportedRegion,
            format!("The action not support this region: `{value}`."),
            format!("接口不支持该地域：`{value}`。"),
        )
    }

    /// Message verbatim from the vendor (docs/protocol.md §6.3), count and limit substituted.
    pub fn request_limit(count: u64, limit: u64) -> ApiError {
        ApiError::new(
            Code::RequestLimitExceeded,
            format!("Your current request times equals to `{count}` in a second, which exceeds the frequency limit `{limit}` for a second. Please reduce the frequency of calls."),
            format!("您当前每秒请求 `{count}` 次，超过了每秒频率上限 `{limit}`，请稍后重试。"),
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            Code::InternalError,
            "An internal error occurred; quote the RequestId when you report it.",
            "内部错误，请提供 RequestId 以便排查。",
        )
    }

    /// The store cannot write for lack of space (disk full, or the configured size limit). The
    /// common code for "service temporarily unavailable" (the API 3.0 common error list): the client
    /// may retry later; reads still work.
    pub fn store_full() -> ApiError {
        ApiError::new(
            Code::ServiceUnavailable,
            "The service cannot store data right now: its disk or database is full. Nothing of this request was stored; retry later.",
            "服务暂时无法存储数据：磁盘或数据库已满。本次请求未存储任何内容，请稍后重试。",
        )
    }

    /// The store's writer is behind (its queue is full). `RequestLimitExceeded`, the vendor's code
    /// for "slow down", which its SDKs and clients treat as retryable: nothing was stored.
    pub fn store_busy() -> ApiError {
        ApiError::new(
            Code::RequestLimitExceeded,
            "The service is busy storing earlier requests. Nothing of this request was stored; retry in a second.",
            "服务正忙于存储之前的请求。本次请求未存储任何内容，请一秒后重试。",
        )
    }

    /// The store is unreachable (its database restarting, or the network to it down). Retryable,
    /// like [`ApiError::store_full`]: nothing of the request was stored.
    pub fn store_unavailable() -> ApiError {
        ApiError::new(
            Code::ServiceUnavailable,
            "The service cannot reach its database right now. Nothing of this request was stored; retry later.",
            "服务暂时无法连接数据库。本次请求未存储任何内容，请稍后重试。",
        )
    }

    /// A well-typed value that breaks a rule: names the parameter, the value and what is allowed.
    pub fn invalid_value(name: &str, value: &str, allowed: &str) -> ApiError {
        ApiError::new(
            Code::InvalidParameterValue,
            format!("The value `{value}` of parameter `{name}` is not valid: {allowed}."),
            format!("参数 `{name}` 的取值 `{value}` 无效：{allowed}。"),
        )
    }

    pub fn not_found(kind_en: &str, kind_zh: &str, id: &str) -> ApiError {
        ApiError::new(
            Code::ResourceNotFound,
            format!("The {kind_en} `{id}` does not exist."),
            format!("{kind_zh} `{id}` 不存在。"),
        )
    }

    // --- the server's own bounds on hostile clients (docs/security.md) ---

    /// Too many failed signatures for a SecretId or from an address: a cool-down. RequestLimitExceeded
    /// because the vendor's SDK retryers know it as "wait and retry".
    pub fn too_many_failed_signatures(who: &str, retry_after_secs: u64) -> ApiError {
        ApiError::new(
            Code::RequestLimitExceeded,
            format!("Too many requests with a wrong signature for this {who}; retry in {retry_after_secs} s."),
            format!("该{}的签名错误次数过多，请在 {retry_after_secs} 秒后重试。", if who == "SecretId" { "SecretId" } else { "来源地址" }),
        )
    }

    /// The memory for request bodies being read is taken: retry shortly.
    pub fn bodies_busy() -> ApiError {
        ApiError::new(
            Code::RequestLimitExceeded,
            "The server is receiving too many request bodies at once; retry in a moment.",
            "服务器同时接收的请求体过多，请稍后重试。",
        )
    }

    /// The body did not arrive in time. The vendor lists `InvalidRequest` for a malformed body, the
    /// nearest of its codes to a body that never completes.
    pub fn body_timeout(seconds: u64) -> ApiError {
        ApiError::new(
            Code::InvalidRequest,
            format!("The request body was not received within {seconds} s."),
            format!("请求体未在 {seconds} 秒内接收完毕。"),
        )
    }

    /// The signed headers lack `x-tc-action` where the server requires it (`require_signed_action`).
    pub fn action_not_signed() -> ApiError {
        ApiError::new(
            Code::AuthFailureInvalidAuthorization,
            "The request `Authorization` header does not conform to tencentcloud standards: this server requires `x-tc-action` among the SignedHeaders.",
            "请求的 `Authorization` 头不符合腾讯云规范：本服务要求 SignedHeaders 包含 `x-tc-action`。",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.en)
    }
}

impl std::error::Error for ApiError {}
