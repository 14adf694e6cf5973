//! The fleet's HTTP client, and the TC3 signer of the integration tests: requests TC3-signed exactly
//! as the vendor's SDKs sign them (`POST /`, `content-type;host`, SHA-256 of the body, with
//! `X-TC-Region` and `X-TC-Language`), sent over HTTP/1.1 keep-alive connections. Plain hyper rather
//! than a client library: the benchmark's client shares the machine's two cores with the server, so
//! its own overhead is kept small.
//!
//! - [`Tc3Request`]: what a signature covers, every part a field, so a test can change one at a time.
//! - [`Connection`]: one connection, reopened when the server closed it. The benchmark gives each
//!   simulated caller (a device, an operator's SDK) its own.
//! - [`Pool`]: connections shared by many callers, as many as calls in flight (the simulator's
//!   devices).

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teleoscope_protocol::sign::{tc3, utc_date};

/// The region and language every call names; English, so that error messages print as they are.
const REGION: &str = "ap-guangzhou";
const LANGUAGE: &str = "en-US";

/// A SecretId and SecretKey: an API key pair, or a device's `<ProjectId>:<DeviceId>` and token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: String,
}

/// What a TC3-HMAC-SHA256 signature covers (docs/protocol.md §2): `content-type;host` as the SDKs
/// sign, and `x-tc-action` too when `signed_action` says so.
#[derive(Debug, Clone, Copy)]
pub struct Tc3Request<'a> {
    pub secret_id: &'a str,
    /// The key the signature is computed with.
    pub secret_key: &'a str,
    /// The service of the credential scope.
    pub service: &'a str,
    pub timestamp: i64,
    /// The date of the credential scope; `None`: the UTC date of `timestamp`, as every SDK signs.
    pub date: Option<&'a str>,
    pub method: &'a str,
    /// The query string as sent (no `?`).
    pub query: &'a str,
    /// The Host header's value.
    pub host: &'a str,
    pub content_type: &'a str,
    /// The body the signature covers.
    pub body: &'a [u8],
    /// Sign `x-tc-action` with this action too (`content-type;host;x-tc-action`, which the vendor's
    /// documentation allows and the SDKs do not do).
    pub signed_action: Option<&'a str>,
}

impl<'a> Tc3Request<'a> {
    /// A `POST /` with a JSON body, signed now by `creds` for `host`, as the SDKs send one.
    pub fn json_post(
        creds: &'a Credentials,
        host: &'a str,
        timestamp: i64,
        body: &'a [u8],
    ) -> Self {
        Tc3Request {
            secret_id: &creds.secret_id,
            secret_key: &creds.secret_key,
            service: tc3::SERVICE,
            timestamp,
            date: None,
            method: "POST",
            query: "",
            host,
            content_type: "application/json",
            body,
            signed_action: None,
        }
    }

    /// The `Authorization` header's value.
    pub fn authorization(&self) -> String {
        let date = self
            .date
            .map_or_else(|| utc_date(self.timestamp), str::to_owned);
        let action = self.signed_action.map(str::to_ascii_lowercase);
        let mut headers = vec![("content-type", self.content_type), ("host", self.host)];
        headers.extend(action.as_deref().map(|a| ("x-tc-action", a)));
        tc3::authorization(
            self.secret_id,
            self.secret_key,
            self.service,
            self.timestamp,
            &date,
            self.method,
            self.query,
            &headers,
            self.body,
            false,
        )
    }

    /// The headers of a call of `action`: Host, Content-Type, X-TC-Action, X-TC-Version,
    /// X-TC-Timestamp and Authorization.
    pub fn headers(&self, action: &str) -> [(&'static str, String); 6] {
        [
            ("Host", self.host.to_owned()),
            ("Content-Type", self.content_type.to_owned()),
            ("X-TC-Action", action.to_owned()),
            ("X-TC-Version", tc3::VERSION.to_owned()),
            ("X-TC-Timestamp", self.timestamp.to_string()),
            ("Authorization", self.authorization()),
        ]
    }
}

/// Where a server is: what to connect to, and the Host header (which is also what is signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host` or `host:port`, the port only when not 80 (as HTTP clients send it).
    pub host: String,
    /// The name or address to connect to (an IPv6 address without its brackets), and the port.
    connect: (String, u16),
}

impl Endpoint {
    /// `http://host[:port]`; a path or query is ignored (every call is `POST /`). Plain http only.
    pub fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| anyhow::anyhow!("endpoint `{url}`: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => bail!(
                "endpoint `{url}`: the fleet tools speak plain http only; use an http:// listener"
            ),
            Some(s) => bail!("endpoint `{url}`: unsupported scheme `{s}`"),
            None => bail!("endpoint `{url}`: not a URL; write http://host:port"),
        }
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .with_context(|| format!("endpoint `{url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let name = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Endpoint {
            host: if port == 80 {
                host.to_owned()
            } else {
                format!("{host}:{port}")
            },
            connect: (name.to_owned(), port),
        })
    }
}

