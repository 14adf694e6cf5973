//! Integration-test harness: the real server, in process, on `127.0.0.1:0` with a store of its own —
//! a temporary SQLite file, or with `TELEOSCOPE_TEST_BACKEND=postgres` a fresh schema in the
//! PostgreSQL database of `TELEOSCOPE_TEST_POSTGRES` (`pg/mod.rs`; `.ci/run` runs the suite on both), and an HTTP client that signs requests the way the vendor's SDKs do (TC3 POST JSON, TC3 GET,
//! v1 form POST / GET), with every part of the request overridable so tests can break one thing at a
//! time. TC3 signatures are the fleet's (`teleoscope_fleet::client::Tc3Request`); v1 ones are built
//! here from the protocol crate's.
//!
//! Every reply goes through [`Reply::new`], which asserts what every API answer must be
//! (docs/protocol.md §4, §7 items 1–3): HTTP 200, `Content-Type: application/json` exactly, and a
//! `Response.RequestId` that is a lowercase UUID v4.
//!
//! ```ignore
//! let server = Server::start().await;
//! let key = server.new_key().await;
//! let reply = server.tc3(&key, "DescribeProjectList", json!({})).send().await;
//! assert_eq!(reply.ok()["Total"], 0);
//! let msg = server.tc3(&key, "Nope", json!({})).language("en-US").send().await.err("InvalidAction");
//! ```

#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use teleoscope_fleet::client::Tc3Request;
use teleoscope_protocol::sign::v1;
use teleoscope_server::config::{Config, Secret};
use teleoscope_server::domain::clock::ManualClock;
use teleoscope_server::domain::Domain;
use teleoscope_server::http::Running;

#[path = "../pg/mod.rs"]
pub mod pg;

pub const SERVICE: &str = "trro";
pub const VERSION: &str = "2022-03-25";

/// A change to the server's configuration.
pub type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// How the server under test is configured.
#[derive(Default)]
pub struct Options {
    /// Use the wall clock instead of a `ManualClock` frozen at the start time.
    pub system_clock: bool,
    /// `config.master_key`.
    pub master_key: Option<String>,
    /// Any other change to the default configuration (listen and database are set by the harness).
    pub configure: Option<Configure>,
    /// SQLite whatever `TELEOSCOPE_TEST_BACKEND` says: for the tests that look inside the SQLite
    /// file or use its options (the conformance suite checks the same contracts on PostgreSQL).
    pub sqlite_only: bool,
}

fn unix(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).expect("after 1970")
}

impl Options {
    /// No per-second limits for accounts and devices, then `configure`.
    pub fn unthrottled(configure: impl FnOnce(&mut Config) + Send + 'static) -> Options {
        Options {
            configure: Some(Box::new(move |c| {
                c.rate_limit_per_second = 100_000;
                c.rate_limits.clear();
                c.device_rate_limit_per_second = 100_000;
                configure(c);
            })),
            ..Default::default()
        }
    }
}

/// Whether this run's servers keep their data in PostgreSQL (`TELEOSCOPE_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("TELEOSCOPE_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("TELEOSCOPE_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// An API key pair of one account.
#[derive(Debug, Clone)]
pub struct Key {
    pub account_id: String,
    pub secret_id: String,
    pub secret_key: String,
}

