//! The API endpoint `/`: takes a raw HTTP request through the server checks of docs/protocol.md §8
//! (the check order), in that order, and answers in the vendor's envelope — always HTTP 200,
//! `Content-Type: application/json`, a RequestId always.
//!
//! 1 method and path, 2 size, 3 signature scheme, 4 common parameters, 5 Authorization header and
//! service, 6 timestamp window, 7 SecretId and token, 8 signature, 9 version and action, 10 region,
//! 11 rate limit, 12 business parameters, 13 execution.
//!
//! With TC3 the body is read only after step 7 (docs/security.md): a caller without a known SecretId
//! and a fresh timestamp makes the server buffer nothing, and the body is capped by what the
//! request is (`max_report_bytes` for a device's report, `max_request_bytes` for the rest), within
//! the memory budget of `bodies`. v1 carries its credentials in the body, which is read first, up
//! to the protocol's 1 MB. Every request runs in a tracing span carrying its RequestId, and a panic
//! in a handler becomes an `InternalError` answer, logged under that span.

use super::bodies::{self, Held, Refused};
use super::ratelimit;
use super::AppState;
use crate::actions::{self, Caller, Input};
use crate::errors::{body_refused, param_error, v1_body_refused};
use crate::model::AccountId;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::Instant;
use teleoscope_protocol::envelope;
use teleoscope_protocol::error::{ApiError, Language};
use teleoscope_protocol::params::{self, ParamError};
use teleoscope_protocol::sign::{self, tc3, v1};
use teleoscope_protocol::wire::{DEVICE_ACTIONS, EXTENSION_ACTIONS, VENDOR_ACTIONS};
use tracing::Instrument;

/// The API version served.
pub const VERSION: &str = "2022-03-25";
/// docs/protocol.md §6.1: GET ≤ 32 KB, POST ≤ 1 MB with v1, ≤ 10 MB with TC3 (the vendor's
/// "Request Structure" page). The server's own caps per request kind are lower (`Config`).
pub const MAX_GET: usize = 32 * 1024;
pub const MAX_V1_POST: usize = 1024 * 1024;
pub const MAX_TC3_POST: usize = crate::config::MAX_TC3_BODY;

/// The longest SecretId there can be (`keys create` refuses longer ones).
pub const MAX_SECRET_ID: usize = crate::domain::accounts::MAX_SECRET_ID;

/// The key an unknown device credential is checked against, so that it costs and answers the same as
/// a known device with a wrong token (docs/security.md). Random per process: it matches nothing.
static NO_SUCH_DEVICE_KEY: LazyLock<String> = LazyLock::new(crate::domain::ids::device_token);

/// Parameters of v1 requests that are common, not business (docs/protocol.md §7 item 10).
const V1_COMMON: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "Signature",
    "SignatureMethod",
    "Token",
    "Language",
    "RequestClient",
];

/// What the log and metrics learn about a request, whatever its outcome.
#[derive(Default)]
pub(super) struct Trace {
    pub(super) action: Option<String>,
    pub(super) account: Option<String>,
    pub(super) lang: Language,
}

/// One API exchange: its RequestId, the span every line of it is logged in, and what the log and
/// metrics learn. The gateway and the console's action endpoint answer through it alike.
pub(super) struct Exchange {
    started: Instant,
    pub(super) request_id: String,
    pub(super) span: tracing::Span,
    pub(super) trace: Trace,
}

impl Exchange {
    pub(super) fn start() -> Exchange {
        let request_id = uuid::Uuid::new_v4().to_string();
        Exchange {
            started: Instant::now(),
            span: tracing::info_span!("request", request_id = %request_id),
            request_id,
            trace: Trace::default(),
        }
    }

