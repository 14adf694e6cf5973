//! The benchmark's HTTP client: one HTTP/1.1 keep-alive connection per simulated caller (a device
//! or an operator's SDK), requests TC3-signed exactly as the vendor's SDKs sign them (`POST /`,
//! `content-type;host`, SHA-256 of the body). Plain hyper rather than reqwest: the client shares the
//! machine's two cores with the server, so its own overhead is kept small.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use teleoscope_protocol::sign::tc3;

/// A SecretId and SecretKey: an API key pair, or a device's `<ProjectId>:<DeviceId>` and token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: String,
}

/// `Response.Error` of the envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message")]
    pub message: String,
}

/// The envelope of an ingest answer: `Accepted`/`Duplicates`, or an error.
#[derive(Debug, Deserialize)]
struct IngestEnvelope {
    #[serde(rename = "Response")]
    response: IngestResponse,
}

#[derive(Debug, Deserialize)]
struct IngestResponse {
    #[serde(rename = "Error")]
    error: Option<ApiError>,
    #[serde(rename = "Accepted", default)]
    accepted: u64,
    #[serde(rename = "Duplicates", default)]
    duplicates: u64,
}

/// What a `ReportSessionMetrics` call answered.
pub enum Ingested {
    Ok { accepted: u64, duplicates: u64 },
    Refused(ApiError),
}

pub struct Connection {
    addr: SocketAddr,
    host: String,
    sender: http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Connection {
            addr,
            host: format!("127.0.0.1:{}", addr.port()),
            sender,
        })
    }

    /// Sign and send one action; the raw answer body and the round-trip time (signing included).
    pub async fn call(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(Bytes, Duration)> {
        let started = Instant::now();
        let headers = tc3::json_post_headers(
            &creds.secret_id,
            &creds.secret_key,
            &self.host,
            action,
            chrono::Utc::now().timestamp(),
            &body,
        );
        let mut request = hyper::Request::post("/");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        if self.sender.ready().await.is_err() {
            // The server closed the connection (it does not, but a benchmark should not stop there).
            *self = Connection::open(self.addr).await?;
        }
        let response = self.sender.send_request(request).await?;
        if response.status() != hyper::StatusCode::OK {
            bail!("{action}: HTTP {}", response.status());
        }
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((bytes, started.elapsed()))
    }

    /// A call whose answer must not be an error: the `Response` object.
    pub async fn ok(
        &mut self,
        creds: &Credentials,
        action: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<(serde_json::Value, Duration)> {
        let (bytes, took) = self.call(creds, action, serde_json::to_vec(body)?).await?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("{action}: the answer is not JSON"))?;
        let response = value
            .get_mut("Response")
            .map(serde_json::Value::take)
            .with_context(|| format!("{action}: no Response in the answer"))?;
        if let Some(e) = response.get("Error") {
            bail!("{action}: {} {}", e["Code"], e["Message"]);
        }
        Ok((response, took))
    }

    /// One `ReportSessionMetrics` with a prepared JSON body.
    pub async fn ingest(
        &mut self,
        creds: &Credentials,
        body: Vec<u8>,
    ) -> anyhow::Result<(Ingested, Duration)> {
        let (bytes, took) = self.call(creds, "ReportSessionMetrics", body).await?;
        let envelope: IngestEnvelope = serde_json::from_slice(&bytes)
            .context("ReportSessionMetrics: the answer is not the envelope")?;
        let r = envelope.response;
        Ok((
            match r.error {
                Some(e) => Ingested::Refused(e),
                None => Ingested::Ok {
                    accepted: r.accepted,
                    duplicates: r.duplicates,
                },
            },
            took,
        ))
    }
}
