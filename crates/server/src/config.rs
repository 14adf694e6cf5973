//! Configuration, layered: built-in defaults, then the TOML file given by `--config`, then
//! `TELEOSCOPE_*` environment variables, then command-line flags (clap reads the last two: a flag
//! wins over its variable). Every field is documented here; secrets are redacted from `Debug`.

use crate::domain::quality::QualityConfig;
use anyhow::{bail, Context};
use chrono::FixedOffset;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The regions the vendor's API knows (Tencent Cloud's region list). A value outside it is
/// `InvalidParameterValue`; a known region this server is not configured to serve is `UnsupportedRegion`
/// (docs/protocol.md §5.2).
pub const KNOWN_REGIONS: &[&str] = &[
    "ap-bangkok",
    "ap-beijing",
    "ap-beijing-fsi",
    "ap-chengdu",
    "ap-chongqing",
    "ap-guangzhou",
    "ap-hongkong",
    "ap-jakarta",
    "ap-mumbai",
    "ap-nanjing",
    "ap-seoul",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-singapore",
    "ap-taipei",
    "ap-tokyo",
    "eu-frankfurt",
    "eu-moscow",
    "na-ashburn",
    "na-siliconvalley",
    "na-toronto",
    "sa-saopaulo",
];

/// A secret value whose `Debug` does not print it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Address the server listens on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Address of the admin listener: `/metrics`, `/healthz` and `/readyz` only. When set, `/metrics`
    /// leaves the public `listen` address (where it is unauthenticated). Default unset.
    pub admin_listen: Option<SocketAddr>,
    /// `sqlite://PATH` (one node; default `sqlite://./teleoscope-data/teleoscope.db`) or
    /// `postgres://USER@HOST/DB` (shared by any number of nodes; docs/deploy.md).
    pub database: String,
    /// TLS certificate and key (PEM); both or neither. `tccli` speaks HTTPS unless its endpoint starts
    /// with `http://`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Key that seals secrets at rest (API secret keys, device tokens, project keys). Unset: stored
    /// as they are, and the server warns.
    pub master_key: Option<Secret>,
    /// The service name expected in the TC3 credential scope. Default `trro`.
    pub service: String,
    /// Time zone of ISO-8601 times and of day/month buckets. Default `+08:00`, as the vendor.
    pub time_zone: FixedOffset,
    /// Requests per second per (account, action) unless `rate_limits` names the action. Default 20.
    pub rate_limit_per_second: u32,
    /// Per-action limits. Default CreateDevice 50, ModifyDevice 50 (the vendor's pages).
    pub rate_limits: BTreeMap<String, u32>,
    /// Regions served; default all `KNOWN_REGIONS`.
    pub regions: Vec<String>,
    /// Allowed clock skew of signed requests, seconds. Default 300 (the vendor's five minutes).
    pub signature_window_seconds: i64,
    /// Device requests per second per device. Default 50 (docs/api.md §4.7).
    pub device_rate_limit_per_second: u32,
    /// Seconds without a report after which a device's part of a session ends. Default 60.
    pub idle_timeout_seconds: i64,
    /// Seconds a `ready` heartbeat lasts. Default 30.
    pub heartbeat_timeout_seconds: i64,
    /// Days samples are kept; `None` (the default): forever. Sessions, their grades and the
    /// statistics rollups are kept whatever it says (docs/deploy.md, Retention).
    pub retention_days: Option<u32>,
    /// The quality scorer's thresholds (docs/quality.md), TOML table `[quality]`.
    pub quality: QualityConfig,
    /// The glass-to-glass latency target the console's latency budget is drawn against, ms. Default
    /// 150: the vendor's stated public-network target (docs/api.md §5).
    pub latency_budget_ms: u32,
    /// Connections served at once; at the limit the listener stops accepting until one closes.
    /// Default: the open-file limit (raised to its hard maximum at start) less 128 for the store and
    /// logs, at most 10,000.
    pub max_connections: usize,
    /// A request head must arrive within this many seconds of its first byte (or of the connection's
    /// accept, for the first request); also the TLS handshake. Default 10.
    pub header_read_timeout_seconds: u64,
    /// A connection with no request in flight is closed after this many seconds without a byte; so is
    /// one whose client stops reading its response. Default 30.
    pub connection_idle_timeout_seconds: u64,
    /// A request body must arrive within this many seconds of the end of its head. Default 30.
    pub body_read_timeout_seconds: u64,
    /// Largest body of an account (control-plane) request, bytes. Default 1 MiB; at most 10 MiB, the
    /// protocol's TC3 limit.
    pub max_request_bytes: usize,
    /// Largest body of a device's ReportSessionMetrics, bytes. Default 4 MiB (1,800 samples of every
    /// metric and four links take about 2 MiB of JSON); at most 10 MiB.
    pub max_report_bytes: usize,
    /// Memory that all request bodies being read may take together, bytes. Default 256 MiB.
    pub max_body_bytes_in_flight: usize,
    /// Failed signatures per SecretId per minute before a cool-down; 0 disables. Default 10.
    pub failed_signatures_per_secret_id: u32,
    /// Failed signatures or unknown SecretIds per source address per minute before a cool-down; 0
    /// disables. Default 100.
    pub failed_signatures_per_address: u32,
    /// Seconds a SecretId or address stays in cool-down. Default 60.
    pub failed_signature_cooldown_seconds: u64,
    /// Refuse TC3 requests whose SignedHeaders lack `x-tc-action` (docs/security.md). Default false:
    /// the vendor's Python SDK and tccli sign only `content-type;host`.
    pub require_signed_action: bool,
    /// How long a console sign-in lasts, hours. Default 8 (a shift).
    pub console_session_hours: i64,
    /// Mark the console's cookie `Secure` although this server speaks plain HTTP: for a server behind
    /// a proxy that terminates TLS. Default false (with `tls_cert` the cookie is always `Secure`).
    pub console_secure_cookie: bool,
}

