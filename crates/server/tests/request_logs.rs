//! Every log line of a request carries its RequestId (a tracing span per request), so the RequestId
//! a client got finds the server's story — internal errors included, whose cause the client never
//! sees, whether at authentication or in an action's handler, on the API and on the device API; and
//! never a secret key, console sign-in included. One test in its own binary: it installs the
//! process's global log subscriber.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The JSON log lines written so far.
    fn lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// The RequestId of the span a JSON log line was written in (`tracing_subscriber`'s JSON format puts
/// the current span's fields under `span`).
fn request_id_of(line: &Value) -> Option<&str> {
    line["span"]["request_id"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_a_request_carries_the_request_id_the_client_got() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .with_env_filter("info")
        .init();

    let s = Server::start_with(Options {
        sqlite_only: true, // breaks a stored secret inside the SQLite file
        ..Default::default()
    })
    .await;
    let good = s.new_key().await;
    let broken = s.new_key().await;
    // The store holds this key's secret sealed, but the server has no master key: the lookup fails
    // inside the server, and the client gets InternalError only.
    let db = r2d2_sqlite::rusqlite::Connection::open(s.db_path()).unwrap();
    db.execute(
        "UPDATE api_keys SET secret_key = 'enc1:AAAA' WHERE secret_id = ?1",
        [&broken.secret_id],
    )
    .unwrap();

    let ok = s.tc3(&good, "DescribeProjectList", json!({})).send().await;
    ok.ok();
    let failed = s
        .tc3(&broken, "DescribeProjectList", json!({}))
        .send()
        .await;
    failed.err("InternalError");

    // The device API: a report, then a device whose stored token cannot be opened (its login fails
    // inside the server), then a handler's internal error: the report's samples no longer decode.
    let (_, field, remote) = s.project_with_pair(&good).await;
    let report = json!({"SessionId": "s-1", "PeerDeviceId": "desk_1", "StartTime": s.now(),
                        "Samples": [{"TimeOffset": 0, "Rate": 800}]});
    let reported = s.tc3(&field, "ReportSessionMetrics", report).send().await;
    reported.ok();
    db.execute(
        "UPDATE devices SET token = 'enc1:AAAA' WHERE device_id = 'desk_1'",
        [],
    )
    .unwrap();
    let device_failed = s
        .tc3(&remote, "ReportDeviceStatus", json!({"Status": "ready"}))
        .send()
        .await;
    device_failed.err("InternalError");
    db.execute("UPDATE chunks SET data = x'00'", []).unwrap();
    let handler_failed = s
        .tc3(
            &good,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "s-1"}),
        )
        .send()
        .await;
    handler_failed.err("InternalError");

    // A console sign-in: logged as a request like any other, its secret nowhere.
    let signin = s
        .client
        .post(format!("http://{}/console/api/signin", s.host))
        .header("Content-Type", "application/json")
        .body(json!({"SecretId": good.secret_id, "SecretKey": good.secret_key}).to_string())
        .send()
        .await
        .unwrap();
    let signin: Value = signin.json().await.unwrap();
    let signin_id = signin["Response"]["RequestId"].as_str().unwrap().to_owned();
    assert!(signin["Response"]["CsrfToken"].is_string(), "{signin}");

    let lines = logs.lines();
    let raw = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!raw.contains(&good.secret_key), "a secret key was logged");
    assert!(
        lines
            .iter()
            .any(|l| request_id_of(l) == Some(signin_id.as_str())
                && l["fields"]["action"] == "ConsoleSignIn"),
        "the sign-in's request line"
    );
    let of = |id: &str| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| request_id_of(l) == Some(id))
            .cloned()
            .collect()
    };
    // The failed request: its cause and its request line, both under the RequestId the client got.
    let story = of(failed.request_id());
    let messages: Vec<&str> = story
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"internal error") && messages.contains(&"request"),
        "the failed request's lines: {story:?}\nall lines: {lines:?}"
    );
    let cause = story
        .iter()
        .find(|l| l["fields"]["message"] == "internal error")
        .unwrap();
    assert!(
        cause["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("master key")),
        "{cause}"
    );
    // The good requests have their own line each, under their own ids.
    for (reply, action) in [
        (&ok, "DescribeProjectList"),
        (&reported, "ReportSessionMetrics"),
    ] {
        let story = of(reply.request_id());
        assert_eq!(story.len(), 1, "{story:?}");
        assert_eq!(story[0]["fields"]["code"], "Success");
        assert_eq!(story[0]["fields"]["action"], action);
    }
    // The device's and the handler's internal errors: each cause under the RequestId its client got.
    for (reply, action, cause) in [
        (&device_failed, "ReportDeviceStatus", "master key"),
        (&handler_failed, "DescribeDeviceSessionDetails", "corrupt"),
    ] {
        let story = of(reply.request_id());
        let line = |message: &str| story.iter().find(|l| l["fields"]["message"] == message);
        let request = line("request").unwrap_or_else(|| panic!("{action}: {story:?}"));
        assert_eq!(request["fields"]["action"], action);
        assert_eq!(request["fields"]["code"], "InternalError");
        let error = line("internal error").unwrap_or_else(|| panic!("{action}: {story:?}"));
        assert!(
            error["fields"]["error"]
                .as_str()
                .is_some_and(|e| e.contains(cause)),
            "{action}: {error}"
        );
    }
    // And no line of a request is written outside a request's span.
    for line in &lines {
        if line["fields"]["message"] == "request" || line["fields"]["message"] == "internal error" {
            assert!(
                request_id_of(line).is_some(),
                "a request line without its RequestId: {line}"
            );
        }
    }
}
