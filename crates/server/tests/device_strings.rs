//! Every string a device sends (`ReportSessionMetrics`: SessionId, PeerDeviceId, Ver, SdkMode,
//! DeviceType, MultiNet NetIp; `ReportDeviceStatus`: Status, DeviceType) has a length and character
//! rule: a value that breaks it answers `InvalidParameterValue` naming the parameter, the message does
//! not echo a huge value back, and nothing of the report is stored — not even a device that would
//! have registered itself. Values within the rules read back exactly.

mod common;

use common::{Key, Server};
use serde_json::{json, Value};
use teleoscope_server::domain::device_login::project_key_password;

const PROJECT_KEY: &str = "0123456789abcdef0123456789abcdef";

/// A project with field device `truck_1` and remote device `desk_1`; the project key is set and
/// unknown field devices register themselves (AutoRegister 1). Returns the project and the two
/// devices' credentials.
async fn fleet(s: &Server, key: &Key) -> (String, Key, Key) {
    let (pid, field, remote) = s.project_with_pair(key).await;
    s.ok(
        key,
        "ModifyProjectSecMode",
        json!({"ProjectId": pid, "Mode": 1, "Key": PROJECT_KEY, "AutoRegister": 1}),
    )
    .await;
    (pid, field, remote)
}

/// The credential of an unregistered field device logging in with the project key.
fn newcomer(s: &Server, key: &Key, pid: &str) -> Key {
    let expire = s.now() + 3600;
    Key {
        account_id: key.account_id.clone(),
        secret_id: format!("{pid}:truck_new:{expire}"),
        secret_key: project_key_password(PROJECT_KEY, "truck_new", expire),
    }
}

/// A good report of truck_1 (or of a newcomer) to desk_1, with two links.
fn report(s: &Server) -> Value {
    let samples: Vec<Value> = [0, 2]
        .iter()
        .map(|o| {
            json!({"TimeOffset": o, "Rate": 800, "MultiNet": [
                {"NetId": 0, "NetIp": "192.168.11.2", "Rtt": 5, "Lost": 0, "SendBps": 77, "RecvBps": 53},
                {"NetId": 1, "NetIp": "fe80::1", "Rtt": 6, "Lost": 0, "SendBps": 70, "RecvBps": 50}]})
        })
        .collect();
    json!({"SessionId": "c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1", "PeerDeviceId": "desk_1",
           "StartTime": s.now(), "Ver": "2.4", "SdkMode": "server2", "Width": 1280, "Height": 720,
           "Samples": samples, "Final": false})
}

/// A huge value (1 MiB); the 9 MB Ver of the bug report is tested too.
const HUGE: usize = 1024 * 1024;

/// (what is spoiled, the parameter the error names, the change).
type Spoil = (&'static str, &'static str, Box<dyn Fn(&mut Value)>);

fn spoils() -> Vec<Spoil> {
    fn set(path: &'static [&'static str], v: Value) -> Box<dyn Fn(&mut Value)> {
        Box::new(move |body: &mut Value| {
            let mut at = &mut *body;
            for p in path {
                at = match p.parse::<usize>() {
                    Ok(i) => &mut at[i],
                    Err(_) => &mut at[*p],
                };
            }
            *at = v.clone();
        })
    }
    let net_ip = &["Samples", "1", "MultiNet", "1", "NetIp"];
    vec![
        (
            "9 MB Ver",
            "Ver",
            set(&["Ver"], json!("v".repeat(9 * HUGE))),
        ),
        (
            "33-character Ver",
            "Ver",
            set(&["Ver"], json!("1".repeat(33))),
        ),
        ("Ver with NUL", "Ver", set(&["Ver"], json!("2.4\u{0}"))),
        ("Ver with newline", "Ver", set(&["Ver"], json!("2.4\n"))),
        ("non-ASCII Ver", "Ver", set(&["Ver"], json!("版本2"))),
        (
            "1 MiB SdkMode",
            "SdkMode",
            set(&["SdkMode"], json!("s".repeat(HUGE))),
        ),
        (
            "65-character SdkMode",
            "SdkMode",
            set(&["SdkMode"], json!("p".repeat(65))),
        ),
        (
            "SdkMode with escape",
            "SdkMode",
            set(&["SdkMode"], json!("server\u{1b}[2J")),
        ),
        (
            "SdkMode with DEL",
            "SdkMode",
            set(&["SdkMode"], json!("p2p\u{7f}")),
        ),
        (
            "long SessionId",
            "SessionId",
            set(&["SessionId"], json!("s".repeat(129))),
        ),
        (
            "SessionId with a control",
            "SessionId",
            set(&["SessionId"], json!("s-1\u{7}")),
        ),
        (
            "1 MiB PeerDeviceId",
            "PeerDeviceId",
            set(&["PeerDeviceId"], json!("d".repeat(HUGE))),
        ),
        (
            "PeerDeviceId with NUL",
            "PeerDeviceId",
            set(&["PeerDeviceId"], json!("desk_1\u{0}")),
        ),
        (
            "DeviceType with NUL",
            "DeviceType",
            set(&["DeviceType"], json!("field\u{0}")),
        ),
        (
            "NetIp not an address",
            "Samples.1.MultiNet.1.NetIp",
            set(net_ip, json!("eth0")),
        ),
        (
            "NetIp with newline",
            "Samples.1.MultiNet.1.NetIp",
            set(net_ip, json!("10.0.0.1\n")),
        ),
        (
            "46-character NetIp",
            "Samples.1.MultiNet.1.NetIp",
            set(net_ip, json!("f".repeat(46))),
        ),
        (
            "1 MiB NetIp",
            "Samples.1.MultiNet.1.NetIp",
            set(net_ip, json!("1".repeat(HUGE))),
        ),
    ]
}

