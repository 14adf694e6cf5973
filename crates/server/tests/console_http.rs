//! The console's HTTP side (docs/console.md): its pages under a strict CSP, sign-in with an API key
//! pair for an HttpOnly SameSite=Strict cookie, the CSRF token on every call, the same handlers and
//! JSON as the SDK path, and a session that ends with sign-out, expiry or the key's deletion.

mod common;

use common::*;
use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use serde_json::{json, Value};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// A browser's view of the console: the cookie it was given and the CSRF token it holds.
struct Browser<'a> {
    s: &'a Server,
    cookie: Option<String>,
    csrf: String,
}

async fn post(s: &Server, path: &str, headers: &[(&str, &str)], body: Value) -> (HeaderMap, Value) {
    let mut req = s
        .client
        .post(format!("http://{}{path}", s.host))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["content-security-policy"], CSP);
    let headers = resp.headers().clone();
    (headers, resp.json().await.unwrap())
}

fn code(v: &Value) -> Option<&str> {
    v["Response"]["Error"]["Code"].as_str()
}

impl<'a> Browser<'a> {
    async fn sign_in(s: &'a Server, key: &Key) -> (Browser<'a>, String) {
        let (headers, v) = post(
            s,
            "/console/api/signin",
            &[],
            json!({"SecretId": key.secret_id, "SecretKey": key.secret_key}),
        )
        .await;
        assert_eq!(code(&v), None, "{v}");
        let set = headers[SET_COOKIE].to_str().unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let browser = Browser {
            s,
            cookie: Some(cookie),
            csrf: v["Response"]["CsrfToken"].as_str().unwrap().to_owned(),
        };
        assert_eq!(v["Response"]["AccountId"], key.account_id);
        (browser, set)
    }

    async fn call(&self, action: &str, body: Value) -> Value {
        let mut headers = vec![
            ("X-CSRF-Token", self.csrf.as_str()),
            ("X-TC-Language", "en-US"),
        ];
        if let Some(c) = &self.cookie {
            headers.push((COOKIE.as_str(), c.as_str()));
        }
        post(
            self.s,
            &format!("/console/api/action/{action}"),
            &headers,
            body,
        )
        .await
        .1
    }