/// A running server with its own temporary store.
pub struct Server {
    pub addr: SocketAddr,
    /// `127.0.0.1:<port>`: the Host header the client sends, and signs.
    pub host: String,
    /// The server's domain (same store, same clock): for fixtures and for looking behind the API.
    pub domain: Domain,
    /// Set unless `Options::system_clock`.
    pub clock: Option<Arc<ManualClock>>,
    pub config: Config,
    pub client: reqwest::Client,
    running: Option<Running>,
    // Last: the store outlives the server.
    pg: Option<pg::FreshSchema>,
    dir: tempfile::TempDir,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(Options::default()).await
    }

    /// A server whose accounts and devices may call as fast as a test sends (no per-second limits),
    /// with `configure` applied after.
    pub async fn unthrottled_with(configure: impl FnOnce(&mut Config) + Send + 'static) -> Server {
        Server::start_with(Options::unthrottled(configure)).await
    }

    /// [`Server::unthrottled`] on SQLite whatever the run's backend: for tests that look inside
    /// the SQLite file.
    pub async fn unthrottled_sqlite() -> Server {
        Server::start_with(Options {
            sqlite_only: true,
            ..Options::unthrottled(|_| {})
        })
        .await
    }

    /// [`Server::unthrottled_with`] nothing else.
    pub async fn unthrottled() -> Server {
        Server::unthrottled_with(|_| {}).await
    }

    pub async fn start_with(options: Options) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = match !options.sqlite_only && on_postgres() {
            true => Some(pg::FreshSchema::new().await),
            false => None,
        };
        let database = match &pg {
            Some(schema) => schema.url.clone(),
            None => format!("sqlite://{}", dir.path().join("t.db").display()),
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            database,
            master_key: options.master_key.map(Secret),
            ..Config::default()
        };
        if let Some(configure) = options.configure {
            configure(&mut config);
        }
        let mut domain = teleoscope_server::open_domain(&config)
            .await
            .expect("open domain");
        let clock = if options.system_clock {
            None
        } else {
            let clock = Arc::new(ManualClock::new(chrono::Utc::now().timestamp()));
            domain.clock = clock.clone();
            Some(clock)
        };
        let running = teleoscope_server::http::start(config.clone(), domain.clone())
            .await
            .expect("server starts");
        let addr = running.addr;
        Server {
            addr,
            host: format!("127.0.0.1:{}", addr.port()),
            domain,
            clock,
            config,
            client: client(),
            running: Some(running),
            pg,
            dir,
        }
    }

    /// The server's notion of now (what a well-behaved client signs with).
    pub fn now(&self) -> i64 {
        self.domain.clock.now()
    }

    /// Path of the SQLite file (of a server started with `sqlite_only`).
    pub fn db_path(&self) -> PathBuf {
        assert!(
            self.pg.is_none(),
            "db_path: this server keeps its data in PostgreSQL"
        );
        self.dir.path().join("t.db")
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.host)
    }

    /// A new account with one key, as `teleoscope keys create` makes it.
    pub async fn new_key(&self) -> Key {
        let k = self
            .domain
            .create_key(None, None, None)
            .await
            .expect("create key");
        Key {
            account_id: k.account_id,
            secret_id: k.secret_id,
            secret_key: k.secret_key,
        }
    }

    /// The admin listener's address, when the configuration has one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.running.as_ref()?.admin_addr
    }

    /// Graceful shutdown (`Running::shutdown`).
    pub async fn shutdown(&mut self, grace: Duration) {
        if let Some(running) = self.running.take() {
            running.shutdown(grace).await;
        }
    }

    /// Take the running server out (to shut it down from another task).
    pub fn take_running(&mut self) -> Option<Running> {
        self.running.take()
    }

    /// Sleep until just after the start of one of the rate limiter's one-second windows (Unix
    /// seconds), so that a short burst falls inside one window.
    pub async fn sleep_to_window_start(&self) {
        let now = unix(SystemTime::now());
        let next = Duration::from_secs(now.as_secs() + 1) + Duration::from_millis(20);
        tokio::time::sleep(next - now).await;
    }

    /// Whether `from` and `to` fall in the same one-second window of the rate limiter.
    pub fn same_window(&self, from: SystemTime, to: SystemTime) -> bool {
        unix(from).as_secs() == unix(to).as_secs()
    }

    /// A TC3-signed `POST /` with a JSON body (the SDKs' default shape).
    pub fn tc3(&self, key: &Key, action: &str, body: Value) -> Tc3 {
        Tc3 {
            client: self.client.clone(),
            host: self.host.clone(),
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            content_type: "application/json".into(),
            body: serde_json::to_vec(&body).unwrap(),
            action: Some(action.into()),
            version: Some(VERSION.into()),
            region: None,
            language: None,
            token: None,
            timestamp: self.now(),
            timestamp_header: None,
            secret_id: key.secret_id.clone(),
            secret_key: key.secret_key.clone(),
            service: SERVICE.into(),
            scope_date: None,
            signed_body: None,
            authorization: Auth::Signed,
            headers: Vec::new(),
        }
    }

    /// A new project of `key`'s account; its ProjectId.
    pub async fn project(&self, key: &Key, name: &str) -> String {
        self.ok(key, "CreateProject", json!({"ProjectName": name}))
            .await["ProjectId"]
            .as_str()
            .expect("ProjectId")
            .to_owned()
    }

    /// A new device in `project` (`ty`: field or remote) with `token`; its device credentials.
    pub async fn device(&self, key: &Key, project: &str, id: &str, ty: &str, token: &str) -> Key {
        self.ok(
            key,
            "CreateDevice",
            json!({"ProjectId": project, "DeviceId": id, "DeviceName": id, "DeviceType": ty,
                   "DeviceToken": token}),
        )
        .await;
        Key {
            account_id: key.account_id.clone(),
            secret_id: format!("{project}:{id}"),
            secret_key: token.to_owned(),
        }
    }

    /// A device's `DeviceStatus` as DescribeDeviceInfo answers it.
    pub async fn device_status(&self, key: &Key, project: &str, device: &str) -> String {
        self.ok(
            key,
            "DescribeDeviceInfo",
            json!({"ProjectId": project, "DeviceId": device}),
        )
        .await["DeviceStatus"]
            .as_str()
            .expect("DeviceStatus")
            .to_owned()
    }

    /// A project with field device `truck_1` (token `aaaaaaaaaaaaaaa1`) and remote device `desk_1`
    /// (token `bbbbbbbbbbbbbbb2`): the project and the two devices' credentials.
    pub async fn project_with_pair(&self, key: &Key) -> (String, Key, Key) {
        let pid = self.project(key, "fleet").await;
        let field = self
            .device(key, &pid, "truck_1", "field", "aaaaaaaaaaaaaaa1")
            .await;
        let remote = self
            .device(key, &pid, "desk_1", "remote", "bbbbbbbbbbbbbbb2")
            .await;
        (pid, field, remote)
    }

    /// A TC3-signed `GET /?<query>` (`query` exactly as it goes on the wire, already encoded).
    pub fn tc3_get(&self, key: &Key, action: &str, query: &str) -> Tc3 {
        let mut r = self.tc3(key, action, Value::Null);
        r.method = "GET".into();
        r.query = query.into();
        r.content_type = "application/x-www-form-urlencoded".into();
        r.body = Vec::new();
        r
    }

    /// A v1-signed form `POST /` (HmacSHA256), business parameters already flattened.
    pub fn v1_post(&self, key: &Key, action: &str, params: &[(&str, &str)]) -> V1 {
        V1 {
            client: self.client.clone(),
            host: self.host.clone(),
            method: "POST".into(),
            secret_key: key.secret_key.clone(),
            sign_method: v1::Method::HmacSha256,
            params: [
                ("Action", action.to_owned()),
                ("Version", VERSION.to_owned()),
                ("Timestamp", self.now().to_string()),
                ("Nonce", "8675309".to_owned()),
                ("SecretId", key.secret_id.clone()),
                ("SignatureMethod", "HmacSHA256".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(params.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect(),
        }
    }

    /// A v1-signed `GET /?...` (HmacSHA1), business parameters already flattened.
    pub fn v1_get(&self, key: &Key, action: &str, params: &[(&str, &str)]) -> V1 {
        let mut r = self.v1_post(key, action, params);
        r.method = "GET".into();
        r.sign_method = v1::Method::HmacSha1;
        r.set("SignatureMethod", "HmacSHA1");
        r
    }

    /// Shortcut: a signed POST JSON, answered.
    pub async fn call(&self, key: &Key, action: &str, body: Value) -> Reply {
        self.tc3(key, action, body).send().await
    }

    /// Shortcut: a signed POST JSON that must succeed; its `Response`.
    pub async fn ok(&self, key: &Key, action: &str, body: Value) -> Value {
        self.call(key, action, body).await.ok().clone()
    }

    /// Send any request to the API endpoint with the given method, path, headers and body.
    pub async fn raw(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("http://{}{}", self.host, path_and_query))
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::new(req.send().await.expect("request sent"), path_and_query).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
            running.task.abort();
        }
    }
}