async fn sessions(s: &Server, key: &Key, pid: &str) -> i64 {
    s.ok(
        key,
        "DescribeDeviceSessionList",
        json!({"ProjectId": pid, "PageNumber": 1, "PageSize": 10}),
    )
    .await["Total"]
        .as_i64()
        .unwrap()
}

/// Devices that registered themselves.
async fn registered_themselves(s: &Server, key: &Key, pid: &str) -> i64 {
    let all = s
        .ok(
            key,
            "DescribeDeviceList",
            json!({"ProjectId": pid, "RegisterType": 1}),
        )
        .await["Total"]
        .as_i64()
        .unwrap();
    let by_api = s
        .ok(key, "DescribeDeviceList", json!({"ProjectId": pid}))
        .await["Total"]
        .as_i64()
        .unwrap();
    all - by_api
}

#[tokio::test]
async fn a_device_string_that_breaks_its_rule_is_named_and_nothing_is_stored() {
    let s = Server::unthrottled_with(|c| {
        c.max_request_bytes = teleoscope_server::config::MAX_TC3_BODY;
        c.max_report_bytes = teleoscope_server::config::MAX_TC3_BODY;
    })
    .await;
    let key = s.new_key().await;
    let (pid, field, _remote) = fleet(&s, &key).await;
    let newcomer = newcomer(&s, &key, &pid);
    for (what, param, spoil) in spoils() {
        for device in [&field, &newcomer] {
            let mut body = report(&s);
            spoil(&mut body);
            let reply = s
                .tc3(device, "ReportSessionMetrics", body)
                .language("en-US")
                .send()
                .await;
            let msg = reply.err_naming("InvalidParameterValue", param);
            assert!(msg.len() < 500, "{what}: {} bytes: {msg}", msg.len());
            assert!(!msg.chars().any(char::is_control), "{what}: {msg:?}");
        }
        assert_eq!(sessions(&s, &key, &pid).await, 0, "{what}");
        assert_eq!(
            s.device_status(&key, &pid, "truck_1").await,
            "offline",
            "{what}"
        );
        assert_eq!(registered_themselves(&s, &key, &pid).await, 0, "{what}");
    }
    // Bad samples do not register a device either.
    let mut body = report(&s);
    body["Samples"][1]["TimeOffset"] = json!(0);
    s.call(&newcomer, "ReportSessionMetrics", body)
        .await
        .err_naming("InvalidParameterValue", "TimeOffset");
    assert_eq!(registered_themselves(&s, &key, &pid).await, 0);
    // The same report unspoiled is stored, and registers the newcomer.
    s.ok(&newcomer, "ReportSessionMetrics", report(&s)).await;
    assert_eq!(registered_themselves(&s, &key, &pid).await, 1);
}

#[tokio::test]
async fn a_device_status_that_breaks_its_rule_is_named_and_changes_nothing() {
    let s = Server::unthrottled_with(|c| {
        c.max_request_bytes = teleoscope_server::config::MAX_TC3_BODY;
        c.max_report_bytes = teleoscope_server::config::MAX_TC3_BODY;
    })
    .await;
    let key = s.new_key().await;
    let (pid, field, _remote) = fleet(&s, &key).await;
    let newcomer = newcomer(&s, &key, &pid);
    for (body, param) in [
        (json!({"Status": "ready\u{0}"}), "Status"),
        (json!({"Status": "r".repeat(HUGE)}), "Status"),
        (
            json!({"Status": "ready", "DeviceType": "field\n"}),
            "DeviceType",
        ),
        (
            json!({"Status": "ready", "DeviceType": "f".repeat(HUGE)}),
            "DeviceType",
        ),
    ] {
        for device in [&field, &newcomer] {
            let reply = s
                .tc3(device, "ReportDeviceStatus", body.clone())
                .language("en-US")
                .send()
                .await;
            let msg = reply.err_naming("InvalidParameterValue", param);
            assert!(msg.len() < 500, "{} bytes: {msg}", msg.len());
            assert!(!msg.chars().any(char::is_control), "{msg:?}");
        }
        assert_eq!(s.device_status(&key, &pid, "truck_1").await, "offline");
        assert_eq!(registered_themselves(&s, &key, &pid).await, 0);
    }
}

#[tokio::test]
async fn device_strings_within_the_rules_read_back_exactly() {
    let s = Server::unthrottled_with(|c| {
        c.max_request_bytes = teleoscope_server::config::MAX_TC3_BODY;
        c.max_report_bytes = teleoscope_server::config::MAX_TC3_BODY;
    })
    .await;
    let key = s.new_key().await;
    let (_pid, field, _remote) = fleet(&s, &key).await;
    let mut body = report(&s);
    let ver = "2.4.1-beta.7+build.20261130.abcd";
    assert_eq!(ver.len(), 32);
    let mode = format!("server2 {}", "~".repeat(56));
    assert_eq!(mode.len(), 64);
    let ipv6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    assert_eq!(ipv6.len(), 45);
    body["Ver"] = json!(ver);
    body["SdkMode"] = json!(mode);
    for sample in body["Samples"].as_array_mut().unwrap() {
        sample["MultiNet"][1]["NetIp"] = json!(ipv6);
    }
    s.ok(&field, "ReportSessionMetrics", body).await;
    let details = s
        .ok(
            &key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1"}),
        )
        .await;
    let d = &details["Details"][0];
    assert_eq!(d["Ver"], ver);
    assert_eq!(d["SdkMode"], mode.as_str());
    assert_eq!(d["MultiNet"][0]["NetIp"], "192.168.11.2");
    assert_eq!(d["MultiNet"][1]["NetIp"], ipv6);
}
