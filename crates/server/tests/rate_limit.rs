//! Rate limits per (account, action) in one-second windows (docs/api.md §2.11, docs/protocol.md §6.3):
//! 20/s by default, 50/s for CreateDevice, answered with `RequestLimitExceeded` and the vendor's message.
//!
//! Bursts are fired concurrently just after the start of a limiter window; an attempt whose requests
//! could have straddled two windows is discarded and retried (with fresh accounts), so the assertions
//! are exact and the tests deterministic.

mod common;

use common::*;
use serde_json::json;
use std::time::SystemTime;

const ATTEMPTS: usize = 4;

fn limit_message(count: u64, limit: u64) -> String {
    format!("Your current request times equals to `{count}` in a second, which exceeds the frequency limit `{limit}` for a second. Please reduce the frequency of calls.")
}

/// Send all requests at once; the replies in completion order.
async fn burst(requests: Vec<Tc3>) -> Vec<Reply> {
    let mut set = tokio::task::JoinSet::new();
    for r in requests {
        set.spawn(async move { r.send().await });
    }
    let mut out = Vec::new();
    while let Some(reply) = set.join_next().await {
        out.push(reply.expect("request task"));
    }
    out
}

/// Check a burst against a limit: exactly `limit` successes, the rest `RequestLimitExceeded` with the
/// vendor's message counting on from `limit + 1`.
fn assert_limited(replies: &[Reply], limit: u64) {
    let ok = replies.iter().filter(|r| r.code().is_none()).count() as u64;
    let mut limited: Vec<String> = replies
        .iter()
        .filter(|r| r.code().is_some())
        .map(|r| r.err("RequestLimitExceeded").to_owned())
        .collect();
    assert_eq!(ok, limit, "successes in one window");
    assert_eq!(limited.len() as u64, replies.len() as u64 - limit);
    limited.sort();
    let mut expected: Vec<String> = (limit + 1..=replies.len() as u64)
        .map(|n| limit_message(n, limit))
        .collect();
    expected.sort();
    assert!(
        limited.contains(&limit_message(limit + 1, limit)),
        "the first refused request reports `{}`: {limited:?}",
        limit + 1
    );
    assert_eq!(limited, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn default_limit_is_20_per_second_per_account_and_action() {
    let s = Server::start().await;
    for _ in 0..ATTEMPTS {
        let a = s.new_key().await;
        let b = s.new_key().await;
        s.sleep_to_window_start().await;
        let from = SystemTime::now();
        let replies = burst(
            (0..25)
                .map(|_| {
                    s.tc3(&a, "DescribeProjectList", json!({}))
                        .language("en-US")
                })
                .collect(),
        )
        .await;
        // In the same window: another action of the same account, and the same action of another
        // account, are not throttled; the throttled pair still is.
        let other_action = s
            .call(&a, "CreateProject", json!({"ProjectName": "p"}))
            .await;
        let other_account = s.call(&b, "DescribeProjectList", json!({})).await;
        let again = s.call(&a, "DescribeProjectList", json!({})).await;
        if !s.same_window(from, SystemTime::now()) {
            eprintln!(
                "burst took {:?}, may have straddled two windows; retrying",
                from.elapsed().unwrap_or_default()
            );
            continue;
        }
        assert_limited(&replies, 20);
        other_action.ok();
        other_account.ok();
        again.err("RequestLimitExceeded");

        // The next window starts afresh.
        s.sleep_to_window_start().await;
        let next = s.call(&a, "DescribeProjectList", json!({})).await;
        assert_eq!(next.ok()["Total"], 1);
        return;
    }
    panic!("no burst fitted in one one-second window in {ATTEMPTS} attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_device_allows_50_per_second() {
    let s = Server::start().await;
    for attempt in 0..ATTEMPTS {
        let a = s.new_key().await;
        let project = s.project(&a, "fleet").await;
        s.sleep_to_window_start().await;
        let from = SystemTime::now();
        let replies = burst(
            (0..55)
                .map(|i| {
                    s.tc3(
                        &a,
                        "CreateDevice",
                        json!({
                            "ProjectId": project,
                            "DeviceId": format!("truck_{attempt}_{i}"),
                            "DeviceName": format!("truck_{i}"),
                            "DeviceType": "field",
                            "DeviceToken": "abcdefgh12345678",
                        }),
                    )
                    .language("en-US")
                })
                .collect(),
        )
        .await;
        if !s.same_window(from, SystemTime::now()) {
            eprintln!(
                "burst took {:?}, may have straddled two windows; retrying",
                from.elapsed().unwrap_or_default()
            );
            continue;
        }
        assert_limited(&replies, 50);
        let list = s
            .ok(
                &a,
                "DescribeDeviceList",
                json!({"ProjectId": project, "PageSize": 100}),
            )
            .await;
        assert_eq!(list["Total"], 50, "exactly the accepted devices exist");
        return;
    }
    panic!("no burst fitted in one one-second window in {ATTEMPTS} attempts");
}
