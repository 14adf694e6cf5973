//! Three `teleoscope serve` processes on one PostgreSQL database, as behind a load balancer
//! (docs/deploy.md): what one node stores, every node reads; a session's field device may report to
//! one node and its remote device to another; rate limits hold across nodes; a node killed
//! mid-ingest or PostgreSQL stopped mid-ingest loses no acknowledged sample; each idle part is ended
//! by exactly one node.
//!
//! The tests run one at a time (one of them stops the database) on a fresh schema each
//! (`../../server/tests/pg/mod.rs`).

mod common;

use common::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One test at a time: one stops the database every other test uses.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CONFIG: &str = "device_rate_limit_per_second = 100000\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_reported_through_two_nodes_reads_on_a_third_as_on_one_node() {
    let _one = ONE_AT_A_TIME.lock().await;
    let t0 = now() - 600;
    // The same reports, through three PostgreSQL nodes and through one SQLite node.
    let mut answers = Vec::new();
    for sqlite in [false, true] {
        let mut cluster = Cluster::new(sqlite, CONFIG).await;
        let nodes = if sqlite {
            vec![Node::start(&cluster, "single").await]
        } else {
            let mut v = Vec::new();
            for name in ["a", "b", "c"] {
                v.push(Node::start(&cluster, name).await);
            }
            v
        };
        let (field, remote) = cluster.provision(&nodes[0], 1).await.remove(0);
        let (mut to_field, mut to_remote) = (
            nodes[0].connection(),
            nodes[nodes.len().min(2) - 1].connection(),
        );
        for k in 0..10i64 {
            let offsets: Vec<i64> = (0..3).map(|j| (k * 3 + j) * 2).collect();
            ok(
                &mut to_field,
                &field.creds,
                "ReportSessionMetrics",
                report("s-1", &remote.id, t0, &offsets, k == 9),
            )
            .await;
            ok(
                &mut to_remote,
                &remote.creds,
                "ReportSessionMetrics",
                report("s-1", &field.id, t0 + 1, &offsets, k == 9),
            )
            .await;
        }
        let mut third = nodes[nodes.len() - 1].connection();
        let mut details = ok(
            &mut third,
            &cluster.key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "s-1"}),
        )
        .await;
        let mut list = ok(
            &mut third,
            &cluster.key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": cluster.project_id, "StartTime": t0 - 60, "EndTime": t0 + 600, "PageNumber": 1, "PageSize": 100}),
        )
        .await;
        for v in [&mut details, &mut list] {
            v.as_object_mut().unwrap().remove("RequestId");
        }
        let list = list.to_string().replace(&cluster.project_id, "<project>");
        let details = details
            .to_string()
            .replace(&cluster.project_id, "<project>");
        answers.push((details, list));
    }
    assert!(answers[0].0.contains("\"Rate\""), "{}", answers[0].0);
    assert_eq!(
        answers[0].0, answers[1].0,
        "Details differ between three PostgreSQL nodes and one SQLite node"
    );
    assert_eq!(answers[0].1, answers[1].1, "the session list differs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rate_limit_holds_across_nodes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let cluster = Cluster::new(false, CONFIG).await;
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        nodes.push(Node::start(&cluster, name).await);
    }
    // 30 DescribeProjectList calls of one account in one second, 10 to each node: the default
    // limit is 20 per second per account and action, whichever nodes take them.
    for _ in 0..5 {
        let second = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        tokio::time::sleep(
            Duration::from_secs(1) - Duration::from_nanos(second.subsec_nanos() as u64)
                + Duration::from_millis(20),
        )
        .await;
        let window = now();
        let mut calls = Vec::new();
        for node in &nodes {
            for _ in 0..10 {
                let (mut c, key) = (node.connection(), cluster.key.clone());
                calls.push(tokio::spawn(async move {
                    call(&mut c, &key, "DescribeProjectList", &json!({}))
                        .await
                        .unwrap()
                }));
            }
        }
        let mut answers = Vec::new();
        for c in calls {
            answers.push(c.await.unwrap());
        }
        if now() != window {
            continue; // the burst straddled two windows
        }
        let limited = answers
            .iter()
            .filter(|a| a["Error"]["Code"] == "RequestLimitExceeded")
            .count();
        let passed = answers.iter().filter(|a| a.get("Error").is_none()).count();
        assert_eq!((passed, limited), (20, 10), "{answers:?}");
        return;
    }
    panic!("no burst fitted in one second in 5 attempts");
}

