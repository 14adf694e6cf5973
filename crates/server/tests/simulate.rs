//! `teleoscope simulate` end to end: the real server in process (wall clock), the simulator driving two
//! device pairs over HTTP for a few seconds, then everything checked through the API: the sessions,
//! their two devices, every metric array aligned with `TimeOffset`, and the summary's counts.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;
use teleoscope_fleet::simulate::{self, SimConfig};

fn config(s: &Server, key: &Key, project: &str, secs: u64, seed: u64) -> SimConfig {
    let mut cfg = SimConfig::new(
        &format!("http://{}", s.host),
        &key.secret_id,
        &key.secret_key,
        project,
    );
    cfg.pairs = 2;
    cfg.duration = Some(Duration::from_secs(secs));
    cfg.interval_s = 1;
    cfg.batch = 1;
    cfg.seed = seed;
    cfg
}

fn len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pairs_report_aligned_sessions_and_a_rerun_takes_the_devices_over() {
    let s = Server::start_with(Options {
        system_clock: true,
        ..Options::default()
    })
    .await;
    let key = s.new_key().await;
    let project = s.project(&key, "simulated").await;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(simulate::run(config(&s, &key, &project, 6, 7), stop_rx));

    // Live: the sessions show up in the recent list within seconds of starting (polled, so that a
    // busy machine does not fail it; the run lasts 6 s).
    let started = std::time::Instant::now();
    let recent = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let recent = s
            .ok(
                &key,
                "DescribeRecentSessionList",
                json!({"ProjectId": project, "PageNumber": 1, "PageSize": 100}),
            )
            .await;
        if recent["Total"].as_i64().unwrap() >= 2 || started.elapsed() > Duration::from_secs(4) {
            break recent;
        }
    };
    assert!(
        recent["Total"].as_i64().unwrap() >= 2,
        "both pairs are in a session: {recent}"
    );

    let summary = run.await.unwrap().unwrap();
    drop(stop_tx);
    assert_eq!(summary.errors, Default::default(), "{summary}");
    assert_eq!(summary.devices_created, 4, "{summary}");
    assert!(summary.sessions_started >= 2, "{summary}");
    assert_eq!(
        summary.sessions_ended, summary.sessions_started,
        "{summary}"
    );
    assert_eq!(summary.samples_duplicates, 0, "{summary}");
    assert_eq!(
        summary.samples_accepted, summary.samples_generated,
        "{summary}"
    );
    assert!(summary.elapsed >= Duration::from_secs(6));

    let devices = s
        .ok(
            &key,
            "DescribeDeviceList",
            json!({"ProjectId": project, "PageNumber": 1, "PageSize": 100}),
        )
        .await;
    let mut ids: Vec<&str> = devices["Devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["DeviceId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["sim_field_1", "sim_field_2", "sim_remote_1", "sim_remote_2"]
    );

    let list = s
        .ok(
            &key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": project, "PageNumber": 1, "PageSize": 100}),
        )
        .await;
    let sessions = list["DeviceSessionList"].as_array().unwrap();
    assert_eq!(
        list["Total"].as_u64().unwrap(),
        summary.sessions_started,
        "{list}"
    );
    let mut stored_samples = 0;
    for info in sessions {
        let id = info["SessionId"].as_str().unwrap();
        let (field, remote) = (
            info["FieldDeviceId"].as_str().unwrap(),
            info["RemoteDeviceId"].as_str().unwrap(),
        );
        assert_eq!(
            field.strip_prefix("sim_field_"),
            remote.strip_prefix("sim_remote_"),
            "a pair's devices: {info}"
        );
        let (uuid, n) = id.split_at(36);
        assert!(is_uuid_v4(uuid), "{id}");
        assert!(
            n.strip_prefix('-').unwrap().parse::<u32>().unwrap() >= 1,
            "{id}"
        );
        assert!(!info["Resolution"].as_str().unwrap().is_empty());
        assert!(info["EndTime"].as_i64().unwrap() >= info["StartTime"].as_i64().unwrap());

        let details = s
            .ok(
                &key,
                "DescribeDeviceSessionDetails",
                json!({ "SessionId": id }),
            )
            .await;
        let details = details["Details"].as_array().unwrap();
        assert_eq!(details.len(), 2, "both devices reported {id}");
        assert_eq!(details[0]["DeviceType"], "field");
        assert_eq!(details[0]["DeviceId"], field);
        assert_eq!(details[1]["DeviceType"], "remote");
        assert_eq!(details[1]["DeviceId"], remote);
        assert_eq!(details[0]["MultiMode"], 1);
        assert_eq!(details[0]["Ver"], "2.4");
        for d in details {
            let n = len(&d["TimeOffset"]);
            assert!(n >= 2, "{id}: {} samples", n);
            stored_samples += n as u64;
            let offsets: Vec<i64> = d["TimeOffset"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(offsets[0], 0);
            assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");
            assert_eq!(d["NetworkLatency"][0], -1, "unknown at first");
            let reported: &[&str] = if d["DeviceType"] == "field" {
                &[
                    "Rate",
                    "Fps",
                    "Lost",
                    "NetworkLatency",
                    "CpuUsed",
                    "MemUsed",
                    "EncodeCost",
                    "CaptureCost",
                    "BitRateEstimate",
                    "TotalBitrateEstimate",
                    "FrameDelta",
                    "MaxFrameDelta",
                    "NACK",
                ]
            } else {
                &[
                    "Rate",
                    "Fps",
                    "Lost",
                    "NetworkLatency",
                    "VideoLatency",
                    "CpuUsed",
                    "MemUsed",
                    "DecodeCost",
                    "RenderCost",
                    "K100",
                    "K150",
                    "NACK",
                    "FrameDelta",
                    "MaxFrameDelta",
                    "Lag100Duration",
                    "Lag150Duration",
                ]
            };
            for (name, v) in d.as_object().unwrap() {
                if let Value::Array(a) = v {
                    if name == "MultiNet" {
                        continue;
                    }
                    let expected = if reported.contains(&name.as_str()) || name == "TimeOffset" {
                        n
                    } else {
                        0
                    };
                    assert_eq!(a.len(), expected, "{id} {}: {name}", d["DeviceType"]);
                }
            }
            let nets = d["MultiNet"].as_array().unwrap();
            if d["DeviceType"] == "field" {
                assert_eq!(nets.len(), 2);
                for (i, net) in nets.iter().enumerate() {
                    assert_eq!(net["NetId"], i as i64);
                    for m in ["Rtt", "Lost", "SendBps", "RecvBps"] {
                        assert_eq!(len(&net[m]), n, "{id} link {i} {m}");
                    }
                }
            } else {
                assert!(nets.is_empty());
            }
        }
        // The sessions are short (2-3 s), so the remote joins at once: the two parts line up.
        assert_eq!(details[0]["TimeOffset"], details[1]["TimeOffset"], "{id}");
    }
    assert_eq!(stored_samples, summary.samples_accepted);

    // A re-run against the same project takes the existing devices over with fresh tokens.
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let again = simulate::run(config(&s, &key, &project, 2, 8), stop_rx)
        .await
        .unwrap();
    assert_eq!(again.errors, Default::default(), "{again}");
    assert_eq!((again.devices_created, again.devices_rekeyed), (0, 4));
    assert!(again.sessions_started >= 2 && again.sessions_ended == again.sessions_started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_by_code_not_dropped() {
    let s = Server::start_with(Options {
        system_clock: true,
        ..Options::default()
    })
    .await;
    let key = s.new_key().await;
    let project = s.project(&key, "simulated").await;
    // Devices the simulator is handed with wrong tokens: every device call fails authentication.
    for (id, ty) in [("f1", "field"), ("r1", "remote")] {
        s.ok(
            &key,
            "CreateDevice",
            json!({"ProjectId": project, "DeviceId": id, "DeviceName": id, "DeviceType": ty,
                   "DeviceToken": "abcdefgh12345678"}),
        )
        .await;
    }
    let mut cfg = config(&s, &key, &project, 2, 1);
    cfg.devices = Some(vec![simulate::SimPair {
        field_id: "f1".into(),
        field_token: "wrongwrongwrong1".into(),
        remote_id: "r1".into(),
        remote_token: "wrongwrongwrong2".into(),
    }]);
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let summary = simulate::run(cfg, stop_rx).await.unwrap();
    assert!(summary.error_count() > 0, "{summary}");
    assert_eq!(summary.errors.len(), 1, "one code: {summary}");
    let code = summary.errors.keys().next().unwrap();
    assert!(code.starts_with("AuthFailure"), "{summary}");
    assert_eq!(summary.samples_accepted, 0);
    assert_eq!(summary.samples_rejected, summary.samples_generated);
    assert_eq!(summary.sessions_ended, 0);
}