/// The protocol's largest TC3 POST body, which no configured cap may exceed.
pub const MAX_TC3_BODY: usize = 10 * 1024 * 1024;

/// The default connection limit: the open-file limit less what the store and logs need. `serve` and
/// `demo` raise the limit to its hard maximum first (`raise_open_file_limit`).
fn default_max_connections() -> usize {
    let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(soft.saturating_sub(128).clamp(64, 10_000)).unwrap_or(10_000)
}

/// Raise the soft open-file limit to the hard one, as servers do: each connection is a file.
pub fn raise_open_file_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-file limit");
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            database: "sqlite://./teleoscope-data/teleoscope.db".to_owned(),
            tls: None,
            master_key: None,
            service: "trro".to_owned(),
            time_zone: FixedOffset::east_opt(8 * 3600).expect("valid offset"),
            rate_limit_per_second: 20,
            rate_limits: [
                ("CreateDevice".to_owned(), 50),
                ("ModifyDevice".to_owned(), 50),
            ]
            .into_iter()
            .collect(),
            regions: KNOWN_REGIONS.iter().map(|r| r.to_string()).collect(),
            signature_window_seconds: 300,
            device_rate_limit_per_second: 50,
            idle_timeout_seconds: 60,
            retention_days: None,
            heartbeat_timeout_seconds: 30,
            quality: QualityConfig::default(),
            latency_budget_ms: 150,
            admin_listen: None,
            max_connections: default_max_connections(),
            header_read_timeout_seconds: 10,
            connection_idle_timeout_seconds: 30,
            body_read_timeout_seconds: 30,
            max_request_bytes: 1024 * 1024,
            max_report_bytes: 4 * 1024 * 1024,
            max_body_bytes_in_flight: 256 * 1024 * 1024,
            failed_signatures_per_secret_id: 10,
            failed_signatures_per_address: 100,
            failed_signature_cooldown_seconds: 60,
            require_signed_action: false,
            console_session_hours: 8,
            console_secure_cookie: false,
        }
    }
}

/// The TOML file: the same fields, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    master_key: Option<Secret>,
    master_key_file: Option<PathBuf>,
    service: Option<String>,
    time_zone: Option<String>,
    rate_limit_per_second: Option<u32>,
    rate_limits: Option<BTreeMap<String, u32>>,
    regions: Option<Vec<String>>,
    signature_window_seconds: Option<i64>,
    device_rate_limit_per_second: Option<u32>,
    idle_timeout_seconds: Option<i64>,
    heartbeat_timeout_seconds: Option<i64>,
    retention_days: Option<u32>,
    quality: Option<QualityConfig>,
    latency_budget_ms: Option<u32>,
    admin_listen: Option<String>,
    max_connections: Option<usize>,
    header_read_timeout_seconds: Option<u64>,
    connection_idle_timeout_seconds: Option<u64>,
    body_read_timeout_seconds: Option<u64>,
    max_request_bytes: Option<usize>,
    max_report_bytes: Option<usize>,
    max_body_bytes_in_flight: Option<usize>,
    failed_signatures_per_secret_id: Option<u32>,
    failed_signatures_per_address: Option<u32>,
    failed_signature_cooldown_seconds: Option<u64>,
    require_signed_action: Option<bool>,
    console_session_hours: Option<i64>,
    console_secure_cookie: Option<bool>,
}

