//! Policies under concurrency and odd search words, through the real HTTP server: each ModifyPolicy
//! is one transaction (concurrent adds, removes and sets never lose or mix each other's changes,
//! and a device deleted meanwhile never stays listed), and DescribePolicy's SearchWords is matched
//! as text, with a precise error past its length limit.

mod common;

use common::{Key, Reply, Server};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// A project with remote device `op_1` and field devices `f_0` .. `f_{fields-1}`.
async fn project(s: &Server, key: &Key, fields: usize) -> (String, Vec<String>) {
    let pid = s.project(key, "yard").await;
    let ids: Vec<String> = (0..fields).map(|i| format!("f_{i}")).collect();
    let mut devices: Vec<(String, &str)> = vec![("op_1".into(), "remote")];
    devices.extend(ids.iter().map(|id| (id.clone(), "field")));
    for (id, ty) in devices {
        s.device(key, &pid, &id, ty, "abcd1234ABCD5678").await;
    }
    (pid, ids)
}

fn modify_body(pid: &str, mode: &str, ids: &[String]) -> Value {
    json!({"ProjectId": pid, "RemoteDeviceId": "op_1", "FieldDeviceIds": ids,
           "PolicyMode": "black", "ModifyMode": mode})
}

/// Sends `action` with `body` on a task of its own: started now, answered when awaited.
fn spawn(s: &Arc<Server>, key: &Key, action: &'static str, body: Value) -> JoinHandle<Reply> {
    let (s, key) = (s.clone(), key.clone());
    tokio::spawn(async move { s.call(&key, action, body).await })
}

/// One ModifyPolicy of `mode` per id, each on a task of its own, all started now.
fn one_each(
    s: &Arc<Server>,
    key: &Key,
    pid: &str,
    mode: &str,
    ids: &[String],
) -> Vec<JoinHandle<Reply>> {
    ids.iter()
        .map(|id| {
            spawn(
                s,
                key,
                "ModifyPolicy",
                modify_body(pid, mode, std::slice::from_ref(id)),
            )
        })
        .collect()
}

/// Every answer, in the order the requests were started.
async fn answers(tasks: Vec<JoinHandle<Reply>>) -> Vec<Reply> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("request task"));
    }
    out
}

/// The black list of `op_1` as DescribePolicy shows it (empty when it has none).
async fn listed(s: &Server, key: &Key, pid: &str) -> Vec<String> {
    let r = s
        .ok(
            key,
            "DescribePolicy",
            json!({"ProjectId": pid, "PolicyMode": "black", "PageSize": 100}),
        )
        .await;
    let ids: Vec<String> = r["PolicyInfo"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["RemoteDeviceId"] == "op_1")
        .flat_map(|p| p["FieldDeviceIds"].as_array().unwrap().clone())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    sorted(ids)
}