/// What goes into the `Authorization` header.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Computed from the request (`content-type;host`), honouring the signing overrides.
    Signed,
    /// This exact value.
    Raw(String),
    /// No header.
    Absent,
}

/// A TC3 request; every field may be changed before `send`.
#[derive(Clone)]
pub struct Tc3 {
    pub client: reqwest::Client,
    /// Host header value sent and signed.
    pub host: String,
    pub method: String,
    pub path: String,
    /// Raw query string (no `?`), sent and signed as is.
    pub query: String,
    pub content_type: String,
    pub body: Vec<u8>,
    /// `X-TC-Action`; `None` omits the header.
    pub action: Option<String>,
    /// `X-TC-Version`; `None` omits the header.
    pub version: Option<String>,
    /// `X-TC-Region`.
    pub region: Option<String>,
    /// `X-TC-Language`.
    pub language: Option<String>,
    /// `X-TC-Token`.
    pub token: Option<String>,
    /// The timestamp signed (and sent, unless `timestamp_header` overrides it).
    pub timestamp: i64,
    /// `Some(None)`: omit `X-TC-Timestamp`; `Some(Some(v))`: send `v` instead of `timestamp`.
    pub timestamp_header: Option<Option<String>>,
    pub secret_id: String,
    /// The key the signature is computed with.
    pub secret_key: String,
    /// The service in the credential scope.
    pub service: String,
    /// The date in the credential scope (default: UTC date of `timestamp`).
    pub scope_date: Option<String>,
    /// The body the signature covers (default: `body`); set it to send a tampered body.
    pub signed_body: Option<Vec<u8>>,
    pub authorization: Auth,
    /// Extra headers, sent as is (not signed).
    pub headers: Vec<(String, String)>,
}

