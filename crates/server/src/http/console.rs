//! The web console at `/console/` (docs/console.md): its files, embedded in the binary at build
//! time, under a strict Content-Security-Policy; sign-in and sign-out; and
//! `/console/api/action/<Action>`, which runs the same action handlers as the SDK path (same names,
//! same JSON, same checks, the same envelope) for the signed-in key's account.
//!
//! Sign-in exchanges an API key pair, checked once, for a session token in an HttpOnly,
//! SameSite=Strict cookie scoped to `/console/api`; the server keeps only the token's hash
//! (`domain::console_sessions`). Every call after sign-in also carries the session's CSRF token in
//! `X-CSRF-Token`, which the page holds in memory only. The secret key is never stored by the
//! browser nor logged by the server (request bodies are never logged).

use super::bodies;
use super::gateway::{self, Exchange};
use super::AppState;
use crate::actions::{self, Caller, Input};
use crate::domain::console_sessions::{csrf_matches, csrf_token};
use crate::errors::body_refused;
use crate::model::ConsoleSession;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;
use teleoscope_protocol::error::{ApiError, Language};

/// The console's files (`crates/server/console/`), in the binary.
#[derive(rust_embed::RustEmbed)]
#[folder = "console/"]
#[exclude = "tests/*"]
#[exclude = "*/node_modules/*"]
struct Files;

/// The session cookie's name.
pub const COOKIE: &str = "teleoscope_console";

/// Nothing but this origin's own files and calls; no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The largest sign-in body (a SecretId and a SecretKey).
const MAX_SIGN_IN_BYTES: usize = 4 * 1024;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/console",
            get(|| async { axum::response::Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| file("index.html")))
        .route("/console/api/signin", post(sign_in))
        .route("/console/api/session", get(session))
        .route("/console/api/signout", post(sign_out))
        .route("/console/api/action/{action}", post(action))
        .route(
            "/console/{*path}",
            get(|Path(path): Path<String>| file(path)),
        )
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An embedded file, revalidated on every load (the binary may change under the same names).
async fn file(path: impl AsRef<str>) -> Response {
    let path = path.as_ref();
    match Files::get(path) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            f.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

/// The session token from the request's cookie.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

fn set_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.tls.is_some() || state.config.console_secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/console/api; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a token is URL-safe base64")
}

fn not_signed_in() -> ApiError {
    ApiError::unauthorized("not signed in, or the session has ended; sign in again")
}

/// What sign-in and the session check answer: who is signed in, and the CSRF token.
fn session_output(session: &ConsoleSession, token: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "AccountId": session.account_id.0,
        "SecretId": session.secret_id,
        "CsrfToken": csrf_token(token),
        "ExpiresAt": session.expires_at,
    }))
    .expect("a JSON object")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct SignIn {
    secret_id: String,
    secret_key: String,
}

async fn sign_in(State(state): State<Arc<AppState>>, req: axum::extract::Request) -> Response {
    let mut exchange = Exchange::start();
    let (parts, body) = req.into_parts();
    let peer = gateway::peer_address(&parts.extensions);
    let mut token = None;
    let result = exchange
        .run(|trace| async {
            trace.action = Some("ConsoleSignIn".into());
            trace.lang = Language::parse(gateway::header_str(&parts.headers, "x-tc-language"));
            // JSON only: a cross-site form cannot send it without the browser asking first (CORS),
            // so no other site can sign a browser in to an account of its choosing.
            if !gateway::is_json(&parts.headers) {
                return Err(ApiError::malformed(
                    "the sign-in body must be JSON, sent with Content-Type: application/json",
                ));
            }
            let held = bodies::read(
                body,
                MAX_SIGN_IN_BYTES,
                &state.bodies,
                gateway::body_deadline(&state),
            )
            .await
            .map_err(|r| body_refused(r, MAX_SIGN_IN_BYTES, &state.config))?;
            let form: SignIn = serde_json::from_slice(&held.bytes)
                .map_err(|e| ApiError::malformed(&e.to_string()))?;
            if form.secret_id.is_empty() {
                return Err(ApiError::missing_parameter("SecretId"));
            }
            if form.secret_key.is_empty() {
                return Err(ApiError::missing_parameter("SecretKey"));
            }
            // The same brake as a wrong signature (docs/security.md §4).
            state.auth_failures.check(&form.secret_id, peer)?;
            let lifetime = state.config.console_session_hours.saturating_mul(3600);
            let signed_in = state
                .domain
                .console_sign_in(&form.secret_id, &form.secret_key, lifetime)
                .await?;
            let Some(signed_in) = signed_in else {
                state.auth_failures.failed(Some(&form.secret_id), peer);
                return Err(ApiError::signature_failure());
            };
            trace.account = Some(signed_in.session.account_id.0.clone());
            let output = session_output(&signed_in.session, &signed_in.token);
            token = Some(signed_in.token);
            Ok(output)
        })
        .await;
    let mut response = exchange.respond(&state, result);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(token) = token {
        let max_age = state.config.console_session_hours.saturating_mul(3600);
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(&state, &token, max_age));
    }
    response
}

