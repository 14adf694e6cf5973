//! Tenant isolation (docs/api.md §2.9): an object of another account is `ResourceNotFound`, with exactly
//! the answer a made-up id gets, so no caller can learn that another tenant's object exists; and the
//! other tenant's data is untouched.

mod common;

use common::*;
use serde_json::{json, Value};
use teleoscope_server::model::AccountId;

/// A well-formed project id that nobody owns (16 lowercase characters, like the generated ones).
const MADE_UP: &str = "zzzzzzzzzzzzzzzz";

/// Every action that takes a ProjectId, with a valid request body for project `p`.
fn attempts(p: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("DescribeProjectInfo", json!({"ProjectId": p})),
        (
            "ModifyProject",
            json!({"ProjectId": p, "ProjectName": "hijacked", "PolicyMode": "white"}),
        ),
        ("DeleteProject", json!({"ProjectId": p})),
        (
            "ModifyProjectSecMode",
            json!({"ProjectId": p, "Mode": 1, "Key": "0123456789abcdef0123456789abcdef", "AutoRegister": 3}),
        ),
        (
            "CreateDevice",
            json!({"ProjectId": p, "DeviceId": "intruder", "DeviceName": "intruder",
                   "DeviceType": "field", "DeviceToken": "Intruder12345678"}),
        ),
        (
            "DescribeDeviceList",
            json!({"ProjectId": p, "PageSize": 100}),
        ),
        (
            "DescribeDeviceInfo",
            json!({"ProjectId": p, "DeviceId": "truck_1"}),
        ),
        (
            "ModifyDevice",
            json!({"ProjectId": p, "DeviceId": "truck_1", "DeviceName": "hijacked",
                   "DeviceToken": "Hijacked12345678"}),
        ),
        (
            "BatchDeleteDevices",
            json!({"ProjectId": p, "DeviceIds": ["truck_1", "console_1"]}),
        ),
        (
            "ModifyPolicy",
            json!({"ProjectId": p, "RemoteDeviceId": "console_1", "FieldDeviceIds": ["truck_1"],
                   "PolicyMode": "black", "ModifyMode": "set"}),
        ),
        ("DescribePolicy", json!({"ProjectId": p})),
        (
            "BatchDeletePolicy",
            json!({"ProjectId": p, "RemoteDeviceIds": ["console_1"], "PolicyMode": "black"}),
        ),
        (
            "ModifyCallbackUrl",
            json!({"ProjectId": p, "CallbackUrl": "http://evil.example/cb", "SignKey": "evil"}),
        ),
    ]
}

