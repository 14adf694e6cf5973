//! `teleoscope demo`: the server on a fresh embedded store with a demo account, a project and a few
//! devices, so a new user can point the vendor's SDK or `tccli` at it at once; and a simulated fleet
//! (`teleoscope_fleet::simulate`, in process, over HTTP) in which the demo's own devices report live sessions:
//! truck_01 with console_a, truck_02 with console_b.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use teleoscope_fleet::simulate::{self, SessionLengths, SimConfig, SimPair, SimSummary};
use teleoscope_server::config::Config;
use teleoscope_server::domain::devices::NewDevice;
use teleoscope_server::domain::{ids, Domain};
use teleoscope_server::model::AccountId;
use tokio::sync::watch;

pub struct DemoSetup {
    pub account_id: String,
    pub secret_id: String,
    pub secret_key: String,
    pub project_id: String,
    pub devices: Vec<(String, &'static str, String)>,
}

/// Create the demo account, project and devices.
pub async fn seed(domain: &Domain) -> anyhow::Result<DemoSetup> {
    let err = |e: teleoscope_server::errors::DomainError| anyhow::anyhow!("{e}");
    let key = domain.create_key(None, None, None).await.map_err(err)?;
    let account = AccountId(key.account_id.clone());
    let project = domain
        .create_project(
            &account,
            "demo-fleet",
            Some("Teleoscope demo: two mining trucks, two operator consoles"),
            None,
        )
        .await
        .map_err(err)?;
    let mut devices = Vec::new();
    for (id, ty, name) in [
        ("truck_01", "field", "truck_01"),
        ("truck_02", "field", "truck_02"),
        ("console_a", "remote", "console_a"),
        ("console_b", "remote", "console_b"),
    ] {
        let token = ids::device_token();
        domain
            .create_device(
                &account,
                &project.project_id,
                NewDevice {
                    device_id: id,
                    name,
                    device_type: ty,
                    token: &token,
                },
            )
            .await
            .map_err(err)?;
        devices.push((id.to_owned(), ty, token));
    }
    Ok(DemoSetup {
        account_id: key.account_id,
        secret_id: key.secret_id,
        secret_key: key.secret_key,
        project_id: project.project_id,
        devices,
    })
}

/// The demo's (field, remote) pairs.
pub const FLEET: [(&str, &str); 2] = [("truck_01", "console_a"), ("truck_02", "console_b")];

/// The simulated fleet, running until [`Fleet::stop`].
pub struct Fleet {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<SimSummary>>,
}

/// What the simulator of the demo does: the demo's devices in pairs, a sample every 2 s, sessions of
/// 30 s to 5 min with short gaps, until stopped.
pub fn fleet_config(setup: &DemoSetup, addr: SocketAddr) -> SimConfig {
    // A wildcard listen address is reached on the loopback interface.
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let endpoint = format!("http://{}", SocketAddr::new(ip, addr.port()));
    let token = |id: &str| {
        setup
            .devices
            .iter()
            .find(|(d, _, _)| d == id)
            .map(|(_, _, t)| t.clone())
            .unwrap_or_default()
    };
    let mut cfg = SimConfig::new(
        &endpoint,
        &setup.secret_id,
        &setup.secret_key,
        &setup.project_id,
    );
    cfg.devices = Some(
        FLEET
            .iter()
            .map(|(field, remote)| SimPair {
                field_id: (*field).to_owned(),
                field_token: token(field),
                remote_id: (*remote).to_owned(),
                remote_token: token(remote),
            })
            .collect(),
    );
    cfg.pairs = FLEET.len();
    cfg.duration = None;
    cfg.seed = rand::random();
    cfg.interval_s = 2;
    cfg.lengths = Some(SessionLengths {
        min_s: 30,
        max_s: 300,
        gap_min_s: 3,
        gap_max_s: 15,
    });
    cfg.verbose = true;
    cfg
}

/// Starts the simulated fleet against the server at `addr` (call it after [`print`], whose banner
/// announces it); `None` when the server listens with TLS only (the simulator's client speaks plain
/// http).
pub fn start_fleet(setup: &DemoSetup, config: &Config, addr: SocketAddr) -> Option<Fleet> {
    if config.tls.is_some() {
        return None;
    }
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(simulate::run(fleet_config(setup, addr), stop_rx));
    Some(Fleet { stop, task })
}

impl Fleet {
    /// Ends the open sessions with their Final reports (the server must still be up) and prints the
    /// simulator's summary.
    pub async fn stop(self) {
        println!("Stopping the simulated fleet: ending its open sessions.");
        let _ = self.stop.send(true);
        match tokio::time::timeout(Duration::from_secs(15), self.task).await {
            Ok(Ok(Ok(summary))) => println!("{summary}"),
            Ok(Ok(Err(e))) => eprintln!("simulated fleet: {e:#}"),
            Ok(Err(e)) => eprintln!("simulated fleet: {e}"),
            Err(_) => eprintln!("simulated fleet: did not stop within 15 s"),
        }
    }
}

pub fn print(setup: &DemoSetup, config: &Config, addr: SocketAddr) {
    let fleet = config.tls.is_none();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let endpoint = format!("{scheme}://{addr}");
    println!("Teleoscope demo is running at {endpoint}");
    println!();
    println!("Console: {endpoint}/console/   (sign in with the SecretId and SecretKey below)");
    println!();
    println!("  AccountId  {}", setup.account_id);
    println!("  SecretId   {}", setup.secret_id);
    println!("  SecretKey  {}", setup.secret_key);
    println!("  ProjectId  {}", setup.project_id);
    for (id, ty, token) in &setup.devices {
        println!("  device     {id:<10} {ty:<6} token {token}");
    }
    println!();
    println!("Try it with the vendor's CLI (pip install tccli):");
    println!(
        "  tccli trro DescribeDeviceList --endpoint {endpoint} --region ap-guangzhou --secretId {} --secretKey {} --ProjectId {}",
        setup.secret_id, setup.secret_key, setup.project_id
    );
    println!();
    if fleet {
        let pairs: Vec<String> = FLEET.iter().map(|(f, r)| format!("{f} <-> {r}")).collect();
        println!(
            "Simulated fleet: {} run live sessions, a report every 2 s from each device",
            pairs.join(" and ")
        );
        println!("(sessions of 30 s to 5 min; about 1 in 10 bad, 1 in 8 losing a link). Watch them live:");
        println!(
            "  tccli trro DescribeRecentSessionList --endpoint {endpoint} --region ap-guangzhou --secretId {} --secretKey {} --ProjectId {} --PageNumber 1 --PageSize 10",
            setup.secret_id, setup.secret_key, setup.project_id
        );
        println!("Session starts and ends are printed below.");
    } else {
        println!(
            "No simulated fleet: the simulator speaks plain http and this demo listens with TLS."
        );
    }
    println!();
    println!("Metrics: {endpoint}/metrics   Health: {endpoint}/healthz");
    println!("Press Ctrl-C to stop.");
}
