//! `teleoscope demo`: the server on a fresh embedded store with a demo account, a project and a few
//! devices, so a new user can point the vendor's SDK or `tccli` at it at once.

use crate::config::Config;
use crate::domain::devices::NewDevice;
use crate::domain::{ids, AccountId, Domain};

pub struct DemoSetup {
    pub account_id: String,
    pub secret_id: String,
    pub secret_key: String,
    pub project_id: String,
    pub devices: Vec<(String, &'static str, String)>,
}

/// Create the demo account, project and devices.
pub async fn seed(domain: &Domain) -> anyhow::Result<DemoSetup> {
    let err = |e: crate::errors::DomainError| anyhow::anyhow!("{e}");
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

pub fn print(setup: &DemoSetup, config: &Config, addr: std::net::SocketAddr) {
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let endpoint = format!("{scheme}://{addr}");
    println!("Teleoscope demo is running at {endpoint}");
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
    println!("Metrics: {endpoint}/metrics   Health: {endpoint}/healthz");
    println!("Press Ctrl-C to stop.");
}
