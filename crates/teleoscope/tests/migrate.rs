//! `teleoscope migrate --from sqlite://PATH --to postgres://...` moves an installation: the golden
//! session (the vendor's example, imported) and a simulated fleet read the same through a node on
//! PostgreSQL as through the SQLite node they were stored by; each table's counts are verified; a
//! second run finds everything copied and changes nothing; the source file is never modified.

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Output;

fn run(cmd: &mut std::process::Command) -> Output {
    let out = cmd.output().expect("teleoscope runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every session of the project as the API answers: the list, and each session's details.
async fn everything(node: &Node, cluster: &Cluster) -> Vec<String> {
    let mut c = node.connection();
    let list = ok(
        &mut c,
        &cluster.key,
        "DescribeDeviceSessionList",
        json!({"ProjectId": cluster.project_id, "StartTime": 1_600_000_000, "EndTime": now() + 3600,
               "PageNumber": 1, "PageSize": 100}),
    )
    .await;
    let mut out = vec![without_request_id(list.clone())];
    for s in list["DeviceSessionList"].as_array().unwrap() {
        let d = ok(
            &mut c,
            &cluster.key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": s["SessionId"]}),
        )
        .await;
        out.push(without_request_id(d));
    }
    out
}

fn without_request_id(mut v: Value) -> String {
    v.as_object_mut().unwrap().remove("RequestId");
    v.to_string()
}

/// The bytes of the SQLite store: the file and its WAL.
fn store_bytes(dir: &std::path::Path) -> Vec<u8> {
    ["t.db", "t.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(dir.join(f)).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_golden_session_and_a_simulated_fleet_move_to_postgres() {
    let mut source = Cluster::new(true, "device_rate_limit_per_second = 100000\n").await;
    let node = Node::start(&source, "sqlite").await;
    source.provision(&node, 0).await;
    // The golden session, imported; then a fleet of three pairs reporting for a few seconds.
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/describe-device-session-details.json"
    );
    run(teleoscope().args([
        "--database",
        &source.url,
        "import",
        "--project",
        &source.project_id,
        golden,
    ]));
    run(teleoscope().args([
        "simulate",
        "--endpoint",
        &node.endpoint,
        "--secret-id",
        &source.key.secret_id,
        "--secret-key",
        &source.key.secret_key,
        "--project",
        &source.project_id,
        "--pairs",
        "3",
        "--duration",
        "6",
        "--batch",
        "3",
        "--seed",
        "7",
        "--quiet",
    ]));
    let want = everything(&node, &source).await;
    assert!(
        want.len() >= 5,
        "the golden session and the fleet's: {want:?}"
    );
    drop(node);
    let before = store_bytes(source.dir.path());

    let target = pg::FreshSchema::new().await;
    let migrate = |url: &str| {
        let out = run(teleoscope().args(["migrate", "--from", &source.url, "--to", url]));
        String::from_utf8(out.stdout).unwrap()
    };
    let first = migrate(&target.url);
    // A line per table: its name, its rows in the source, then in the target (the heading and the
    // closing line do not parse as counts).
    let tables: Vec<(String, u64, u64)> = first
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            Some((
                w.first()?.to_string(),
                w.get(1)?.parse().ok()?,
                w.get(2)?.parse().ok()?,
            ))
        })
        .collect();
    assert_eq!(tables.len(), 14, "every table of the store: {first}");
    for (table, src, dst) in &tables {
        assert_eq!(src, dst, "{table}");
    }
    let rows = |name: &str| tables.iter().find(|t| t.0 == name).unwrap().1;
    assert!(
        rows("sessions") >= 4 && rows("chunks") > rows("sessions"),
        "{first}"
    );
    // Run again (as after an interruption): everything is found copied, nothing doubles.
    let again = migrate(&target.url);
    assert_eq!(
        again.matches("(copied before)").count(),
        tables.len(),
        "{again}"
    );
    assert_eq!(
        store_bytes(source.dir.path()),
        before,
        "the source was modified"
    );

    let moved = Node::serve(&source, &target.url, "postgres").await;
    assert_eq!(everything(&moved, &source).await, want);
    // The keys came along: the same key signs on the new store (everything above), and new
    // sessions get keys after the copied ones.
    let (field, remote) = source.provision_pair(&moved, "after").await;
    let mut c = moved.connection();
    ok(
        &mut c,
        &field.creds,
        "ReportSessionMetrics",
        report("after-1", &remote.id, now() - 60, &[0, 2], true),
    )
    .await;
    let d = ok(
        &mut c,
        &source.key,
        "DescribeDeviceSessionDetails",
        json!({"SessionId": "after-1"}),
    )
    .await;
    assert_eq!(d["Details"][0]["TimeOffset"], json!([0, 2]));
}