    async fn session(&self) -> Value {
        let mut req = self
            .s
            .client
            .get(format!("http://{}/console/api/session", self.s.host));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_served_from_the_binary_under_a_strict_policy() {
    let s = Server::start().await;
    for path in ["/console/", "/console/index.html"] {
        let resp = reqwest::get(format!("http://{}{path}", s.host))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-security-policy"], CSP);
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(resp.text().await.unwrap().contains("<html"));
    }
    let missing = reqwest::get(format!("http://{}/console/nope.js", s.host))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sets_an_http_only_strict_cookie_and_calls_the_same_handlers() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let (browser, set_cookie) = Browser::sign_in(&s, &k).await;
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console/api",
        "Max-Age=28800",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains(&k.secret_key),
        "the cookie is not the secret"
    );
    // The same JSON as the SDK path, for the same account.
    let created = browser
        .call("CreateProject", json!({"ProjectName": "from_console"}))
        .await;
    let pid = created["Response"]["ProjectId"]
        .as_str()
        .unwrap()
        .to_owned();
    let via_console = browser
        .call("DescribeProjectInfo", json!({"ProjectId": pid}))
        .await;
    let via_sdk = s
        .tc3(&k, "DescribeProjectInfo", json!({"ProjectId": pid}))
        .send()
        .await;
    let strip = |mut v: Value| {
        v["Response"].as_object_mut().unwrap().remove("RequestId");
        v
    };
    assert_eq!(strip(via_console), strip(via_sdk.json.clone()));
    // The same validation, the same codes and messages.
    let bad = browser
        .call("DescribeProjectList", json!({"PageSize": 101}))
        .await;
    assert_eq!(code(&bad), Some("InvalidParameterValue"));
    assert!(bad["Response"]["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("PageSize"));
    // Device actions are not the console's.
    let device = browser
        .call("ReportDeviceStatus", json!({"Status": "ready"}))
        .await;
    assert_eq!(code(&device), Some("AuthFailure.UnauthorizedOperation"));
    // The session check gives the CSRF token back (after a reload, the page asks for it).
    let again = browser.session().await;
    assert_eq!(again["Response"]["CsrfToken"], browser.csrf.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_gets_no_cookie_and_the_same_answer_as_an_unknown_one() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let mut answers = Vec::new();
    for (id, secret) in [
        (k.secret_id.as_str(), "wrong-secret"),
        ("AKIDnosuchkeynosuchkeynosuchkey00", k.secret_key.as_str()),
    ] {
        let (headers, v) = post(
            &s,
            "/console/api/signin",
            &[("X-TC-Language", "en-US")],
            json!({"SecretId": id, "SecretKey": secret}),
        )
        .await;
        assert!(headers.get(SET_COOKIE).is_none(), "{v}");
        answers.push((
            code(&v).map(str::to_owned),
            v["Response"]["Error"]["Message"].clone(),
        ));
    }
    assert_eq!(
        answers[0].0.as_deref(),
        Some("AuthFailure.SignatureFailure")
    );
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_a_cross_site_form_could_send_is_refused() {
    // A form on another site can post `text/plain` without asking the browser first (no CORS
    // preflight); signing a browser in to the attacker's account that way must not work.
    let s = Server::start().await;
    let k = s.new_key().await;
    let resp = s
        .client
        .post(format!("http://{}/console/api/signin", s.host))
        .header("Content-Type", "text/plain")
        .body(json!({"SecretId": k.secret_id, "SecretKey": k.secret_key}).to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get(SET_COOKIE).is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(code(&v), Some("InvalidParameter"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_needs_the_cookie_and_its_csrf_token() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let (browser, _) = Browser::sign_in(&s, &k).await;
    // A cross-site form can send neither the cookie (SameSite=Strict) nor the header; each alone fails.
    let no_csrf = Browser {
        s: &s,
        cookie: browser.cookie.clone(),
        csrf: String::new(),
    };
    let v = no_csrf
        .call("CreateProject", json!({"ProjectName": "x"}))
        .await;
    assert_eq!(code(&v), Some("AuthFailure.UnauthorizedOperation"));
    let other = s.new_key().await;
    let (other_browser, _) = Browser::sign_in(&s, &other).await;
    let wrong_csrf = Browser {
        s: &s,
        cookie: browser.cookie.clone(),
        csrf: other_browser.csrf.clone(),
    };
    let v = wrong_csrf
        .call("CreateProject", json!({"ProjectName": "x"}))
        .await;
    assert_eq!(code(&v), Some("AuthFailure.UnauthorizedOperation"));
    let no_cookie = Browser {
        s: &s,
        cookie: None,
        csrf: browser.csrf.clone(),
    };
    let v = no_cookie.call("DescribeProjectList", json!({})).await;
    assert_eq!(code(&v), Some("AuthFailure.UnauthorizedOperation"));
    assert_eq!(
        s.ok(&k, "DescribeProjectList", json!({})).await["Total"],
        0,
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_stay_apart_in_the_console() {
    let s = Server::start().await;
    let a = s.new_key().await;
    let b = s.new_key().await;
    let pid = s.project(&a, "a_only").await;
    let (browser_b, _) = Browser::sign_in(&s, &b).await;
    let foreign = browser_b
        .call("DescribeProjectInfo", json!({"ProjectId": pid}))
        .await;
    let missing = browser_b
        .call(
            "DescribeProjectInfo",
            json!({"ProjectId": "prj_doesnotexist00"}),
        )
        .await;
    assert_eq!(code(&foreign), Some("ResourceNotFound"));
    let message = |v: &Value, id: &str| {
        v["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .replace(id, "<id>")
    };
    assert_eq!(
        message(&foreign, &pid),
        message(&missing, "prj_doesnotexist00")
    );
    assert_eq!(
        browser_b.call("DescribeProjectList", json!({})).await["Response"]["Total"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_expiry_and_key_deletion_end_the_session() {
    let s = Server::start().await;
    let k = s.new_key().await;
    // Sign-out: the cookie is cleared and the old token no longer works.
    let (browser, _) = Browser::sign_in(&s, &k).await;
    let (headers, v) = post(
        &s,
        "/console/api/signout",
        &[
            ("X-CSRF-Token", browser.csrf.as_str()),
            (COOKIE.as_str(), browser.cookie.as_deref().unwrap()),
        ],
        json!({}),
    )
    .await;
    assert_eq!(code(&v), None, "{v}");
    let cleared = headers[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("teleoscope_console=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(
        code(&browser.session().await),
        Some("AuthFailure.UnauthorizedOperation")
    );
    assert_eq!(
        code(&browser.call("DescribeProjectList", json!({})).await),
        Some("AuthFailure.UnauthorizedOperation")
    );

    // Expiry: eight hours later the session is gone.
    let (browser, _) = Browser::sign_in(&s, &k).await;
    s.clock.as_ref().unwrap().advance(8 * 3600);
    assert_eq!(
        code(&browser.session().await),
        Some("AuthFailure.UnauthorizedOperation")
    );

    // Deleting the key (what `teleoscope keys delete` does) ends its sessions at once.
    let (browser, _) = Browser::sign_in(&s, &k).await;
    assert_eq!(code(&browser.session().await), None);
    assert!(s.domain.store.delete_key(&k.secret_id).await.unwrap());
    assert_eq!(
        code(&browser.session().await),
        Some("AuthFailure.UnauthorizedOperation")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_holds_no_session_token_and_no_secret_in_clear() {
    let s = Server::start_with(Options {
        master_key: Some("0123456789abcdef0123456789abcdef".into()),
        sqlite_only: true, // reads every byte of the SQLite file
        ..Default::default()
    })
    .await;
    let k = s.new_key().await;
    let (browser, _) = Browser::sign_in(&s, &k).await;
    let token = browser
        .cookie
        .as_deref()
        .unwrap()
        .trim_start_matches("teleoscope_console=")
        .to_owned();
    drop(browser);
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = s.db_path().into_os_string();
        path.push(suffix);
        bytes.extend(std::fs::read(path).unwrap_or_default());
    }
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&token), "the session token is stored in clear");
    assert!(
        !contains(&k.secret_key),
        "the secret key is stored in clear"
    );
}
