//! What docs/security.md writes down, shown: the protocol's signature covers only the signed headers
//! and the body, so by default a captured request can be re-sent as another action within the
//! signature window; `require_signed_action` closes that for clients that sign `x-tc-action`.
//! `/metrics` moves off the public address with `admin_listen`. Broken HTTP framing and an HTTP/2
//! preface without TLS get what hyper gives them, never a hang.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;
use teleoscope_fleet::client::Tc3Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `r` signed over `content-type;host;x-tc-action` (as the vendor's documentation allows), the
/// action as signed being `signed_action` whatever `r.action` then says.
fn sign_with_action(r: &Tc3, signed_action: &str) -> Tc3 {
    let authorization = Tc3Request {
        signed_action: Some(signed_action),
        ..r.signed()
    }
    .authorization();
    Tc3 {
        authorization: Auth::Raw(authorization),
        ..r.clone()
    }
}

async fn project(s: &Server, k: &Key) -> String {
    s.project(k, "p").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_captured_request_can_be_resent_as_another_action() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let pid = project(&s, &k).await;
    // Captured: a harmless read, signed the way the vendor's SDKs sign (content-type;host).
    let mut captured = s.tc3(&k, "DescribeProjectInfo", json!({"ProjectId": pid}));
    captured.send().await.ok();
    // Re-sent with another X-TC-Action, the same signature is valid: the project is gone.
    captured.action = Some("DeleteProject".into());
    captured.send().await.ok();
    s.tc3(&k, "DescribeProjectInfo", json!({"ProjectId": pid}))
        .send()
        .await
        .err("ResourceNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_signed_action_refuses_unsigned_actions_and_changed_ones() {
    let s = Server::start_with(Options {
        configure: Some(Box::new(|c| c.require_signed_action = true)),
        ..Default::default()
    })
    .await;
    let k = s.new_key().await;
    // content-type;host only: refused before anything runs.
    let msg = s
        .tc3(&k, "CreateProject", json!({"ProjectName": "p"}))
        .language("en-US")
        .send()
        .await
        .err("AuthFailure.InvalidAuthorization")
        .to_owned();
    assert!(msg.contains("x-tc-action"), "{msg}");
    // Signed with its action: served.
    let read = s.tc3(&k, "DescribeProjectList", json!({}));
    sign_with_action(&read, "DescribeProjectList")
        .send()
        .await
        .ok();
    let create = s.tc3(&k, "CreateProject", json!({"ProjectName": "p"}));
    let pid = sign_with_action(&create, "CreateProject").send().await.ok()["ProjectId"]
        .as_str()
        .unwrap()
        .to_owned();
    // A captured read re-sent as a delete no longer verifies.
    let mut captured = sign_with_action(
        &s.tc3(&k, "DescribeProjectInfo", json!({"ProjectId": pid})),
        "DescribeProjectInfo",
    );
    captured.send().await.ok();
    captured.action = Some("DeleteProject".into());
    captured.send().await.err("AuthFailure.SignatureFailure");
    let info = s.tc3(&k, "DescribeProjectInfo", json!({"ProjectId": pid}));
    sign_with_action(&info, "DescribeProjectInfo")
        .send()
        .await
        .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_public_unless_an_admin_listener_takes_them() {
    let s = Server::start().await;
    let k = s.new_key().await;
    s.ok(&k, "DescribeProjectList", json!({})).await;
    let public = reqwest::get(format!("http://{}/metrics", s.host))
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    assert!(public
        .text()
        .await
        .unwrap()
        .contains("teleoscope_requests_total"));

    let s = Server::start_with(Options {
        configure: Some(Box::new(|c| {
            c.admin_listen = Some("127.0.0.1:0".parse().unwrap())
        })),
        ..Default::default()
    })
    .await;
    let k = s.new_key().await;
    s.ok(&k, "DescribeProjectList", json!({})).await;
    let admin = s.admin_addr().unwrap();
    let scraped = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("teleoscope_requests_total"));
    // On the public address, /metrics is just an unknown path of the API.
    let reply = s.raw("GET", "/metrics", &[], Vec::new()).await;
    reply.err("UnsupportedProtocol");
    // The admin listener serves nothing of the API.
    let api = reqwest::Client::new()
        .post(format!("http://{admin}/"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_http_framing_gets_400_and_a_closed_connection() {
    let s = Server::start().await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(b"THIS IS NOT HTTP\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400 Bad Request"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_preface_without_tls_is_served_as_http2() {
    let s = Server::start().await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame from the client.
    conn.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    // The server answers with its own SETTINGS frame (type 4 on stream 0).
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut frame))
        .await
        .expect("an HTTP/2 frame")
        .unwrap();
    assert_eq!(frame[3], 4, "frame type {frame:?}");
    assert_eq!(&frame[5..9], &[0, 0, 0, 0], "stream 0");
}