/// Options every command shares: where the store is, and how secrets are sealed.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "TELEOSCOPE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data store URL: sqlite://PATH (one node) or postgres://USER@HOST:PORT/DB (many nodes)
    #[arg(long, env = "TELEOSCOPE_DATABASE", global = true)]
    pub database: Option<String>,
    /// Master key sealing secrets at rest.
    #[arg(
        long,
        env = "TELEOSCOPE_MASTER_KEY",
        hide_env_values = true,
        global = true
    )]
    pub master_key: Option<String>,
    /// File holding the master key.
    #[arg(long, env = "TELEOSCOPE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
}

/// Options of the commands that serve.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(long, env = "TELEOSCOPE_LISTEN")]
    pub listen: Option<String>,
    /// TLS certificate (PEM).
    #[arg(long, env = "TELEOSCOPE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "TELEOSCOPE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests per second per (account, action), for every action (replaces the per-action limits).
    #[arg(long, env = "TELEOSCOPE_RATE_LIMIT_PER_SECOND")]
    pub rate_limit_per_second: Option<u32>,
    /// Time zone of ISO times and day buckets, e.g. +08:00.
    #[arg(long, env = "TELEOSCOPE_TIME_ZONE")]
    pub time_zone: Option<String>,
    /// Admin listen address for /metrics, /healthz and /readyz (then /metrics leaves --listen).
    #[arg(long, env = "TELEOSCOPE_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Connections served at once (default: from the open-file limit).
    #[arg(long, env = "TELEOSCOPE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

pub fn parse_offset(s: &str) -> anyhow::Result<FixedOffset> {
    if s.eq_ignore_ascii_case("utc") || s == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero offset"));
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => bail!("time zone `{s}` is not an offset like +08:00"),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().context("hours")?, m.parse().context("minutes")?);
    if h > 14 || m > 59 {
        bail!("time zone `{s}` is out of range");
    }
    // Every zone in use is a whole number of quarter hours; the statistics rollups rely on it
    // (store/sqlite/rollup.rs).
    if m % 15 != 0 {
        bail!("time zone `{s}`: minutes must be 00, 15, 30 or 45 (as in +05:30, +05:45)");
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).context("offset out of range")
}