    /// Run `process` in the exchange's span, a panic becoming `InternalError`.
    pub(super) async fn run<'a, F, Fut>(&'a mut self, process: F) -> Result<Vec<u8>, ApiError>
    where
        F: FnOnce(&'a mut Trace) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<u8>, ApiError>> + 'a,
    {
        let span = self.span.clone();
        caught(process(&mut self.trace)).instrument(span).await
    }

    /// The envelope (HTTP 200, `application/json`, the RequestId), the metrics and the request's log line.
    pub(super) fn respond(self, state: &AppState, result: Result<Vec<u8>, ApiError>) -> Response {
        let (body, code) = match result {
            Ok(output) => (envelope::success(&output, &self.request_id), "Success"),
            Err(err) => (
                envelope::error(&err, self.trace.lang, &self.request_id),
                err.code.as_str(),
            ),
        };
        let action_label = match self.trace.action.as_deref() {
            Some(a) if known_action(a) => a,
            _ => "-",
        };
        let elapsed = self.started.elapsed();
        state
            .metrics
            .observe(action_label, code, elapsed.as_secs_f64());
        self.span.in_scope(|| {
            tracing::info!(
                target: REQUEST_LOG,
                action = self.trace.action.as_deref().unwrap_or("-"),
                account = self.trace.account.as_deref().unwrap_or("-"),
                code,
                latency_us = elapsed.as_micros() as u64,
                "request"
            )
        });
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, envelope::CONTENT_TYPE)],
            body,
        )
            .into_response()
    }
}

/// Whether `action` is a name this server knows (for metrics labels: unknown names would let a
/// client grow the label set without bound).
fn known_action(action: &str) -> bool {
    VENDOR_ACTIONS.contains(&action)
        || DEVICE_ACTIONS.contains(&action)
        || EXTENSION_ACTIONS.contains(&action)
}

pub async fn api(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    req: Request<Body>,
) -> Response {
    let mut exchange = Exchange::start();
    let result = exchange.run(|trace| process(&state, req, trace)).await;
    exchange.respond(&state, result)
}

/// The last line of defence: a panic anywhere below the gateway still gets its envelope
/// (`InternalError`), and the log says what panicked, in the request's span (docs/security.md).
async fn caught(
    process: impl std::future::Future<Output = Result<Vec<u8>, ApiError>>,
) -> Result<Vec<u8>, ApiError> {
    std::panic::AssertUnwindSafe(process)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "request handler panicked");
            Err(ApiError::internal())
        })
}

/// The log target of the one line per request, so that a filter can quiet it
/// (`teleoscope demo` does: README, configuration).
pub const REQUEST_LOG: &str = "teleoscope::request";

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// `application/x-www-form-urlencoded` pairs, percent-decoded. A segment without `=` is malformed
/// (the vendor's message, docs/protocol.md §5.2). More pairs than any request type accepts ([`params::MAX_PAIRS`])
/// are refused after counting, before any is copied: a 10 MB form of `a=&` would otherwise hold
/// millions of strings.
fn parse_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let segments = || raw.split(|&b| b == b'&').filter(|s| !s.is_empty());
    let count = segments().count();
    if count > params::MAX_PAIRS {
        let max = params::MAX_PAIRS;
        return Err(param_error(&ParamError::TooManyPairs { count, max }));
    }
    let mut out = Vec::with_capacity(count);
    for segment in segments() {
        if !segment.contains(&b'=') {
            return Err(ApiError::malformed(
                "Url key and value should be splited by `=`",
            ));
        }
        out.extend(form_urlencoded::parse(segment).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    Ok(out)
}

/// Whether the body is JSON by its `Content-Type` (parameters such as `charset` aside).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers) == "application/json"
}

fn media_type(headers: &HeaderMap) -> String {
    header_str(headers, "content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The common parameters, wherever they came from.
struct Common {
    action: String,
    version: String,
    region: Option<String>,
    timestamp_raw: String,
    timestamp: i64,
    token: Option<String>,
}

fn required(value: Option<String>, name: &str) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::missing_parameter(name)),
    }
}

fn integer(value: &str, name: &str) -> Result<i64, ApiError> {
    value
        .parse::<i64>()
        .map_err(|_| ApiError::parameter_type(name, "Integer"))
}

