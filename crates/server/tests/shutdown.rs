//! Graceful shutdown (`Running::shutdown`, what SIGTERM triggers): a request in flight completes with
//! its answer and its effect, new connections are refused from the moment shutdown starts, and idle
//! keep-alive connections do not hold the shutdown up until the grace period ends.
//!
//! The in-flight request is made slow by the client: it sends the headers and part of the body, and
//! the rest only after shutdown has begun, over a raw TCP connection.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use teleoscope_server::model::{AccountId, Page};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GRACE: Duration = Duration::from_secs(10);

/// Status, headers (lower-case names) and body of a raw HTTP/1.1 answer with a Content-Length.
fn parse_http(raw: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in: {text}"));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = raw[split + 4..].to_vec();
    if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        assert_eq!(len.parse::<usize>().unwrap(), body.len(), "{text}");
    }
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_request_completes_and_new_connections_are_refused() {
    let mut s = Server::start().await;
    let k = s.new_key().await;
    let req = s.tc3(&k, "CreateProject", json!({"ProjectName": "draining"}));
    let body = req.body.clone();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Authorization: {}\r\nX-TC-Action: CreateProject\r\nX-TC-Version: 2022-03-25\r\n\
         X-TC-Timestamp: {}\r\nX-TC-Language: en-US\r\nConnection: close\r\n\r\n",
        s.host,
        body.len(),
        req.authorization_value().unwrap(),
        req.timestamp
    );

    // The request is under way: headers and half the body are on the server.
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..body.len() / 2]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let running = s.take_running().expect("running");
    let started = Instant::now();
    let shutdown = tokio::spawn(running.shutdown(GRACE));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Draining: no new connections, and the shutdown waits for the request.
    assert!(
        TcpStream::connect(s.addr).await.is_err(),
        "a new connection was accepted after shutdown began"
    );
    assert!(
        !shutdown.is_finished(),
        "shutdown finished with a request in flight"
    );

    // The rest of the body; the answer is the normal one.
    conn.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut raw))
        .await
        .expect("the in-flight request is answered")
        .unwrap();
    let (status, headers, body) = parse_http(&raw);
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let content_types: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(content_types, ["application/json"]);
    let answer: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        answer["Response"].get("Error").is_none(),
        "in-flight request failed: {answer}"
    );
    assert!(is_uuid_v4(
        answer["Response"]["RequestId"].as_str().unwrap()
    ));
    let project_id = answer["Response"]["ProjectId"].as_str().unwrap().to_owned();

    // Shutdown ends once the request is done, well before the grace period.
    tokio::time::timeout(GRACE, shutdown)
        .await
        .expect("shutdown completes")
        .unwrap();
    assert!(
        started.elapsed() < GRACE / 2,
        "shutdown took {:?}: it waited out the grace period",
        started.elapsed()
    );
    assert!(TcpStream::connect(s.addr).await.is_err(), "port still open");

    // The in-flight request's effect is stored.
    let (total, projects) = s
        .domain
        .list_projects(
            &AccountId(k.account_id.clone()),
            Page {
                number: 1,
                size: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(projects[0].project_id, project_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_do_not_hold_up_shutdown() {
    let mut s = Server::start().await;
    let k = s.new_key().await;
    // The client keeps its connection open in its pool after this.
    s.call(&k, "DescribeProjectList", json!({})).await.ok();
    let started = Instant::now();
    s.shutdown(GRACE).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?} with only an idle connection open",
        started.elapsed()
    );
    assert!(TcpStream::connect(s.addr).await.is_err(), "port still open");
    assert!(
        s.tc3(&k, "DescribeProjectList", json!({}))
            .try_send()
            .await
            .is_err(),
        "a request was answered after shutdown"
    );
}