/// What account A can see of its project, RequestIds removed.
async fn snapshot(s: &Server, a: &Key, p: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (action, body) in [
        ("DescribeProjectInfo", json!({"ProjectId": p})),
        (
            "DescribeDeviceList",
            json!({"ProjectId": p, "PageSize": 100}),
        ),
        (
            "DescribeDeviceInfo",
            json!({"ProjectId": p, "DeviceId": "truck_1"}),
        ),
        (
            "DescribeDeviceInfo",
            json!({"ProjectId": p, "DeviceId": "console_1"}),
        ),
        (
            "DescribePolicy",
            json!({"ProjectId": p, "PolicyMode": "black"}),
        ),
        ("DescribeProjectList", json!({})),
    ] {
        let mut r = s.ok(a, action, body).await;
        r.as_object_mut().unwrap().remove("RequestId");
        out.push(r);
    }
    // What the API cannot show: shared-key mode and callback, straight from the store.
    let project = s
        .domain
        .store
        .project(&AccountId(a.account_id.clone()), p)
        .await
        .unwrap()
        .expect("A's project exists");
    out.push(json!({
        "sec_mode": format!("{:?}", project.sec_mode),
        "callback": format!("{:?}", project.callback),
        "modify_time": project.modify_time,
    }));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_project_looks_exactly_like_a_missing_one() {
    let s = Server::start().await;
    let a = s.new_key().await;
    let b = s.new_key().await;

    // Account A: a project with a field and a remote device, a policy and a callback.
    let p = s
        .ok(
            &a,
            "CreateProject",
            json!({"ProjectName": "alpha", "ProjectDescription": "A's fleet"}),
        )
        .await["ProjectId"]
        .as_str()
        .unwrap()
        .to_owned();
    for (id, kind) in [("truck_1", "field"), ("console_1", "remote")] {
        s.ok(
            &a,
            "CreateDevice",
            json!({"ProjectId": p, "DeviceId": id, "DeviceName": id, "DeviceType": kind,
                   "DeviceToken": "Secret1234567890"}),
        )
        .await;
    }
    s.ok(
        &a,
        "ModifyPolicy",
        json!({"ProjectId": p, "RemoteDeviceId": "console_1", "FieldDeviceIds": ["truck_1"],
               "PolicyMode": "black", "ModifyMode": "add"}),
    )
    .await;
    s.ok(
        &a,
        "ModifyCallbackUrl",
        json!({"ProjectId": p, "CallbackUrl": "https://a.example/cb"}),
    )
    .await;
    let before = snapshot(&s, &a, &p).await;
    assert_eq!(before[1]["Total"], 2, "A sees its two devices");
    assert_eq!(before[4]["Total"], 1, "A sees its policy");

    // B does not list it.
    assert_eq!(s.ok(&b, "DescribeProjectList", json!({})).await["Total"], 0);

    for lang in ["en-US", "zh-CN"] {
        let foreign = attempts(&p);
        let made_up = attempts(MADE_UP);
        for ((action, body), (_, fake_body)) in foreign.into_iter().zip(made_up) {
            let theirs = s.tc3(&b, action, body).language(lang).send().await;
            let none = s.tc3(&b, action, fake_body).language(lang).send().await;
            let theirs_msg = theirs.err("ResourceNotFound").replace(p.as_str(), "<id>");
            let none_msg = none.err("ResourceNotFound").replace(MADE_UP, "<id>");
            assert_eq!(
                theirs_msg, none_msg,
                "{action} ({lang}): another tenant's project must answer like a made-up id"
            );
        }
    }

    // A's data is unchanged: project not deleted or renamed, devices, policy, sec mode, callback.
    let after = snapshot(&s, &a, &p).await;
    assert_eq!(before, after, "B changed A's data");

    // Device ids are per project: B may use the same ids in its own project.
    let pb = s.project(&b, "beta").await;
    s.ok(
        &b,
        "CreateDevice",
        json!({"ProjectId": pb, "DeviceId": "truck_1", "DeviceName": "truck_1",
               "DeviceType": "field", "DeviceToken": "Other12345678901"}),
    )
    .await;
    assert_eq!(snapshot(&s, &a, &p).await[..5], before[..5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_device_in_ones_own_project_is_not_found() {
    // A device id that exists only in another account's project is unknown in one's own project.
    let s = Server::start().await;
    let a = s.new_key().await;
    let b = s.new_key().await;
    let pa = s.project(&a, "a").await;
    let pb = s.project(&b, "b").await;
    s.ok(
        &a,
        "CreateDevice",
        json!({"ProjectId": pa, "DeviceId": "truck_9", "DeviceName": "truck_9",
               "DeviceType": "field", "DeviceToken": "Secret1234567890"}),
    )
    .await;
    let theirs = s
        .call(
            &b,
            "DescribeDeviceInfo",
            json!({"ProjectId": pb, "DeviceId": "truck_9"}),
        )
        .await;
    let none = s
        .call(
            &b,
            "DescribeDeviceInfo",
            json!({"ProjectId": pb, "DeviceId": "truck_0"}),
        )
        .await;
    assert_eq!(
        theirs.err("ResourceNotFound").replace("truck_9", "<id>"),
        none.err("ResourceNotFound").replace("truck_0", "<id>")
    );
    let failed = s
        .ok(
            &b,
            "BatchDeleteDevices",
            json!({"ProjectId": pb, "DeviceIds": ["truck_9"]}),
        )
        .await;
    assert_eq!(failed["FailedDeviceIds"], json!(["truck_9"]));
    s.ok(
        &a,
        "DescribeDeviceInfo",
        json!({"ProjectId": pa, "DeviceId": "truck_9"}),
    )
    .await;
}
