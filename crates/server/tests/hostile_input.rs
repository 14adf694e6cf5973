//! Hostile request parameters against the real server: a body of very many names stops at the
//! first unknown one (the rest, even malformed, is never parsed), and lists and flattened forms
//! past their documented counts get a precise error naming the count and the maximum, with
//! nothing stored. No timing here: each case would take seconds to minutes with a decoder whose
//! cost grows with the square of the names, but the tests check answers.

mod common;

use common::*;
use serde_json::{json, Value};

const EN: &str = "en-US";

/// `{"<first>": 1,` then 100,000 more unknown names (over 1 MB) and then no valid JSON.
fn hostile_body(first: &str) -> Vec<u8> {
    let rest: String = (0..100_000).map(|i| format!("\"k{i}\":0,")).collect();
    let body = format!("{{\"{first}\": 1, {rest} ]]] not json");
    assert!(body.len() > 1_000_000);
    body.into_bytes()
}

/// A project with one field device; the project id and the device's credentials.
async fn project_with_device(s: &Server, key: &Key) -> (String, Key) {
    let pid = s.project(key, "fleet").await;
    let device = s
        .device(key, &pid, "truck_1", "field", "aaaaaaaaaaaaaaa1")
        .await;
    (pid, device)
}

async fn device_exists(s: &Server, key: &Key, pid: &str) -> bool {
    let reply = s
        .call(
            key,
            "DescribeDeviceInfo",
            json!({"ProjectId": pid, "DeviceId": "truck_1"}),
        )
        .await;
    reply.code().is_none()
}

/// A server that takes bodies up to the protocol's 10 MB (its own lower caps are tested in
/// `hostile_clients.rs`): these bodies must reach the decoder.
async fn server_taking_10_mb() -> Server {
    Server::start_with(Options {
        configure: Some(Box::new(|c| {
            c.max_request_bytes = teleoscope_server::config::MAX_TC3_BODY;
            c.max_report_bytes = teleoscope_server::config::MAX_TC3_BODY;
        })),
        ..Default::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_stops_at_its_first_unknown_name() {
    let s = server_taking_10_mb().await;
    let key = s.new_key().await;
    let reply = s
        .tc3(&key, "DescribeProjectList", Value::Null)
        .body_bytes(hostile_body("Zed"))
        .language(EN)
        .send()
        .await;
    assert_eq!(
        reply.err_naming("UnknownParameter", "Zed"),
        "The parameter `Zed` is not recognized."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_report_stops_at_its_first_unknown_name() {
    let s = server_taking_10_mb().await;
    let key = s.new_key().await;
    let (pid, device) = project_with_device(&s, &key).await;
    // The strict decode refuses it, and the lenient one stops at the same name.
    let reply = s
        .tc3(&device, "ReportSessionMetrics", Value::Null)
        .body_bytes(hostile_body("Foo"))
        .language(EN)
        .send()
        .await;
    assert_eq!(
        reply.err_naming("UnknownParameter", "Foo"),
        "The parameter `Foo` is not recognized."
    );
    let sessions = s
        .ok(
            &key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": pid, "PageNumber": 1, "PageSize": 10}),
        )
        .await;
    assert_eq!(sessions["Total"], 0, "nothing stored: {sessions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_of_40001_device_ids_answers_the_pair_count() {
    let s = Server::start().await;
    let key = s.new_key().await;
    let (pid, _) = project_with_device(&s, &key).await;
    let names: Vec<String> = (0..40_001).map(|i| format!("DeviceIds.{i}")).collect();
    let mut params: Vec<(&str, &str)> = vec![("ProjectId", pid.as_str())];
    params.extend(names.iter().map(|n| (n.as_str(), "truck_1")));
    let reply = s
        .v1_post(&key, "BatchDeleteDevices", &params)
        .with("Language", EN)
        .send()
        .await;
    assert_eq!(
        reply.err("InvalidParameter"),
        "The request has 40002 parameters; at most 2000 are allowed."
    );
    assert!(device_exists(&s, &key, &pid).await, "nothing deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_over_its_limit_is_named_with_its_length() {
    let s = Server::start().await;
    let key = s.new_key().await;
    let (pid, _) = project_with_device(&s, &key).await;
    let ids: Vec<String> = std::iter::once("truck_1".to_owned())
        .chain((1..1_001).map(|i| format!("d{i}")))
        .collect();
    let reply = s
        .tc3(
            &key,
            "BatchDeleteDevices",
            json!({"ProjectId": pid, "DeviceIds": ids}),
        )
        .language(EN)
        .send()
        .await;
    assert_eq!(
        reply.err_naming("InvalidParameterValue", "DeviceIds"),
        "The value `1001 elements` of parameter `DeviceIds` is not valid: at most 1000 elements."
    );
    assert!(device_exists(&s, &key, &pid).await, "nothing deleted");
    // At the limit the request goes through.
    s.ok(
        &key,
        "BatchDeleteDevices",
        json!({"ProjectId": pid, "DeviceIds": &ids[..1_000]}),
    )
    .await;
    assert!(!device_exists(&s, &key, &pid).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_of_more_pairs_than_any_action_takes_is_refused_whole() {
    let s = Server::start().await;
    let key = s.new_key().await;
    let mut r = s.tc3(&key, "DescribeProjectList", Value::Null);
    r.content_type = "application/x-www-form-urlencoded".into();
    let reply = r
        .body_bytes("a=&".repeat(100_001))
        .language(EN)
        .send()
        .await;
    assert_eq!(
        reply.err("InvalidParameter"),
        "The request has 100001 parameters; at most 100000 are allowed."
    );
}