enum Scheme<'a> {
    Tc3(tc3::Authorization<'a>),
    V1 {
        params: Vec<(String, String)>,
        secret_id: String,
        signature: String,
        method: v1::Method,
    },
}

/// A request's body until it is read; dropped unread (an early answer), it is drained in the
/// background so that the client still receives the answer (`bodies`).
struct Unread {
    body: Option<Body>,
    deadline: tokio::time::Instant,
}

impl Unread {
    /// Read the body, at most `limit` bytes, before the body deadline and within the memory budget.
    async fn read(&mut self, state: &AppState, limit: usize) -> Result<Held, Refused> {
        let body = self.body.take().expect("a body is read once");
        bodies::read(body, limit, &state.bodies, self.deadline).await
    }

    /// Read the body to its end under the same rules, keeping only its SHA-256.
    async fn discard(&mut self, state: &AppState, limit: usize) -> Result<[u8; 32], Refused> {
        let body = self.body.take().expect("a body is read once");
        bodies::discard(body, limit, &state.bodies, self.deadline).await
    }
}

/// The source address of a request (the listener records it on each one).
pub(super) fn peer_address(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// When a request's body must have arrived, counted from now (the end of its head).
pub(super) fn body_deadline(state: &AppState) -> tokio::time::Instant {
    tokio::time::Instant::now()
        + std::time::Duration::from_secs(state.config.body_read_timeout_seconds)
}

impl Drop for Unread {
    fn drop(&mut self) {
        use http_body::Body as _;
        if let Some(body) = self.body.take().filter(|b| !b.is_end_stream()) {
            bodies::drain(body, self.deadline);
        }
    }
}

async fn process(
    state: &AppState,
    req: Request<Body>,
    trace: &mut Trace,
) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let peer = peer_address(&parts.extensions);
    let declared_length = bodies::declared_length(&body);
    let mut body = Unread {
        body: Some(body),
        deadline: body_deadline(state),
    };
    trace.lang = Language::parse(header_str(headers, "x-tc-language"));

    // 1. Method and path.
    if parts.uri.path() != "/" || !(parts.method == Method::GET || parts.method == Method::POST) {
        return Err(ApiError::unsupported_protocol());
    }
    let is_get = parts.method == Method::GET;
    let query = parts.uri.query().unwrap_or("");

    // 2. Size, as far as it can be known before reading: the query, and the declared length.
    if is_get && query.len() > MAX_GET {
        return Err(ApiError::request_size_limit(MAX_GET));
    }
    if declared_length > MAX_TC3_POST as u64 {
        return Err(ApiError::request_size_limit(MAX_TC3_POST));
    }

    // 3. Scheme: a non-empty Authorization header means TC3, otherwise v1 parameters.
    let authorization = header_str(headers, "authorization").filter(|a| !a.is_empty());
    let media = media_type(headers);
    let (scheme, common, business) = match authorization {
        Some(auth) => {
            // 4. Common parameters from the X-TC-* headers.
            let action = required(
                header_str(headers, "x-tc-action").map(str::to_owned),
                "Action",
            )?;
            trace.action = Some(action.clone());
            let version = required(
                header_str(headers, "x-tc-version").map(str::to_owned),
                "Version",
            )?;
            let timestamp_raw = required(
                header_str(headers, "x-tc-timestamp").map(str::to_owned),
                "Timestamp",
            )?;
            let timestamp = integer(&timestamp_raw, "Timestamp")?;
            let common = Common {
                action,
                version,
                region: header_str(headers, "x-tc-region")
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                timestamp_raw,
                timestamp,
                token: header_str(headers, "x-tc-token")
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            };
            // 5. The Authorization header itself.
            let parsed = tc3::parse_authorization(auth).map_err(|why| {
                tracing::debug!(why, "malformed Authorization");
                ApiError::invalid_authorization(None)
            })?;
            let host = host_of(&parts);
            // docs/api.md §2.3: `trro` (configurable), or what the vendor's Node.js SDK derives from the
            // endpoint: the Host up to its first dot.
            let node_service = host.split('.').next().unwrap_or("");
            if parsed.service != state.config.service && parsed.service != node_service {
                return Err(ApiError::invalid_authorization(Some(
                    "`Service` in Credential not valid.",
                )));
            }
            // Opt-in (docs/security.md): the vendor signs only content-type and host by default, so
            // a captured request could be re-sent as another action.
            if state.config.require_signed_action && !parsed.signed_headers.contains(&"x-tc-action")
            {
                return Err(ApiError::action_not_signed());
            }
            // Parsed at step 12, after the signature: a caller who cannot sign learns nothing.
            let business = if is_get {
                BusinessInput::Form(Source::Query)
            } else if media == "application/x-www-form-urlencoded" {
                BusinessInput::Form(Source::Body)
            } else {
                BusinessInput::Json
            };
            (Scheme::Tc3(parsed), common, business)
        }
        None => {
            if !is_get && media != "application/x-www-form-urlencoded" {
                // A JSON body without Authorization carries no credentials at all.
                return Err(ApiError::missing_parameter("SecretId"));
            }
            // v1 credentials are parameters: the body is read first, within the protocol's limit.
            let v1_body = if is_get {
                Held::empty()
            } else {
                let cap = MAX_V1_POST.min(state.config.max_request_bytes);
                body.read(state, cap)
                    .await
                    .map_err(|r| v1_body_refused(r, cap, &state.config))?
            };
            let params = parse_pairs(if is_get {
                query.as_bytes()
            } else {
                &v1_body.bytes
            })?;
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            if let Some(l) = get("Language") {
                trace.lang = Language::parse(Some(&l));
            }
            let secret_id = required(get("SecretId"), "SecretId")?;
            let action = required(get("Action"), "Action")?;
            trace.action = Some(action.clone());
            let version = required(get("Version"), "Version")?;
            let timestamp_raw = required(get("Timestamp"), "Timestamp")?;
            let timestamp = integer(&timestamp_raw, "Timestamp")?;
            // Python sends nonces up to 2^63-1 (docs/protocol.md §1.4).
            integer(&required(get("Nonce"), "Nonce")?, "Nonce")?;
            let signature = required(get("Signature"), "Signature")?;
            let common = Common {
                action,
                version,
                region: get("Region").filter(|r| !r.is_empty()),
                timestamp_raw,
                timestamp,
                token: get("Token").filter(|t| !t.is_empty()),
            };
            let business: Vec<(String, String)> = params
                .iter()
                .filter(|(k, _)| !V1_COMMON.contains(&k.as_str()))
                .cloned()
                .collect();
            let method = v1::Method::from_param(get("SignatureMethod").as_deref());
            (
                Scheme::V1 {
                    params,
                    secret_id,
                    signature,
                    method,
                },
                common,
                BusinessInput::Pairs(business),
            )
        }
    };

    // 6. Timestamp window (before the SecretId lookup, as the vendor's doc sample shows).
    let window = u64::try_from(state.config.signature_window_seconds).unwrap_or(0);
    if state.domain.clock.now().abs_diff(common.timestamp) > window {
        return Err(ApiError::signature_expire());
    }

    // 7. SecretId and token. This server issues no temporary credentials, so any token is wrong.
    let secret_id = match &scheme {
        Scheme::Tc3(a) => a.secret_id,
        Scheme::V1 { secret_id, .. } => secret_id.as_str(),
    };
    // No real SecretId is longer (an API key's has 36 characters; a device's, its two ids and an
    // expiry): answered at once, so that no brake entry or store lookup is spent on it.
    if secret_id.len() > MAX_SECRET_ID {
        return Err(if secret_id.contains(':') {
            ApiError::signature_failure()
        } else {
            ApiError::secret_id_not_found()
        });
    }
    // The brake on guessing (docs/security.md): a SecretId or address in cool-down is not checked.
    state.auth_failures.check(secret_id, peer)?;
    // Device credentials name a project and a device (`<ProjectId>:<DeviceId>[:<ExpireTime>]`,
    // docs/api.md §4.1); API keys never contain ':'. An unknown device answers like a wrong token,
    // after the same work (docs/security.md): its signature is checked against a key that matches
    // nothing.
    let (principal, secret_key, refusal) = if secret_id.contains(':') {
        match state.domain.device_login(secret_id).await {
            Ok(Some(c)) => (Some(Caller::Device(Box::new(c.login))), c.key, c.refusal),
            Ok(None) => (None, NO_SUCH_DEVICE_KEY.clone(), None),
            Err(e) => return Err(e.into()),
        }
    } else {
        match state.domain.key_secret(secret_id).await {
            Ok(Some((account, key))) => (Some(Caller::Account(account)), key, None),
            Ok(None) => {
                state.auth_failures.failed(None, peer);
                return Err(ApiError::secret_id_not_found());
            }
            Err(e) => return Err(e.into()),
        }
    };
    if common.token.is_some() {
        return Err(ApiError::token_failure());
    }

    // The TC3 body, now that the caller is known: capped by what the request is. An unknown device's
    // body is read to its end like a known one's, but not kept: it will be refused whatever it says.
    let device_credential = secret_id.contains(':');
    let limit = if device_credential && common.action == "ReportSessionMetrics" {
        state.config.max_report_bytes
    } else {
        state.config.max_request_bytes
    };
    let mut discarded = None;
    let tc3_body = match (&scheme, &principal) {
        (Scheme::Tc3(_), _) if is_get => Held::empty(),
        (Scheme::Tc3(_), Some(_)) => body
            .read(state, limit)
            .await
            .map_err(|r| body_refused(r, limit, &state.config))?,
        (Scheme::Tc3(_), None) => {
            let digest = body.discard(state, limit).await;
            discarded = Some(digest.map_err(|r| body_refused(r, limit, &state.config))?);
            Held::empty()
        }
        (Scheme::V1 { .. }, _) => Held::empty(),
    };

    // 8. Signature. The Host goes in as sent; `tc3::verify` also accepts it without its `:port`
    // (the vendor's Node.js SDK signs the hostname only).
    let host = host_of(&parts);
    let valid = match &scheme {
        Scheme::Tc3(auth) => {
            if auth.date != sign::utc_date(common.timestamp) {
                false
            } else {
                let mut signed = Vec::with_capacity(auth.signed_headers.len());
                for name in &auth.signed_headers {
                    let value = if *name == "host" {
                        Some(host)
                    } else {
                        header_str(headers, name)
                    };
                    match value {
                        Some(v) => signed.push((*name, v)),
                        None => return Err(ApiError::signature_failure()),
                    }
                }
                let request = tc3::SignedRequest {
                    method: parts.method.as_str(),
                    query: if is_get {
                        query
                    } else {
                        parts.uri.query().unwrap_or("")
                    },
                    headers: signed,
                    payload: match discarded {
                        Some(digest) => tc3::Payload::Sha256(digest),
                        None => tc3::Payload::Body(&tc3_body.bytes),
                    },
                    unsigned_payload: header_str(headers, "x-tc-content-sha256")
                        == Some(tc3::UNSIGNED_PAYLOAD),
                    timestamp: &common.timestamp_raw,
                };
                tc3::verify(&request, auth, &secret_key)
            }
        }
        Scheme::V1 {
            params,
            signature,
            method,
            ..
        } => v1::verify(
            *method,
            &secret_key,
            parts.method.as_str(),
            host,
            params,
            signature,
        ),
    };
    let caller = match principal {
        Some(c) if valid => c,
        _ => {
            state.auth_failures.failed(Some(secret_id), peer);
            return Err(ApiError::signature_failure());
        }
    };
    // Only a caller who signed with the credential's key learns why its login is refused.
    if let Some(refusal) = refusal {
        return Err(refusal.into());
    }
    trace.account = Some(match &caller {
        Caller::Account(a) => a.0.clone(),
        Caller::Device(d) => format!("{}/{}:{}", d.account.0, d.project_id, d.device_id),
    });

    // 9. Version and action.
    if common.version != VERSION {
        return Err(ApiError::no_such_version(
            &common.version,
            &state.config.service,
        ));
    }
    let action = common.action.as_str();
    let call = actions::call(action, &caller)?;

    // 10. Region: optional here (some TRRO pages say it "will not take effect even if passed").
    if let Some(region) = &common.region {
        let param = if matches!(scheme, Scheme::Tc3(_)) {
            "X-TC-Region"
        } else {
            "Region"
        };
        if !crate::config::KNOWN_REGIONS.contains(&region.as_str()) {
            return Err(ApiError::invalid_region(param, region));
        }
        if !state.config.regions.iter().any(|r| r == region) {
            return Err(ApiError::unsupported_region(region));
        }
    }

    // 11. Rate limit per (account, action); per device for the device API (docs/api.md §4.7).
    match &caller {
        Caller::Account(account) => account_rate_limit(state, account, action).await?,
        Caller::Device(d) => ratelimit::check(
            &*state.domain.store,
            "device",
            &[&d.project_id, &d.device_id],
            state.config.device_rate_limit_per_second,
        )
        .await
        .map_err(ApiError::from)?,
    }

    // 12 and 13. Business parameters and execution.
    let pairs = match &business {
        BusinessInput::Json => None,
        BusinessInput::Form(Source::Query) => Some(parse_pairs(query.as_bytes())?),
        BusinessInput::Form(Source::Body) => Some(parse_pairs(&tc3_body.bytes)?),
        BusinessInput::Pairs(pairs) => Some(pairs.clone()),
    };
    let input = match &pairs {
        None => Input::Json(&tc3_body.bytes),
        Some(pairs) => Input::Pairs(pairs),
    };
    Ok(call
        .run(input, &state.domain, state.config.time_zone)
        .await?)
}