/// A listener's address (the benchmark's servers).
impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Endpoint {
        Endpoint {
            host: addr.to_string(),
            connect: (addr.ip().to_string(), addr.port()),
        }
    }
}

/// How long a call may take before it is given up.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Opening the connection.
    pub connect: Duration,
    /// The whole call, opening the connection included.
    pub call: Duration,
}

/// `Response.Error` of the envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

/// The envelope of an answer, its `Response` read as `T`.
#[derive(Deserialize)]
struct Envelope<T> {
    #[serde(rename = "Response")]
    response: T,
}

/// A `Response` read only for its `Error`. An answer is read twice, as this and then as `T`, rather
/// than once with `T` flattened beside `Error`: serde buffers a flattened struct's fields, which cost
/// the benchmark's client more CPU than reading a short answer twice.
#[derive(Deserialize)]
struct MaybeError {
    #[serde(rename = "Error")]
    error: Option<ApiError>,
}

/// One HTTP/1.1 keep-alive connection, opened at the first call and again after the server closed
/// it or a call failed on it.
pub struct Connection {
    endpoint: Endpoint,
    timeouts: Option<Timeouts>,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection that opens at its first call, with no time limits.
    pub fn new(endpoint: impl Into<Endpoint>) -> Connection {
        Connection {
            endpoint: endpoint.into(),
            timeouts: None,
            sender: None,
        }
    }

    /// A connection opened now (an error when the server cannot be reached).
    pub async fn open(endpoint: impl Into<Endpoint>) -> anyhow::Result<Connection> {
        let mut conn = Connection::new(endpoint);
        conn.sender = Some(conn.connect().await?);
        Ok(conn)
    }

