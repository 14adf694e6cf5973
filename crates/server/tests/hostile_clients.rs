//! What a hostile client meets (docs/security.md): bodies are not read for a caller the server
//! does not know and are capped by what the request is, within one memory budget; stalled and idle
//! connections are closed; connections are limited; failed signatures brake further guessing; an
//! unknown device looks exactly like a wrong token.
//!
//! Raw TCP where the client's pace matters, the harness's signing client elsewhere. Waits are
//! bounded by generous timeouts so a broken server fails the test instead of hanging it; nothing
//! here asserts how fast the server is.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EN: &str = "en-US";

/// The JSON envelope of one raw HTTP/1.1 answer, or `None` if the connection closed first or
/// nothing complete arrived within `wait`.
async fn answer(conn: &mut TcpStream, wait: Duration) -> Option<Value> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if raw.len() >= end + 4 + len {
                return serde_json::from_slice(&raw[end + 4..end + 4 + len]).ok();
            }
        }
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => raw.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

fn code(envelope: &Value) -> &str {
    envelope["Response"]["Error"]["Code"]
        .as_str()
        .unwrap_or("<success>")
}

fn message(envelope: &Value) -> &str {
    envelope["Response"]["Error"]["Message"]
        .as_str()
        .unwrap_or("")
}

