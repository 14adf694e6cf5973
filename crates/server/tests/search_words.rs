//! The free-text filters (`SearchWords` of DescribeDeviceList and DescribePolicy) through the real
//! HTTP server: `%`, `_` and `\` are matched as text, and a word past the documented length limit
//! answers a precise `InvalidParameterValue` (it used to reach SQLite's LIKE-pattern limit and
//! answer `InternalError`).

mod common;

use common::{Key, Server};
use serde_json::{json, Value};

/// A project with field devices `truck_1`, `truck2`, `van3` and remote devices `op_1`, `op2`; the
/// black list of `op_1` holds `truck_1`, that of `op2` holds `truck2` and `van3`.
async fn fleet(s: &Server, key: &Key) -> String {
    let pid = s.project(key, "fleet").await;
    for (id, ty) in [
        ("truck_1", "field"),
        ("truck2", "field"),
        ("van3", "field"),
        ("op_1", "remote"),
        ("op2", "remote"),
    ] {
        s.device(key, &pid, id, ty, "abcd1234ABCD5678").await;
    }
    for (remote, fields) in [("op_1", vec!["truck_1"]), ("op2", vec!["truck2", "van3"])] {
        s.ok(
            key,
            "ModifyPolicy",
            json!({"ProjectId": pid, "RemoteDeviceId": remote, "FieldDeviceIds": fields,
                   "PolicyMode": "black", "ModifyMode": "add"}),
        )
        .await;
    }
    pid
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d[field].as_str().unwrap().to_owned())
        .collect()
}

async fn devices(s: &Server, key: &Key, pid: &str, words: &str) -> Vec<String> {
    let r = s
        .ok(
            key,
            "DescribeDeviceList",
            json!({"ProjectId": pid, "SearchWords": words, "PageSize": 100}),
        )
        .await;
    ids(&r["Devices"], "DeviceId")
}

async fn remotes(s: &Server, key: &Key, pid: &str, mode: &str, words: &str) -> Vec<String> {
    let r = s
        .ok(
            key,
            "DescribePolicy",
            json!({"ProjectId": pid, "PolicyMode": "black", "SearchMode": mode,
                   "SearchWords": words, "PageSize": 100}),
        )
        .await;
    ids(&r["PolicyInfo"], "RemoteDeviceId")
}

#[tokio::test]
async fn device_list_matches_percent_underscore_and_backslash_as_text() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = fleet(&s, &key).await;
    assert_eq!(devices(&s, &key, &pid, "_").await, ["op_1", "truck_1"]);
    // As a wildcard, `_` would match `truck2`'s "k2" too.
    assert_eq!(devices(&s, &key, &pid, "k_").await, ["truck_1"]);
    for none in ["%", "truck%", "%%", "\\", "\\_", "k\\", "'", "\"", "🚚"] {
        assert_eq!(
            devices(&s, &key, &pid, none).await,
            Vec::<String>::new(),
            "{none}"
        );
    }
    assert_eq!(
        devices(&s, &key, &pid, "truck").await,
        ["truck2", "truck_1"]
    );
}

#[tokio::test]
async fn describe_policy_with_a_policy_matches_odd_words_as_text() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = fleet(&s, &key).await;
    assert_eq!(remotes(&s, &key, &pid, "remoteMatch", "p_").await, ["op_1"]);
    assert_eq!(remotes(&s, &key, &pid, "fieldMatch", "k_").await, ["op_1"]);
    assert_eq!(
        remotes(&s, &key, &pid, "fieldMatch", "truck").await,
        ["op2", "op_1"]
    );
    for none in ["%", "_%", "\\", "%_%", "'; DROP TABLE policies; --"] {
        for mode in ["remoteMatch", "fieldMatch"] {
            assert_eq!(
                remotes(&s, &key, &pid, mode, none).await,
                Vec::<String>::new(),
                "{mode} {none}"
            );
        }
    }
    // The longest word allowed is searched (and matches nothing).
    let longest = "a".repeat(64);
    for mode in ["remoteMatch", "fieldMatch"] {
        assert_eq!(
            remotes(&s, &key, &pid, mode, &longest).await,
            Vec::<String>::new()
        );
    }
}

#[tokio::test]
async fn long_search_words_answer_invalid_parameter_value() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = fleet(&s, &key).await;
    let long_words = [
        "a".repeat(65),
        "a".repeat(49_999),
        "%".repeat(30_000),
        "_".repeat(30_000),
        "\\".repeat(30_000),
    ];
    for words in &long_words {
        let n = words.chars().count();
        let r = s
            .tc3(
                &key,
                "DescribeDeviceList",
                json!({"ProjectId": pid, "SearchWords": words}),
            )
            .language("en-US")
            .send()
            .await;
        let msg = r.err_naming("InvalidParameterValue", "SearchWords");
        assert!(msg.contains("at most 64 characters"), "{msg}");
        // The message says how long the value was instead of echoing all of it.
        assert!(msg.contains(&format!("{n} characters")), "{msg}");
        assert!(msg.len() < 500, "{} bytes: {msg}", msg.len());
        for mode in ["remoteMatch", "fieldMatch"] {
            s.call(
                &key,
                "DescribePolicy",
                json!({"ProjectId": pid, "SearchMode": mode, "SearchWords": words}),
            )
            .await
            .err_naming("InvalidParameterValue", "SearchWords");
        }
    }
    // Control characters cannot be in an id or a name.
    s.call(
        &key,
        "DescribeDeviceList",
        json!({"ProjectId": pid, "SearchWords": "truck\u{0}"}),
    )
    .await
    .err_naming("InvalidParameterValue", "SearchWords");
}