/// A device streaming batches to a node until told to stop, switching to `fallback` when its node
/// stops answering (a load balancer's failover); what was acknowledged is kept.
struct Stream {
    acked: BTreeSet<i64>,
    errors: Vec<String>,
}

async fn stream(
    device: Device,
    peer: String,
    mut nodes: Vec<String>,
    start: i64,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Stream {
    let mut out = Stream {
        acked: BTreeSet::new(),
        errors: Vec::new(),
    };
    let endpoint = |e: &str| {
        connect(e).with_timeouts(teleoscope_fleet::client::Timeouts {
            connect: Duration::from_secs(2),
            call: Duration::from_secs(15),
        })
    };
    let mut c = endpoint(&nodes[0]);
    let mut k = 0i64;
    while !*stop.borrow() {
        let offsets: Vec<i64> = (0..5).map(|j| k * 5 + j).collect();
        match call(
            &mut c,
            &device.creds,
            "ReportSessionMetrics",
            &report("live", &peer, start, &offsets, false),
        )
        .await
        {
            Ok(r) if r.get("Error").is_none() => {
                out.acked.extend(&offsets);
                k += 1;
            }
            Ok(r) => {
                // Retryable while the database is away; anything else is a failure.
                let code = r["Error"]["Code"].as_str().unwrap_or("").to_owned();
                if code != "ServiceUnavailable" && code != "InternalError" {
                    out.errors.push(r.to_string());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) if nodes.len() > 1 => {
                nodes.remove(0);
                c = endpoint(&nodes[0]);
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out
}

/// Every acknowledged offset of every device is stored, read through `node`.
async fn assert_all_acked_stored(
    cluster: &Cluster,
    node: &Node,
    acked: &BTreeMap<String, BTreeSet<i64>>,
) {
    let mut c = node.connection();
    let d = ok(
        &mut c,
        &cluster.key,
        "DescribeDeviceSessionDetails",
        json!({"SessionId": "live"}),
    )
    .await;
    for part in d["Details"].as_array().unwrap() {
        let id = part["DeviceId"].as_str().unwrap();
        let stored: BTreeSet<i64> = part["TimeOffset"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_i64().unwrap())
            .collect();
        let lost: Vec<_> = acked[id].difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "{id}: {} acknowledged samples lost: {lost:?}",
            lost.len()
        );
    }
}

/// Streams one pair (field to `a`, remote to `b`, each falling back to `c`) while `disrupt` runs.
async fn ingest_through(
    nodes: &[Node],
    pair: (Device, Device),
    disrupt: impl std::future::Future<Output = ()>,
) -> BTreeMap<String, BTreeSet<i64>> {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let start = now() - 60;
    let (field, remote) = pair;
    let f = tokio::spawn(stream(
        field.clone(),
        remote.id.clone(),
        vec![nodes[0].endpoint.clone(), nodes[2].endpoint.clone()],
        start,
        stop.clone(),
    ));
    let r = tokio::spawn(stream(
        remote.clone(),
        field.id.clone(),
        vec![nodes[1].endpoint.clone(), nodes[2].endpoint.clone()],
        start,
        stop,
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    disrupt.await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_tx.send(true).unwrap();
    let (f, r) = (f.await.unwrap(), r.await.unwrap());
    assert!(
        f.errors.is_empty() && r.errors.is_empty(),
        "{:?} {:?}",
        f.errors,
        r.errors
    );
    assert!(
        f.acked.len() > 50 && r.acked.len() > 50,
        "too little was acknowledged to test anything"
    );
    BTreeMap::from([(field.id, f.acked), (remote.id, r.acked)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_ingest_loses_no_acknowledged_sample() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new(false, CONFIG).await;
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        nodes.push(Node::start(&cluster, name).await);
    }
    let pair = cluster.provision(&nodes[0], 1).await.remove(0);
    let pid = nodes[1].child.id();
    let acked = ingest_through(&nodes, pair, async move {
        // SIGKILL: no shutdown, no flush; the remote device fails over to c.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    })
    .await;
    assert_all_acked_stored(&cluster, &nodes[0], &acked).await;
}

/// Starts the local PostgreSQL cluster again if a test stopped it and then failed.
struct RestartGuard;

impl Drop for RestartGuard {
    fn drop(&mut self) {
        let _ = postgres_ctl("start");
    }
}

/// `pg_ctlcluster <version> main <action>` on the machine's cluster (the one `.ci/run` starts).
fn postgres_ctl(action: &str) -> std::process::ExitStatus {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("the tests stop and start the local PostgreSQL cluster (/etc/postgresql)")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .expect("a PostgreSQL cluster");
    Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", action])
        .status()
        .expect("pg_ctlcluster runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_mid_ingest_loses_no_acknowledged_sample_and_nodes_reconnect() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new(false, CONFIG).await;
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        nodes.push(Node::start(&cluster, name).await);
    }
    let pair = cluster.provision(&nodes[0], 1).await.remove(0);
    let (field, remote) = cluster.provision_pair(&nodes[0], "probe").await;
    let probe = nodes[2].endpoint.clone();
    let acked = ingest_through(&nodes, pair, async move {
        let _guard = RestartGuard;
        assert!(postgres_ctl("stop").success());
        // While the database is down: not ready, and a report is answered at once with the
        // retryable error, not left hanging.
        assert_eq!(readyz(&probe).await, Some(503));
        let asked = Instant::now();
        let body = report("probe", &remote.id, now() - 60, &[0], false);
        let r = call(
            &mut connect(&probe),
            &field.creds,
            "ReportSessionMetrics",
            &body,
        )
        .await
        .unwrap();
        assert_eq!(r["Error"]["Code"], "ServiceUnavailable", "{r}");
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "{:?}",
            asked.elapsed()
        );
        assert!(postgres_ctl("start").success());
    })
    .await;
    for node in &nodes {
        node.wait_ready("a node after PostgreSQL's restart").await;
    }
    assert_all_acked_stored(&cluster, &nodes[0], &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_idle_part_is_ended_by_exactly_one_node() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new(false, &format!("{CONFIG}idle_timeout_seconds = 2\n")).await;
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        nodes.push(Node::start(&cluster, name).await);
    }
    let pairs = cluster.provision(&nodes[0], 8).await;
    let t0 = now() - 30;
    for (i, (field, remote)) in pairs.iter().enumerate() {
        let mut c = nodes[i % 3].connection();
        let mut d = nodes[(i + 1) % 3].connection();
        ok(
            &mut c,
            &field.creds,
            "ReportSessionMetrics",
            report(&format!("s-{i}"), &remote.id, t0, &[0, 2], false),
        )
        .await;
        ok(
            &mut d,
            &remote.creds,
            "ReportSessionMetrics",
            report(&format!("s-{i}"), &field.id, t0, &[0, 2], false),
        )
        .await;
    }
    // Every node runs the upkeep each second; after the idle timeout every part has ended.
    let ended = |nodes: &[Node]| -> u64 {
        nodes
            .iter()
            .flat_map(Node::log_lines)
            .filter(|l| l["fields"]["message"] == "idle parts ended")
            .map(|l| l["fields"]["parts"].as_u64().unwrap())
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while ended(&nodes) < 16 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few rounds more: a part ended twice would show now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        ended(&nodes),
        16,
        "parts ended, summed over the nodes' logs"
    );
    let mut c = nodes[2].connection();
    let list = ok(
        &mut c,
        &cluster.key,
        "DescribeDeviceSessionList",
        json!({"ProjectId": cluster.project_id, "StartTime": t0 - 60, "EndTime": t0 + 600, "PageNumber": 1, "PageSize": 100}),
    )
    .await;
    assert_eq!(list["Total"], 8, "{list}");
}