impl Tc3 {
    pub fn language(mut self, lang: &str) -> Self {
        self.language = Some(lang.into());
        self
    }
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.into());
        self
    }
    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = ts;
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn body_bytes(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The `Authorization` header value `send` would use (None when absent).
    pub fn authorization_value(&self) -> Option<String> {
        match &self.authorization {
            Auth::Absent => None,
            Auth::Raw(v) => Some(v.clone()),
            Auth::Signed => Some(self.signed().authorization()),
        }
    }

    /// What the signature covers, honouring the signing overrides.
    pub fn signed(&self) -> Tc3Request<'_> {
        Tc3Request {
            secret_id: &self.secret_id,
            secret_key: &self.secret_key,
            service: &self.service,
            timestamp: self.timestamp,
            date: self.scope_date.as_deref(),
            method: &self.method,
            query: &self.query,
            host: &self.host,
            content_type: &self.content_type,
            body: self.signed_body.as_deref().unwrap_or(&self.body),
            signed_action: None,
        }
    }

    pub async fn try_send(&self) -> reqwest::Result<reqwest::Response> {
        let mut url = format!("http://{}{}", self.host, self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&self.query);
        }
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, url)
            .header("Content-Type", &self.content_type);
        if let Some(auth) = self.authorization_value() {
            req = req.header("Authorization", auth);
        }
        if let Some(a) = &self.action {
            req = req.header("X-TC-Action", a);
        }
        if let Some(v) = &self.version {
            req = req.header("X-TC-Version", v);
        }
        match &self.timestamp_header {
            None => req = req.header("X-TC-Timestamp", self.timestamp.to_string()),
            Some(Some(v)) => req = req.header("X-TC-Timestamp", v),
            Some(None) => {}
        }
        if let Some(r) = &self.region {
            req = req.header("X-TC-Region", r);
        }
        if let Some(l) = &self.language {
            req = req.header("X-TC-Language", l);
        }
        if let Some(t) = &self.token {
            req = req.header("X-TC-Token", t);
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if !self.body.is_empty() {
            req = req.body(self.body.clone());
        }
        req.send().await
    }

    /// The request's HTTP/1.1 head as it goes on the wire, for tests that write raw bytes
    /// (`Content-Length` is the whole body's, whatever part of it a test then sends).
    pub fn raw_head(&self) -> String {
        let mut head = format!(
            "{} {}{} HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
            self.method,
            self.path,
            if self.query.is_empty() {
                String::new()
            } else {
                format!("?{}", self.query)
            },
            self.host,
            self.content_type,
            self.body.len()
        );
        let mut line = |k: &str, v: &str| head.push_str(&format!("{k}: {v}\r\n"));
        if let Some(a) = self.authorization_value() {
            line("Authorization", &a);
        }
        if let Some(a) = &self.action {
            line("X-TC-Action", a);
        }
        if let Some(v) = &self.version {
            line("X-TC-Version", v);
        }
        line("X-TC-Timestamp", &self.timestamp.to_string());
        if let Some(l) = &self.language {
            line("X-TC-Language", l);
        }
        for (k, v) in &self.headers {
            line(k, v);
        }
        head.push_str("\r\n");
        head
    }

    /// Send, and check the envelope of the answer.
    pub async fn send(&self) -> Reply {
        let label = format!(
            "{} {} {}",
            self.method,
            self.path,
            self.action.as_deref().unwrap_or("<no action>")
        );
        let resp = self.try_send().await.expect("request sent");
        Reply::new(resp, &label).await
    }
}

/// A v1 request (parameters in the form body or the query string).
#[derive(Clone)]
pub struct V1 {
    pub client: reqwest::Client,
    pub host: String,
    pub method: String,
    pub secret_key: String,
    pub sign_method: v1::Method,
    /// Every parameter but `Signature`, in wire order.
    pub params: Vec<(String, String)>,
}

