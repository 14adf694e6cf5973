//! What the command-line tests share: the `teleoscope` binary, a `serve` process ([`Node`]), a store
//! with an API key and a provisioned project ([`Cluster`]), and signed calls through the fleet's
//! client.

#![allow(dead_code)]

#[path = "../../../server/tests/pg/mod.rs"]
pub mod pg;

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
pub use teleoscope_fleet::client::{Connection, Credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn teleoscope() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_teleoscope"));
    c.env_remove("TELEOSCOPE_DATABASE")
        .env_remove("TELEOSCOPE_CONFIG")
        .env_remove("RUST_LOG");
    c
}

/// A `teleoscope serve` process; killed when dropped.
pub struct Node {
    pub child: Child,
    pub endpoint: String,
    pub log: PathBuf,
}

impl Node {
    /// A node of `cluster`'s store and configuration, logging to `<name>.log` in its directory.
    pub async fn start(cluster: &Cluster, name: &str) -> Node {
        Node::serve(cluster, &cluster.url, name).await
    }

    /// A node on the store at `url`, with `cluster`'s configuration and directory.
    pub async fn serve(cluster: &Cluster, url: &str, name: &str) -> Node {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = cluster.dir.path().join(format!("{name}.log"));
        let child = teleoscope()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database", url])
            .args(["--config", cluster.config.to_str().unwrap()])
            .env("TELEOSCOPE_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("teleoscope serve starts");
        let node = Node {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        node.wait_ready(name).await;
        node
    }

    /// Waits until `/readyz` answers 200 (at most 20 s; else fails, with the node's log).
    pub async fn wait_ready(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.readyz().await != Some(200) {
            assert!(
                Instant::now() < deadline,
                "{name} not ready:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The status of its `GET /readyz`, or `None` if the node does not answer.
    pub async fn readyz(&self) -> Option<u16> {
        readyz(&self.endpoint).await
    }

    /// The node's log lines (JSON).
    pub fn log_lines(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn connection(&self) -> Connection {
        connect(&self.endpoint)
    }
}

/// A connection to the node at `endpoint` (opened at its first call).
pub fn connect(endpoint: &str) -> Connection {
    Connection::new(teleoscope_fleet::client::Endpoint::parse(endpoint).unwrap())
}

/// The status of `GET /readyz` of the node at `endpoint`, or `None` if it does not answer.
pub async fn readyz(endpoint: &str) -> Option<u16> {
    let addr = endpoint.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .ok()?
        .ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A database schema, a configuration, an API key and one project with device pairs.
pub struct Cluster {
    pub url: String,
    pub config: PathBuf,
    pub key: Credentials,
    pub project_id: String,
    pub dir: tempfile::TempDir,
    _schema: Option<pg::FreshSchema>,
}

impl Cluster {
    /// On a fresh PostgreSQL schema, or on `sqlite` (a single node to compare with).
    pub async fn new(sqlite: bool, config: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let (url, schema) = if sqlite {
            let url = format!("sqlite://{}", dir.path().join("t.db").display());
            (url, None)
        } else {
            let schema = pg::FreshSchema::new().await;
            (schema.url.clone(), Some(schema))
        };
        let config_path = dir.path().join("teleoscope.toml");
        std::fs::write(&config_path, config).unwrap();
        let out = teleoscope()
            .args(["--database", &url, "keys", "create", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "keys create: {out:?}");
        let k: Value = serde_json::from_slice(&out.stdout).unwrap();
        Cluster {
            url,
            config: config_path,
            key: Credentials {
                secret_id: k["SecretId"].as_str().unwrap().to_owned(),
                secret_key: k["SecretKey"].as_str().unwrap().to_owned(),
            },
            project_id: String::new(),
            dir,
            _schema: schema,
        }
    }

    /// A project with `pairs` field/remote pairs `truck_<i>`/`desk_<i>`, made through `node`.
    pub async fn provision(&mut self, node: &Node, pairs: usize) -> Vec<(Device, Device)> {
        let mut c = node.connection();
        let p = ok(
            &mut c,
            &self.key,
            "CreateProject",
            json!({"ProjectName": "yard"}),
        )
        .await;
        self.project_id = p["ProjectId"].as_str().unwrap().to_owned();
        let mut out = Vec::new();
        for i in 0..pairs {
            out.push(self.provision_pair(node, &i.to_string()).await);
        }
        out
    }

    /// A field/remote pair `truck_<name>`/`desk_<name>` in the project, made through `node`.
    pub async fn provision_pair(&self, node: &Node, name: &str) -> (Device, Device) {
        let mut c = node.connection();
        let mut pair = Vec::new();
        for (id, kind) in [
            (format!("truck_{name}"), "field"),
            (format!("desk_{name}"), "remote"),
        ] {
            let token = format!("tok{name:0>12}{}", &kind[..1]);
            ok(
                &mut c,
                &self.key,
                "CreateDevice",
                json!({"ProjectId": self.project_id, "DeviceId": id, "DeviceName": id,
                       "DeviceType": kind, "DeviceToken": token}),
            )
            .await;
            pair.push(Device {
                id: id.clone(),
                creds: Credentials {
                    secret_id: format!("{}:{id}", self.project_id),
                    secret_key: token,
                },
            });
        }
        let remote = pair.pop().unwrap();
        (pair.pop().unwrap(), remote)
    }
}

#[derive(Clone)]
pub struct Device {
    pub id: String,
    pub creds: Credentials,
}

/// The `Response` of a call, which must not be an error.
pub async fn ok(c: &mut Connection, creds: &Credentials, action: &str, body: Value) -> Value {
    let r = call(c, creds, action, &body)
        .await
        .expect("the node answers");
    assert!(r.get("Error").is_none(), "{action} {body}: {r}");
    r
}

/// The `Response` of a call (possibly an error), or the transport error.
pub async fn call(
    c: &mut Connection,
    creds: &Credentials,
    action: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let (bytes, _) = c
        .call(creds, action, serde_json::to_vec(body).unwrap())
        .await?;
    let mut v: Value = serde_json::from_slice(&bytes)?;
    Ok(v["Response"].take())
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A report of samples at `offsets` (deterministic values, so two runs store the same).
pub fn report(session: &str, peer: &str, start: i64, offsets: &[i64], last: bool) -> Value {
    let samples: Vec<Value> = offsets
        .iter()
        .map(|o| json!({"TimeOffset": o, "Rate": 700 + o % 50, "Fps": 25, "Lost": o % 3, "CpuUsed": 30.5}))
        .collect();
    json!({"SessionId": session, "PeerDeviceId": peer, "StartTime": start, "Width": 1280, "Height": 720,
           "Samples": samples, "Final": last})
}