/// The signed-in session of a request, with its token.
async fn signed_in<'a>(
    state: &AppState,
    headers: &'a HeaderMap,
) -> Result<(ConsoleSession, &'a str), ApiError> {
    let token = cookie_token(headers).ok_or_else(not_signed_in)?;
    let session = state
        .domain
        .console_session(token)
        .await?
        .ok_or_else(not_signed_in)?;
    Ok((session, token))
}

/// The signed-in session of a state-changing request, whose `X-CSRF-Token` must match it.
async fn signed_in_with_csrf<'a>(
    state: &AppState,
    headers: &'a HeaderMap,
) -> Result<(ConsoleSession, &'a str), ApiError> {
    let (session, token) = signed_in(state, headers).await?;
    let given = gateway::header_str(headers, "x-csrf-token").unwrap_or("");
    if !csrf_matches(token, given) {
        return Err(ApiError::unauthorized(
            "the request lacks this session's X-CSRF-Token; reload the console",
        ));
    }
    Ok((session, token))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn session(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let mut exchange = Exchange::start();
    let result = exchange
        .run(|trace| async {
            trace.action = Some("ConsoleSession".into());
            trace.lang = Language::parse(gateway::header_str(&headers, "x-tc-language"));
            let (session, token) = signed_in(&state, &headers).await?;
            trace.account = Some(session.account_id.0.clone());
            Ok(session_output(&session, token))
        })
        .await;
    no_store(exchange.respond(&state, result))
}

async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let mut exchange = Exchange::start();
    let result = exchange
        .run(|trace| async {
            trace.action = Some("ConsoleSignOut".into());
            trace.lang = Language::parse(gateway::header_str(&headers, "x-tc-language"));
            let (session, token) = signed_in_with_csrf(&state, &headers).await?;
            trace.account = Some(session.account_id.0.clone());
            state.domain.console_sign_out(token).await?;
            Ok(b"{}".to_vec())
        })
        .await;
    let mut response = no_store(exchange.respond(&state, result));
    // Whatever the answer, the browser forgets the cookie.
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, "", 0));
    response
}

async fn action(
    State(state): State<Arc<AppState>>,
    Path(action): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let mut exchange = Exchange::start();
    let (parts, body) = req.into_parts();
    let result = exchange
        .run(|trace| async {
            trace.action = Some(action.clone());
            trace.lang = Language::parse(gateway::header_str(&parts.headers, "x-tc-language"));
            let (session, _) = signed_in_with_csrf(&state, &parts.headers).await?;
            trace.account = Some(session.account_id.0.clone());
            // The gateway's steps 9, 11, 12 and 13 for an account (docs/protocol.md §8): the
            // console is one more client of the same handlers.
            let caller = Caller::Account(session.account_id.clone());
            let call = actions::call(&action, &caller)?;
            gateway::account_rate_limit(&state, &session.account_id, &action).await?;
            let limit = state.config.max_request_bytes;
            let held = bodies::read(body, limit, &state.bodies, gateway::body_deadline(&state))
                .await
                .map_err(|r| body_refused(r, limit, &state.config))?;
            let input = Input::Json(&held.bytes);
            Ok(call
                .run(input, &state.domain, state.config.time_zone)
                .await?)
        })
        .await;
    no_store(exchange.respond(&state, result))
}