/// Step 11 for an account: per (account, action) in one-second windows.
pub(super) async fn account_rate_limit(
    state: &AppState,
    account: &AccountId,
    action: &str,
) -> Result<(), ApiError> {
    ratelimit::check(
        &*state.domain.store,
        "api",
        &[&account.0, action],
        state.config.rate_limit(action),
    )
    .await
    .map_err(ApiError::from)
}

enum BusinessInput {
    Json,
    /// TC3 flattened parameters, parsed only once the request is authenticated.
    Form(Source),
    /// v1 parameters, parsed up front because the credentials are among them.
    Pairs(Vec<(String, String)>),
}

enum Source {
    Query,
    Body,
}

/// The Host as sent (docs/protocol.md §2.6): the Host header, or the HTTP/2 `:authority`.
fn host_of(parts: &axum::http::request::Parts) -> &str {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer is `InternalError`, and the log line saying what panicked is written in the
    /// request's span: found from the RequestId the client got.
    #[tokio::test]
    async fn a_panic_below_the_gateway_is_an_internal_error_answer_logged_under_its_request_id() {
        use std::io::{Read, Seek};
        let log = Arc::new(tempfile::tempfile().unwrap());
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(log.clone())
            .finish();
        let _logging = tracing::subscriber::set_default(subscriber);

        let mut exchange = Exchange::start();
        let answer = exchange
            .run(|_| async {
                if std::hint::black_box(true) {
                    panic!("a day of the calendar");
                }
                Ok(Vec::new())
            })
            .await;
        assert_eq!(answer, Err(ApiError::internal()));
        let mut logged = String::new();
        (&*log).rewind().unwrap();
        (&*log).read_to_string(&mut logged).unwrap();
        let line: serde_json::Value = serde_json::from_str(logged.trim()).unwrap();
        assert_eq!(line["fields"]["message"], "request handler panicked");
        assert_eq!(line["fields"]["panic"], "a day of the calendar");
        assert_eq!(line["span"]["request_id"], exchange.request_id.as_str());

        let mut exchange = Exchange::start();
        let answer = exchange.run(|_| async { Ok(b"{}".to_vec()) }).await;
        assert_eq!(answer, Ok(b"{}".to_vec()));
    }
}