impl Config {
    /// Build the configuration from the layers.
    pub fn load(store: &StoreArgs, serve: &ServeArgs) -> anyhow::Result<Config> {
        let mut c = Config::default();
        let file: FileConfig = match &store.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let listen = serve.listen.clone().or(file.listen);
        if let Some(l) = listen {
            c.listen = l.parse().with_context(|| format!("listen address `{l}`"))?;
        }
        if let Some(d) = store.database.clone().or(file.database) {
            c.database = d;
        }
        let cert = serve.tls_cert.clone().or(file.tls_cert);
        let key = serve.tls_key.clone().or(file.tls_key);
        c.tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => bail!("TLS needs both a certificate and a key"),
        };
        let key_file = store.master_key_file.clone().or(file.master_key_file);
        c.master_key = match (
            store.master_key.clone().map(Secret).or(file.master_key),
            key_file,
        ) {
            (Some(k), _) => Some(k),
            (None, Some(path)) => Some(Secret(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim()
                    .to_owned(),
            )),
            (None, None) => None,
        };
        if let Some(s) = file.service {
            c.service = s;
        }
        if let Some(tz) = serve.time_zone.clone().or(file.time_zone) {
            c.time_zone = parse_offset(&tz)?;
        }
        if let Some(r) = serve.rate_limit_per_second.or(file.rate_limit_per_second) {
            c.rate_limit_per_second = r;
            // One number from the command line or environment applies to every action.
            if serve.rate_limit_per_second.is_some() {
                c.rate_limits.clear();
            }
        }
        if let Some(m) = file.rate_limits {
            c.rate_limits.extend(m);
        }
        if let Some(r) = file.regions {
            for region in &r {
                if !KNOWN_REGIONS.contains(&region.as_str()) {
                    bail!("region `{region}` is not a known region");
                }
            }
            c.regions = r;
        }
        if let Some(w) = file.signature_window_seconds {
            c.signature_window_seconds = w;
        }
        if let Some(r) = file.device_rate_limit_per_second {
            c.device_rate_limit_per_second = r;
        }
        if let Some(t) = file.idle_timeout_seconds {
            c.idle_timeout_seconds = t;
        }
        if let Some(t) = file.heartbeat_timeout_seconds {
            c.heartbeat_timeout_seconds = t;
        }
        match file.retention_days {
            Some(d) if !(1..=36_500).contains(&d) => {
                bail!("retention_days = {d}: expected a number of days from 1 to 36500 (leave it out to keep samples forever)")
            }
            d => c.retention_days = d,
        }
        if let Some(q) = file.quality {
            c.quality = q;
        }
        match file.latency_budget_ms {
            Some(0) => bail!("latency_budget_ms must be at least 1"),
            Some(b) => c.latency_budget_ms = b,
            None => {}
        }
        if let Some(a) = serve.admin_listen.clone().or(file.admin_listen) {
            c.admin_listen = Some(
                a.parse()
                    .with_context(|| format!("admin listen address `{a}`"))?,
            );
        }
        if let Some(m) = serve.max_connections.or(file.max_connections) {
            c.max_connections = m;
        }
        let seconds = |v: Option<u64>, name: &str, into: &mut u64| -> anyhow::Result<()> {
            match v {
                Some(0) => bail!("{name} must be at least 1 second"),
                Some(v) => *into = v,
                None => {}
            }
            Ok(())
        };
        seconds(
            file.header_read_timeout_seconds,
            "header_read_timeout_seconds",
            &mut c.header_read_timeout_seconds,
        )?;
        seconds(
            file.connection_idle_timeout_seconds,
            "connection_idle_timeout_seconds",
            &mut c.connection_idle_timeout_seconds,
        )?;
        seconds(
            file.body_read_timeout_seconds,
            "body_read_timeout_seconds",
            &mut c.body_read_timeout_seconds,
        )?;
        seconds(
            file.failed_signature_cooldown_seconds,
            "failed_signature_cooldown_seconds",
            &mut c.failed_signature_cooldown_seconds,
        )?;
        for (v, name, into) in [
            (
                file.max_request_bytes,
                "max_request_bytes",
                &mut c.max_request_bytes,
            ),
            (
                file.max_report_bytes,
                "max_report_bytes",
                &mut c.max_report_bytes,
            ),
        ] {
            if let Some(v) = v {
                if v == 0 || v > MAX_TC3_BODY {
                    bail!("{name} must be from 1 to {MAX_TC3_BODY} (the protocol's limit)");
                }
                *into = v;
            }
        }
        if let Some(m) = file.max_body_bytes_in_flight {
            if m < c.max_report_bytes.max(c.max_request_bytes) {
                bail!("max_body_bytes_in_flight must hold at least one largest body");
            }
            c.max_body_bytes_in_flight = m;
        }
        if let Some(n) = file.failed_signatures_per_secret_id {
            c.failed_signatures_per_secret_id = n;
        }
        if let Some(n) = file.failed_signatures_per_address {
            c.failed_signatures_per_address = n;
        }
        if let Some(r) = file.require_signed_action {
            c.require_signed_action = r;
        }
        if let Some(h) = file.console_session_hours {
            if !(1..=24 * 30).contains(&h) {
                bail!("console_session_hours must be from 1 to 720");
            }
            c.console_session_hours = h;
        }
        if let Some(s) = file.console_secure_cookie {
            c.console_secure_cookie = s;
        }
        Ok(c)
    }

    pub fn rate_limit(&self, action: &str) -> u32 {
        self.rate_limits
            .get(action)
            .copied()
            .unwrap_or(self.rate_limit_per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+08:00").unwrap().local_minus_utc(), 8 * 3600);
        assert_eq!(
            parse_offset("-05:30").unwrap().local_minus_utc(),
            -(5 * 3600 + 30 * 60)
        );
        assert_eq!(parse_offset("UTC").unwrap().local_minus_utc(), 0);
        assert!(parse_offset("Asia/Shanghai").is_err());
        assert!(parse_offset("+05:45").is_ok());
        assert!(parse_offset("+05:10").is_err());
    }

    #[test]
    fn latency_budget_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let store = StoreArgs {
                config: Some(path.clone()),
                ..Default::default()
            };
            Config::load(&store, &ServeArgs::default())
        };
        assert_eq!(load("").unwrap().latency_budget_ms, 150);
        assert_eq!(
            load("latency_budget_ms = 100\n").unwrap().latency_budget_ms,
            100
        );
        assert!(load("latency_budget_ms = 0\n").is_err());
        assert!(load("latency_budget_ms = -5\n").is_err());
    }

    #[test]
    fn layers_and_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nmaster_key = \"s3cret\"\n[rate_limits]\nDescribeDeviceList = 5\n",
        )
        .unwrap();
        let store = StoreArgs {
            config: Some(path),
            ..Default::default()
        };
        let c = Config::load(&store, &ServeArgs::default()).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.rate_limit("DescribeDeviceList"), 5);
        assert_eq!(c.rate_limit("CreateDevice"), 50);
        assert_eq!(c.rate_limit("DescribeProjectList"), 20);
        assert!(!format!("{c:?}").contains("s3cret"));
        let serve = ServeArgs {
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        assert_eq!(Config::load(&store, &serve).unwrap().listen.port(), 9100);
    }
}