    /// Give up calls that take longer than `timeouts`.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Connection {
        self.timeouts = Some(timeouts);
        self
    }

    async fn connect(&self) -> anyhow::Result<http1::SendRequest<Full<Bytes>>> {
        let (name, port) = &self.endpoint.connect;
        let connecting = tokio::net::TcpStream::connect((name.as_str(), *port));
        let stream = match self.timeouts {
            Some(t) => tokio::time::timeout(t.connect, connecting)
                .await
                .map_err(|_| anyhow::anyhow!("connect timed out after {:?}", t.connect))?,
            None => connecting.await,
        }
        .with_context(|| format!("connecting to {name}:{port}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sign and send one action; the raw answer body and the round-trip time (signing included).
    /// An error when there was no answer, or its HTTP status was not 200 (the API answers 200, its
    /// errors included).
    pub async fn call(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(Bytes, Duration)> {
        let started = Instant::now();
        let timeouts = self.timeouts;
        let exchange = self.exchange(creds, action, body);
        let answered = match timeouts {
            Some(t) => tokio::time::timeout(t.call, exchange)
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out after {:?}", t.call))),
            None => exchange.await,
        };
        if answered.is_err() {
            // Whatever state the connection is in, the next call starts on a new one.
            self.sender = None;
        }
        Ok((answered?, started.elapsed()))
    }

    async fn exchange(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Bytes> {
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = hyper::Request::post("/")
            .header("X-TC-Region", REGION)
            .header("X-TC-Language", LANGUAGE);
        for (name, value) in
            Tc3Request::json_post(creds, &self.endpoint.host, timestamp, &body).headers(action)
        {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        // A server closes idle connections; it may have closed this one.
        let open = match self.sender.take() {
            Some(mut s) => s.ready().await.is_ok().then_some(s),
            None => None,
        };
        let sender = match open {
            Some(s) => self.sender.insert(s),
            None => self.sender.insert(self.connect().await?),
        };
        let response = sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        if status != hyper::StatusCode::OK {
            bail!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            );
        }
        Ok(bytes)
    }

    /// One call and its answer: the `Response` as `T`, or its `Error`. `T` must accept a
    /// `Response` that holds only `Error` and `RequestId` (`serde_json::Value`, or a type whose
    /// fields default).
    pub async fn answer<T: DeserializeOwned>(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(Result<T, ApiError>, Duration)> {
        let (bytes, took) = self.call(creds, action, body).await?;
        let probe: Envelope<MaybeError> =
            serde_json::from_slice(&bytes).context("the answer is not the envelope")?;
        if let Some(e) = probe.response.error {
            return Ok((Err(e), took));
        }
        let envelope: Envelope<T> =
            serde_json::from_slice(&bytes).context("the answer is not the envelope")?;
        Ok((Ok(envelope.response), took))
    }

    /// A call whose answer must not be an error: the `Response` object.
    pub async fn ok(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(serde_json::Value, Duration)> {
        let (answer, took) = self
            .answer(creds, action, serde_json::to_vec(body)?)
            .await
            .map_err(|e| anyhow::anyhow!("{action}: {e:#}"))?;
        match answer {
            Ok(response) => Ok((response, took)),
            Err(e) => bail!("{action}: {} {}", e.code, e.message),
        }
    }
}

/// Keep-alive connections to one endpoint, shared by many callers: a call takes an idle one (or
/// opens one) and puts it back once answered, so there are as many as calls in flight at once, not
/// one per caller.
#[derive(Clone)]
pub struct Pool {
    endpoint: Endpoint,
    timeouts: Timeouts,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Pool {
    pub fn new(endpoint: Endpoint, timeouts: Timeouts) -> Pool {
        Pool {
            endpoint,
            timeouts,
            idle: Arc::default(),
        }
    }

    /// [`Connection::answer`] on one of the pool's connections.
    pub async fn answer<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Result<T, ApiError>> {
        let idle = self.idle.lock().expect("pool lock").pop();
        let mut conn = idle
            .unwrap_or_else(|| Connection::new(self.endpoint.clone()).with_timeouts(self.timeouts));
        let (answer, _) = conn.answer(creds, action, body).await?;
        self.idle.lock().expect("pool lock").push(conn);
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_give_the_host_header_and_where_to_connect() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(e.host, "127.0.0.1:8080");
        assert_eq!(e.connect, ("127.0.0.1".to_owned(), 8080));
        let e = Endpoint::parse("http://localhost/some/path?x=1").unwrap();
        assert_eq!(e.host, "localhost");
        assert_eq!(e.connect, ("localhost".to_owned(), 80));
        let e = Endpoint::parse("http://[::1]:9000/").unwrap();
        assert_eq!(e.host, "[::1]:9000");
        assert_eq!(e.connect, ("::1".to_owned(), 9000));
        assert_eq!(
            Endpoint::parse("http://example.com:80").unwrap().host,
            "example.com"
        );
        assert_eq!(
            Endpoint::from(SocketAddr::from(([127, 0, 0, 1], 8080))),
            Endpoint::parse("http://127.0.0.1:8080").unwrap()
        );
        for (bad, says) in [
            ("https://127.0.0.1:8443", "plain http only"),
            ("ftp://127.0.0.1", "unsupported scheme `ftp`"),
            ("127.0.0.1:8080", "not a URL"),
            ("http://", "endpoint `http://`"),
        ] {
            let e = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    /// docs/protocol.md §2.7 vector C: a JSON POST to `127.0.0.1:8080`, signed as the SDKs sign it.
    #[test]
    fn json_post_headers_carry_vector_c() {
        let creds = Credentials {
            secret_id: "AKIDEXAMPLEEXAMPLEEXAMPLEEXAMPLE1234".into(),
            secret_key: "ExampleSecretKeyExampleSecretKey".into(),
        };
        let body = br#"{"ProjectId": "prj-demo1", "PageNumber": 1, "PageSize": 10}"#;
        let h = Tc3Request::json_post(&creds, "127.0.0.1:8080", 1_700_000_000, body)
            .headers("DescribeDeviceList");
        assert_eq!(h[0], ("Host", "127.0.0.1:8080".to_owned()));
        assert_eq!(h[2], ("X-TC-Action", "DescribeDeviceList".to_owned()));
        assert_eq!(h[4], ("X-TC-Timestamp", "1700000000".to_owned()));
        assert!(h[5].1.ends_with(
            "Signature=48b12dfc567076898269da439035fc55fabf79bd168c6ac3afba7a8a918ba2d5"
        ));
    }

    /// A scope date other than the timestamp's signs something else (the tests send such requests).
    #[test]
    fn the_scope_date_is_signed() {
        let creds = Credentials {
            secret_id: "id".into(),
            secret_key: "key".into(),
        };
        let own = Tc3Request::json_post(&creds, "h", 1_700_000_000, b"{}");
        let other = Tc3Request {
            date: Some("2023-11-13"),
            ..own
        };
        assert!(own.authorization().contains("/2023-11-14/trro/tc3_request"));
        assert!(other
            .authorization()
            .contains("/2023-11-13/trro/tc3_request"));
        assert_ne!(
            own.authorization().rsplit('=').next(),
            other.authorization().rsplit('=').next()
        );
    }
}