/// Whether the server closed the connection (EOF or reset) within `wait`.
async fn closed_within(conn: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn server_with(
    configure: impl FnOnce(&mut teleoscope_server::config::Config) + Send + 'static,
) -> Server {
    Server::start_with(Options {
        configure: Some(Box::new(configure)),
        ..Default::default()
    })
    .await
}

/// A project with field device `truck_1` and remote device `desk_1`; the truck's credentials.
async fn fleet(s: &Server, k: &Key) -> (String, Key) {
    let (pid, truck, _) = s.project_with_pair(k).await;
    (pid, truck)
}

fn device_key(pid: &str, device: &str, token: &str) -> Key {
    Key {
        account_id: String::new(),
        secret_id: format!("{pid}:{device}"),
        secret_key: token.into(),
    }
}

// ---- item 10: bodies ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_secret_id_is_answered_before_its_body_arrives() {
    let s = Server::start().await;
    let mut k = s.new_key().await;
    k.secret_id = "AKIDnobodyhasthiskeynobodyhasthis".into();
    // A client that announces 10 MB - 1 of body, sends 1 KB and stalls.
    let mut r = s.tc3(&k, "DescribeProjectList", json!({})).language(EN);
    r.body = vec![b' '; 10 * 1024 * 1024 - 1];
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(r.raw_head().as_bytes()).await.unwrap();
    conn.write_all(&r.body[..1024]).await.unwrap();
    let envelope = answer(&mut conn, Duration::from_secs(10))
        .await
        .expect("the answer comes while the body is still owed");
    assert_eq!(code(&envelope), "AuthFailure.SecretIdNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_timestamp_is_answered_before_its_body_arrives() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let mut r = s
        .tc3(&k, "DescribeProjectList", json!({}))
        .timestamp(s.now() - 3600)
        .language(EN);
    r.body = vec![b' '; 5 * 1024 * 1024];
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(r.raw_head().as_bytes()).await.unwrap();
    let envelope = answer(&mut conn, Duration::from_secs(10))
        .await
        .expect("the answer comes before any of the body");
    assert_eq!(code(&envelope), "AuthFailure.SignatureExpire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_capped_by_what_the_request_is() {
    let s = server_with(|c| c.device_rate_limit_per_second = 10_000).await;
    let k = s.new_key().await;
    let (_, truck) = fleet(&s, &k).await;
    let (request_cap, report_cap) = (s.config.max_request_bytes, s.config.max_report_bytes);
    assert!(request_cap < report_cap);
    let padded = |size: usize| {
        let mut body =
            br#"{"SessionId":"s-1","PeerDeviceId":"desk_1","StartTime":1,"Samples":[]"#.to_vec();
        body.resize(size - 1, b' ');
        body.push(b'}');
        body
    };

    // A device report between the two caps passes the size check (and is decoded: an empty report
    // is refused for what it says, not for its size) ...
    let reply = s
        .tc3(&truck, "ReportSessionMetrics", json!(null))
        .body_bytes(padded(request_cap + 1))
        .language(EN)
        .send()
        .await;
    assert_ne!(
        reply.code(),
        Some("RequestSizeLimitExceeded"),
        "{}",
        reply.json
    );
    // ... while an account request, or a device's status report, of that size is refused, naming the cap.
    for (key, action) in [(&k, "DescribeProjectList"), (&truck, "ReportDeviceStatus")] {
        let msg = s
            .tc3(key, action, json!(null))
            .body_bytes(padded(request_cap + 1))
            .language(EN)
            .send()
            .await
            .err("RequestSizeLimitExceeded")
            .to_owned();
        assert!(
            msg.contains(&format!("({request_cap} bytes)")),
            "{action}: {msg}"
        );
    }
    let msg = s
        .tc3(&truck, "ReportSessionMetrics", json!(null))
        .body_bytes(padded(report_cap + 1))
        .language(EN)
        .send()
        .await
        .err("RequestSizeLimitExceeded")
        .to_owned();
    assert!(msg.contains(&format!("({report_cap} bytes)")), "{msg}");
}

/// A signed CreateProject of about 900 KB (its description far too long for the field: answered
/// `InvalidParameterValue` once read whole), and a connection that has sent its head.
async fn big_request(s: &Server, k: &Key, name: &str) -> (Tc3, TcpStream) {
    let r = s
        .tc3(
            k,
            "CreateProject",
            json!({"ProjectName": name, "ProjectDescription": "x".repeat(900 * 1024)}),
        )
        .language(EN);
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(r.raw_head().as_bytes()).await.unwrap();
    (r, conn)
}

/// Read whole: refused for its value, not for its size or for memory.
async fn read_whole(conn: &mut TcpStream, name: &str) {
    let envelope = answer(conn, Duration::from_secs(15))
        .await
        .unwrap_or_else(|| panic!("{name} got no answer"));
    assert_eq!(
        code(&envelope),
        "InvalidParameterValue",
        "{name}: {envelope}"
    );
    assert!(
        message(&envelope).contains("ProjectDescription"),
        "{envelope}"
    );
}

/// Room for one such body at a time.
async fn one_body_budget() -> Server {
    server_with(|c| {
        c.max_body_bytes_in_flight = 1024 * 1024;
        c.body_read_timeout_seconds = 20;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_in_flight_share_one_memory_budget() {
    let s = one_body_budget().await;
    let k = s.new_key().await;
    // A holds 800 KB of its body in memory and stalls.
    let (a, mut conn_a) = big_request(&s, &k, "a").await;
    conn_a.write_all(&a.body[..800 * 1024]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // B's whole body cannot be held beside it: refused as busy (retryable), not left waiting.
    let (b, mut conn_b) = big_request(&s, &k, "b").await;
    conn_b.write_all(&b.body).await.unwrap();
    let envelope = answer(&mut conn_b, Duration::from_secs(10))
        .await
        .expect("B answered");
    assert_eq!(code(&envelope), "RequestLimitExceeded", "{envelope}");
    assert!(message(&envelope).contains("request bodies"), "{envelope}");
    // A finishes and is read whole; then there is room for C.
    conn_a.write_all(&a.body[800 * 1024..]).await.unwrap();
    read_whole(&mut conn_a, "A").await;
    let (c, mut conn_c) = big_request(&s, &k, "c").await;
    conn_c.write_all(&c.body).await.unwrap();
    read_whole(&mut conn_c, "C").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_announced_but_not_sent_holds_no_memory() {
    let s = one_body_budget().await;
    let k = s.new_key().await;
    // Three connections announce 900 KB each and send nothing ...
    let mut idle = Vec::new();
    for name in ["i1", "i2", "i3"] {
        idle.push(big_request(&s, &k, name).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ... and a body that is sent is read whole all the same.
    let (d, mut conn_d) = big_request(&s, &k, "d").await;
    conn_d.write_all(&d.body).await.unwrap();
    read_whole(&mut conn_d, "D").await;
}

// ---- item 11: connections ----

/// Short stage timeouts (the configuration's unit is the second).
async fn quick_timeouts() -> Server {
    server_with(|c| {
        c.header_read_timeout_seconds = 1;
        c.connection_idle_timeout_seconds = 1;
        c.body_read_timeout_seconds = 1;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let s = quick_timeouts().await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    assert!(closed_within(&mut conn, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_a_byte_at_a_time_is_cut_off() {
    let s = quick_timeouts().await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    // Slowloris: a byte every 200 ms would take 12 s to finish this head.
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = false;
    for byte in head {
        if conn.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut = true;
                break;
            }
            Ok(Ok(_)) => panic!("answered a head that never finished"),
            Err(_) => {}
        }
    }
    assert!(cut, "the slow head was read to its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let s = quick_timeouts().await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    let k = s.new_key().await;
    // Two requests on one connection, the second after a pause shorter than the timeout: both answered.
    for _ in 0..2 {
        let r = s.tc3(&k, "DescribeProjectList", json!({}));
        conn.write_all(r.raw_head().as_bytes()).await.unwrap();
        conn.write_all(&r.body).await.unwrap();
        let envelope = answer(&mut conn, Duration::from_secs(5))
            .await
            .expect("answered");
        assert_eq!(envelope["Response"]["Total"], 0, "{envelope}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Then idle: closed.
    assert!(closed_within(&mut conn, Duration::from_secs(10)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_gets_the_body_timeout_answer() {
    let s = quick_timeouts().await;
    let k = s.new_key().await;
    let r = s
        .tc3(&k, "CreateProject", json!({"ProjectName": "slow"}))
        .language(EN);
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    conn.write_all(r.raw_head().as_bytes()).await.unwrap();
    conn.write_all(&r.body[..5]).await.unwrap();
    let envelope = answer(&mut conn, Duration::from_secs(10))
        .await
        .expect("an answer to the stalled body");
    assert_eq!(code(&envelope), "InvalidRequest", "{envelope}");
    assert_eq!(
        message(&envelope),
        "The request body was not received within 1 s."
    );
    assert_eq!(
        s.ok(&k, "DescribeProjectList", json!({})).await["Total"],
        0,
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_limit_new_connections_wait_and_the_admin_listener_answers() {
    let s = server_with(|c| {
        c.max_connections = 2;
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let admin = s.admin_addr().expect("admin listener");
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(s.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The third waits in the kernel's backlog: its request is not answered ...
    let mut third = TcpStream::connect(s.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    assert!(
        tokio::time::timeout(Duration::from_millis(800), third.read(&mut buf))
            .await
            .is_err(),
        "a connection beyond the limit was served"
    );
    // ... while the admin listener still answers probes ...
    let probe = reqwest::get(format!("http://{admin}/healthz"))
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
    // ... and once a held connection closes, the third is served.
    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_reset_mid_request_leaves_the_connection_to_its_idle_timeout() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let s = quick_timeouts().await;
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let closed = tokio::spawn(connection);
    // A v1 form POST (its body is read before anything else) whose body never comes ...
    let never: http_body_util::StreamBody<
        futures_util::stream::Pending<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>,
    > = http_body_util::StreamBody::new(futures_util::stream::pending());
    let req = hyper::Request::post(format!("http://{}/", s.host))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(never)
        .unwrap();
    let answer = sender.send_request(req);
    // ... given up by the client: its stream is reset while the server is reading it.
    let _ = tokio::time::timeout(Duration::from_millis(300), answer).await;
    // The connection is idle again (the client keeps it open), and closed after the idle timeout.
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the connection was never closed")
        .ok();
    drop(sender);
}

// ---- item 14: device credentials reveal nothing ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_device_or_project_answers_exactly_like_a_wrong_token() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let (pid, _) = fleet(&s, &k).await;
    let other_account = s.new_key().await;
    let (foreign_pid, _) = fleet(&s, &other_account).await;
    let token = "cccccccccccccccc";
    let mut answers = Vec::new();
    for secret_id in [
        format!("{pid}:truck_1"),            // a device with another token
        format!("{pid}:nobody"),             // no such device
        "prj_nosuchproject:truck_1".into(),  // no such project
        format!("{foreign_pid}:truck_1"),    // another account's device (it has another token)
        format!("{pid}:truck_1:4102444800"), // a shared key where the project has none
        format!("{pid}:truck_1:x:y"),        // not a device credential at all
    ] {
        let key = Key {
            account_id: String::new(),
            secret_id: secret_id.clone(),
            secret_key: token.into(),
        };
        let reply = s
            .tc3(&key, "ReportDeviceStatus", json!({"Status": "ready"}))
            .language(EN)
            .send()
            .await;
        answers.push((
            secret_id,
            reply.code().map(str::to_owned),
            reply.message().to_owned(),
        ));
    }
    let (_, first_code, first_message) = answers[0].clone();
    assert_eq!(first_code.as_deref(), Some("AuthFailure.SignatureFailure"));
    for (secret_id, code, message) in &answers {
        assert_eq!(
            (code, message),
            (&first_code, &first_message),
            "{secret_id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn why_a_device_login_is_refused_is_told_only_to_the_key_holder() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let (pid, _) = fleet(&s, &k).await;
    let project_key = "0123456789abcdef0123456789abcdef";
    s.ok(
        &k,
        "ModifyProjectSecMode",
        json!({"ProjectId": pid, "Mode": 1, "Key": project_key, "AutoRegister": 0}),
    )
    .await;
    s.ok(
        &k,
        "CreateDevice",
        json!({"ProjectId": pid, "DeviceId": "op_a", "DeviceName": "op_a", "DeviceType": "remote", "DeviceToken": "USEPROJECTKEYPWD"}),
    )
    .await;
    let expired = s.now() - 60;
    let password = |key: &str| {
        teleoscope_server::domain::device_login::project_key_password(key, "truck_1", expired)
    };
    let shared = |secret_key: String| Key {
        account_id: String::new(),
        secret_id: format!("{pid}:truck_1:{expired}"),
        secret_key,
    };
    let status = json!({"Status": "ready"});
    // An expired password made with another key: a wrong signature, nothing more.
    s.tc3(
        &shared(password(&"x".repeat(32))),
        "ReportDeviceStatus",
        status.clone(),
    )
    .send()
    .await
    .err("AuthFailure.SignatureFailure");
    // Made with the project key: the holder learns it expired.
    s.tc3(
        &shared(password(project_key)),
        "ReportDeviceStatus",
        status.clone(),
    )
    .send()
    .await
    .err("AuthFailure.SignatureExpire");
    // A project-key-only device: a guessed token is a wrong signature; its own sentinel says why.
    s.tc3(
        &device_key(&pid, "op_a", "dddddddddddddddd"),
        "ReportDeviceStatus",
        status.clone(),
    )
    .send()
    .await
    .err("AuthFailure.SignatureFailure");
    s.tc3(
        &device_key(&pid, "op_a", "USEPROJECTKEYPWD"),
        "ReportDeviceStatus",
        status,
    )
    .send()
    .await
    .err("AuthFailure.InvalidSecretId");
}

// ---- item 15: the brake on guessing ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_cool_the_secret_id_down_and_no_one_else() {
    let s = Server::start().await;
    let k = s.new_key().await;
    let (pid, truck) = fleet(&s, &k).await;
    let limit = s.config.failed_signatures_per_secret_id;
    let status = json!({"Status": "ready"});
    let guess = device_key(&pid, "truck_1", "eeeeeeeeeeeeeeee");
    for i in 0..limit {
        s.tc3(&guess, "ReportDeviceStatus", status.clone())
            .send()
            .await
            .err("AuthFailure.SignatureFailure");
        assert!(i < limit);
    }
    // One more wrong guess still gets checked; from then on the SecretId cools down.
    s.tc3(&guess, "ReportDeviceStatus", status.clone())
        .send()
        .await
        .err("AuthFailure.SignatureFailure");
    let msg = s
        .tc3(&guess, "ReportDeviceStatus", status.clone())
        .language(EN)
        .send()
        .await
        .err("RequestLimitExceeded")
        .to_owned();
    assert!(msg.contains("SecretId"), "{msg}");
    // Even the right token waits out the cool-down ...
    s.tc3(&truck, "ReportDeviceStatus", status.clone())
        .send()
        .await
        .err("RequestLimitExceeded");
    // ... while other devices and the account's key are not slowed at all.
    let desk = device_key(&pid, "desk_1", "bbbbbbbbbbbbbbb2");
    s.ok(&desk, "ReportDeviceStatus", status).await;
    s.ok(&k, "DescribeProjectList", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_secret_ids_from_one_address_cool_the_address_down() {
    let s = server_with(|c| c.failed_signatures_per_address = 5).await;
    let k = s.new_key().await;
    for i in 0..6 {
        let mut probe = k.clone();
        probe.secret_id = format!("AKIDprobe{i:024}");
        s.tc3(&probe, "DescribeProjectList", json!({}))
            .send()
            .await
            .err("AuthFailure.SecretIdNotFound");
    }
    // Every SecretId from this address now waits, the good one too.
    let msg = s
        .tc3(&k, "DescribeProjectList", json!({}))
        .language(EN)
        .send()
        .await
        .err("RequestLimitExceeded")
        .to_owned();
    assert!(msg.contains("address"), "{msg}");
}