fn sorted(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_of_one_field_device_each_all_land() {
    let s = Arc::new(Server::unthrottled().await);
    let key = s.new_key().await;
    let (pid, ids) = project(&s, &key, 24).await;
    for _round in 0..3 {
        s.ok(
            &key,
            "BatchDeletePolicy",
            json!({"ProjectId": pid, "RemoteDeviceIds": ["op_1"], "PolicyMode": "black"}),
        )
        .await;
        let tasks = one_each(&s, &key, &pid, "add", &ids);
        for a in answers(tasks).await {
            assert_eq!(a.ok()["FailedInsertIds"], json!([]));
        }
        assert_eq!(listed(&s, &key, &pid).await, sorted(ids.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_and_removes_of_disjoint_ids_all_land() {
    let s = Arc::new(Server::unthrottled().await);
    let key = s.new_key().await;
    let (pid, ids) = project(&s, &key, 24).await;
    let (old, new) = ids.split_at(12);
    for _round in 0..3 {
        s.ok(&key, "ModifyPolicy", modify_body(&pid, "set", old))
            .await;
        let removes = one_each(&s, &key, &pid, "remove", old);
        let adds = one_each(&s, &key, &pid, "add", new);
        for a in answers(removes.into_iter().chain(adds).collect()).await {
            assert_eq!(a.ok()["FailedInsertIds"], json!([]));
            assert_eq!(a.ok()["FailedDeleteIds"], json!([]));
        }
        assert_eq!(listed(&s, &key, &pid).await, sorted(new.to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sets_end_in_exactly_one_of_the_sets() {
    let s = Arc::new(Server::unthrottled().await);
    let key = s.new_key().await;
    let (pid, ids) = project(&s, &key, 9).await;
    // The list starts as [f_0]; half of the sets keep f_0, half drop it: a set that read the list
    // before another one wrote would keep or drop the wrong ids.
    let sets: Vec<Vec<String>> = (1..9)
        .map(|k| {
            let mut set = vec![ids[k].clone()];
            if k % 2 == 0 {
                set.push(ids[0].clone());
            }
            sorted(set)
        })
        .collect();
    for _round in 0..10 {
        s.ok(&key, "ModifyPolicy", modify_body(&pid, "set", &ids[..1]))
            .await;
        let tasks = sets
            .iter()
            .map(|set| spawn(&s, &key, "ModifyPolicy", modify_body(&pid, "set", set)))
            .collect();
        for a in answers(tasks).await {
            a.ok();
        }
        let end = listed(&s, &key, &pid).await;
        assert!(
            sets.contains(&end),
            "the list {end:?} is none of the sets {sets:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_device_deleted_while_it_is_being_added_is_never_left_in_a_list() {
    let s = Arc::new(Server::unthrottled().await);
    let key = s.new_key().await;
    let (pid, ids) = project(&s, &key, 24).await;
    for round in 0..5 {
        if round > 0 {
            for id in &ids {
                s.ok(
                    &key,
                    "CreateDevice",
                    json!({"ProjectId": pid, "DeviceId": id, "DeviceName": id,
                           "DeviceType": "field", "DeviceToken": "abcd1234ABCD5678"}),
                )
                .await;
            }
        }
        let mut tasks = Vec::new();
        for id in &ids {
            tasks.push(spawn(
                &s,
                &key,
                "ModifyPolicy",
                modify_body(&pid, "add", std::slice::from_ref(id)),
            ));
            tasks.push(spawn(
                &s,
                &key,
                "BatchDeleteDevices",
                json!({"ProjectId": pid, "DeviceIds": [id]}),
            ));
        }
        for a in answers(tasks).await {
            // An add before the delete lands (and the delete takes it out of the list); an add
            // after it reports the id in FailedInsertIds. The delete always finds the device.
            let r = a.ok();
            if let Some(failed) = r.get("FailedDeviceIds") {
                assert_eq!(failed, &json!([]));
            }
        }
        // Every field device is gone: none may stay listed, whichever came first.
        assert_eq!(listed(&s, &key, &pid).await, Vec::<String>::new());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_device_deleted_while_its_list_grows_leaves_no_list() {
    let s = Arc::new(Server::unthrottled().await);
    let key = s.new_key().await;
    let (pid, ids) = project(&s, &key, 24).await;
    for round in 0..10 {
        if round > 0 {
            s.ok(
                &key,
                "CreateDevice",
                json!({"ProjectId": pid, "DeviceId": "op_1", "DeviceName": "op_1",
                       "DeviceType": "remote", "DeviceToken": "abcd1234ABCD5678"}),
            )
            .await;
        }
        let mut tasks: Vec<JoinHandle<Reply>> = one_each(&s, &key, &pid, "add", &ids);
        tasks.insert(
            round,
            spawn(
                &s,
                &key,
                "BatchDeleteDevices",
                json!({"ProjectId": pid, "DeviceIds": ["op_1"]}),
            ),
        );
        for a in answers(tasks).await {
            match a.code() {
                // An add after the delete: the remote device does not exist any more.
                Some(_) => {
                    a.err_naming("ResourceNotFound", "op_1");
                }
                None => {
                    if let Some(failed) = a.ok().get("FailedDeviceIds") {
                        assert_eq!(failed, &json!([]));
                    }
                }
            }
        }
        // The remote device is gone: so is its list, whichever came first.
        assert_eq!(listed(&s, &key, &pid).await, Vec::<String>::new());
    }
}