impl V1 {
    /// Replace (or add) a parameter.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.params.iter_mut().find(|(k, _)| k == name) {
            Some(p) => p.1 = value.into(),
            None => self.params.push((name.into(), value.into())),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.set(name, value);
        self
    }

    /// The encoded parameters, signature included.
    pub fn encoded(&self) -> String {
        let sts = v1::string_to_sign(&self.method, &self.host, &self.params, false);
        let signature = v1::sign(self.sign_method, &self.secret_key, &sts);
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            ser.append_pair(k, v);
        }
        ser.append_pair("Signature", &signature);
        ser.finish()
    }

    pub async fn send(&self) -> Reply {
        let encoded = self.encoded();
        let req = if self.method == "GET" {
            self.client
                .get(format!("http://{}/?{encoded}", self.host))
                .header("Content-Type", "application/x-www-form-urlencoded")
        } else {
            self.client
                .post(format!("http://{}/", self.host))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encoded)
        };
        let action = self
            .params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.as_str())
            .unwrap_or("<no action>");
        let label = format!("v1 {} {action}", self.method);
        Reply::new(req.send().await.expect("request sent"), &label).await
    }
}

/// An API answer whose envelope has been checked.
#[derive(Debug, Clone)]
pub struct Reply {
    pub label: String,
    pub json: Value,
}

/// A lowercase hyphenated UUID v4, 36 characters.
pub fn is_uuid_v4(s: &str) -> bool {
    s.len() == 36
        && s == s.to_ascii_lowercase()
        && uuid::Uuid::parse_str(s)
            .is_ok_and(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122)
        && s.char_indices()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'))
}

impl Reply {
    /// Read the answer and assert the envelope every API answer must have.
    pub async fn new(resp: reqwest::Response, label: &str) -> Reply {
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get_all("content-type")
            .iter()
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned())
            .collect::<Vec<_>>();
        let bytes = resp.bytes().await.expect("response body");
        let text = String::from_utf8_lossy(&bytes);
        assert_eq!(status, 200, "{label}: HTTP status; body: {text}");
        assert_eq!(
            content_type,
            vec!["application/json".to_owned()],
            "{label}: Content-Type must be exactly application/json; body: {text}"
        );
        let json: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{label}: body is not JSON ({e}): {text}"));
        let request_id = json["Response"]["RequestId"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: no Response.RequestId string: {text}"));
        assert!(
            is_uuid_v4(request_id),
            "{label}: RequestId `{request_id}` is not a lowercase UUID v4"
        );
        Reply {
            label: label.to_owned(),
            json,
        }
    }

    pub fn response(&self) -> &Value {
        &self.json["Response"]
    }

    pub fn request_id(&self) -> &str {
        self.response()["RequestId"].as_str().unwrap_or_default()
    }

    /// `Response.Error.Code`, if the answer is an error.
    pub fn code(&self) -> Option<&str> {
        self.response()["Error"]["Code"].as_str()
    }

    /// `Response.Error.Message` (empty on success).
    pub fn message(&self) -> &str {
        self.response()["Error"]["Message"]
            .as_str()
            .unwrap_or_default()
    }

    /// Assert success; the `Response` object.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(
            self.response().get("Error").is_none(),
            "{}: expected success, got {}",
            self.label,
            self.json
        );
        self.response()
    }

    /// Assert an error with this code (and nothing else in `Response`); its message.
    #[track_caller]
    pub fn err(&self, code: &str) -> &str {
        assert_eq!(
            self.code(),
            Some(code),
            "{}: expected error {code}, got {}",
            self.label,
            self.json
        );
        let error = self.response()["Error"].as_object().unwrap();
        assert!(
            self.message().chars().count() > 0,
            "{}: empty error message",
            self.label
        );
        assert_eq!(
            error.len(),
            2,
            "{}: Error has Code and Message only",
            self.label
        );
        let keys: Vec<&String> = self.response().as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            2,
            "{}: an error answer carries Error and RequestId only: {}",
            self.label,
            self.json
        );
        self.message()
    }

    /// Assert an error with this code whose message names `param` in backticks; the message.
    #[track_caller]
    pub fn err_naming(&self, code: &str, param: &str) -> &str {
        let msg = self.err(code);
        assert!(
            msg.contains(&format!("`{param}`")),
            "{}: message should name `{param}`: {msg}",
            self.label
        );
        msg
    }
}
