//! The extension actions the web console uses (docs/api.md §8), through the real HTTP server:
//! DescribeSessionQuality finds exactly the bad stretches a device reported (stalls, a loss burst, a
//! bonded link going down) with their times and peaks, and the vendor's example session's incidents
//! are the spikes behind its grade; DescribeSessions' filters and paging and DescribeFleetOverview's
//! mix, worst sessions and devices equal a direct computation over the stored sessions; a foreign id
//! looks missing; a bad filter value is named with what is allowed.

mod common;

use common::{Key, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use teleoscope_server::model::sessions::SessionRow;
use teleoscope_server::model::AccountId;

/// A project with these devices (id, type); their device keys by id.
async fn project_with(
    s: &Server,
    key: &Key,
    devices: &[(&str, &str)],
) -> (String, BTreeMap<String, Key>) {
    let pid = s
        .ok(key, "CreateProject", json!({"ProjectName": "fleet"}))
        .await["ProjectId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut keys = BTreeMap::new();
    for (i, (id, ty)) in devices.iter().enumerate() {
        let token = format!("{:0>16}", 1000 + i);
        s.ok(
            key,
            "CreateDevice",
            json!({"ProjectId": pid, "DeviceId": id, "DeviceName": id, "DeviceType": ty, "DeviceToken": token}),
        )
        .await;
        keys.insert(
            id.to_string(),
            Key {
                account_id: key.account_id.clone(),
                secret_id: format!("{pid}:{id}"),
                secret_key: token,
            },
        );
    }
    (pid, keys)
}

fn report(session: &str, peer: &str, start: i64, samples: Vec<Value>, last: bool) -> Value {
    json!({"SessionId": session, "PeerDeviceId": peer, "StartTime": start, "Width": 1280, "Height": 720,
           "MultiMode": 1, "Samples": samples, "Final": last})
}

/// One incident as (DeviceType, Kind, NetId, StartTime, EndTime, Peak).
fn incidents(r: &Value) -> Vec<(String, String, i64, i64, i64, f64)> {
    r["Incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["DeviceType"].as_str().unwrap().to_owned(),
                i["Kind"].as_str().unwrap().to_owned(),
                i["NetId"].as_i64().unwrap(),
                i["StartTime"].as_i64().unwrap(),
                i["EndTime"].as_i64().unwrap(),
                i["Peak"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn texts(r: &Value) -> Vec<String> {
    r["Incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Text"].as_str().unwrap().to_owned())
        .collect()
}

fn inc(
    dt: &str,
    kind: &str,
    net: i64,
    start: i64,
    end: i64,
    peak: f64,
) -> (String, String, i64, i64, i64, f64) {
    (dt.into(), kind.into(), net, start, end, peak)
}

#[tokio::test]
async fn session_quality_lists_exactly_the_bad_stretches_with_their_times_and_peaks() {
    // A configured latency budget and a stricter video threshold come back as configured.
    let s = Server::unthrottled_with(|c| {
        c.latency_budget_ms = 120;
        c.quality.video_latency_normal_ms = 100.0;
    })
    .await;
    let key = s.new_key().await;
    let (pid, dev) = project_with(&s, &key, &[("truck_1", "field"), ("desk_1", "remote")]).await;
    let t0 = s.now() - 600;

    // Field: 21 samples (0..40 s), two bonded links. A loss burst at 10-14 s (8, 25, 12 %: over the
    // 5 % threshold); NIC 1 loses its RTT and its traffic at 20-26 s while NIC 0 carries on.
    let field: Vec<Value> = (0..21)
        .map(|k| {
            let o = 2 * k;
            let lost = match o {
                10 => 8.0,
                12 => 25.0,
                14 => 12.0,
                16 => 5.0, // at the threshold: not over it
                _ => 0.0,
            };
            let nic1_down = (20..=26).contains(&o);
            json!({"TimeOffset": o, "Fps": 20, "Lost": lost, "NetworkLatency": 40,
                   "MultiNet": [
                       {"NetId": 0, "NetIp": "10.0.0.2", "Rtt": 50, "Lost": 0, "SendBps": 900, "RecvBps": 40},
                       {"NetId": 1, "NetIp": "10.0.1.2", "Rtt": if nic1_down { 0 } else { 60 }, "Lost": 0,
                        "SendBps": if nic1_down { 0 } else { 300 }, "RecvBps": if nic1_down { 0 } else { 20 }}]})
        })
        .collect();
    // Remote, starting a second later: stalls at 30 and 32 s (400 and 120 ms), video latency 90 ms.
    let remote: Vec<Value> = (0..21)
        .map(|k| {
            let o = 2 * k;
            let lag = match o {
                30 => 400,
                32 => 120,
                _ => 0,
            };
            json!({"TimeOffset": o, "Fps": 20, "VideoLatency": 90, "Lag150Duration": lag})
        })
        .collect();
    // In two batches each, so the incidents span the chunks.
    for (part, peer, start, samples) in [
        ("truck_1", "desk_1", t0, field),
        ("desk_1", "truck_1", t0 + 1, remote),
    ] {
        let (a, b) = samples.split_at(9);
        s.ok(
            &dev[part],
            "ReportSessionMetrics",
            report("inc-1", peer, start, a.to_vec(), false),
        )
        .await;
        s.ok(
            &dev[part],
            "ReportSessionMetrics",
            report("inc-1", peer, start, b.to_vec(), true),
        )
        .await;
    }
    s.domain.upkeep().await.unwrap();

    let r = s
        .ok(
            &key,
            "DescribeSessionQuality",
            json!({"SessionId": "inc-1"}),
        )
        .await;
    assert_eq!(
        incidents(&r),
        vec![
            inc("field", "loss", -1, t0 + 8, t0 + 14, 25.0),
            inc("field", "link_down", 1, t0 + 18, t0 + 26, 8.0),
            inc("remote", "stall", -1, t0 + 1 + 28, t0 + 1 + 32, 400.0),
        ]
    );
    assert_eq!(
        texts(&r),
        vec![
            "field packet loss up to 25.0% for 6 s",
            "field NIC 1 down for 8 s (NIC 0 carried the stream)",
            "remote stalled 520 ms in 4 s",
        ]
    );
    // The grade: 520 ms stalled over 42 s is 1.2 %, normal; the loss averages 2.4 %, good.
    assert_eq!(
        (
            r["SessionId"].as_str(),
            r["ProjectId"].as_str(),
            r["Quality"].as_str(),
            r["QualityFinal"].as_bool()
        ),
        (
            Some("inc-1"),
            Some(pid.as_str()),
            Some("normal"),
            Some(true)
        )
    );
    assert_eq!(
        r["Reasons"],
        json!([{"DeviceType": "remote", "Grade": "normal", "Metric": "Lag150Duration",
                "Text": "remote stalled 1.2% of the time"}])
    );
    assert_eq!(r["LatencyBudgetMs"], 120);
    let thresholds: BTreeMap<&str, &Value> = r["Thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["Metric"].as_str().unwrap(), t))
        .collect();
    assert_eq!(
        *thresholds["VideoLatency"],
        json!({"Metric": "VideoLatency", "Normal": 100, "Bad": 225, "Unit": "ms", "Direction": "above"})
    );
    assert_eq!(
        *thresholds["Fps"],
        json!({"Metric": "Fps", "Normal": 15, "Bad": 10, "Unit": "fps", "Direction": "below"})
    );
    assert_eq!(thresholds["Lag150Duration"]["Normal"], 1);
    assert_eq!(thresholds["MultiNet.Rtt"]["Bad"], 400);
    assert_eq!(thresholds["MultiNet.Lost"]["Unit"], "%");
    for metric in ["K150", "ControlLatency", "NetworkLatency", "Lost"] {
        assert!(thresholds.contains_key(metric), "{metric}");
    }
    // The same grade as the vendor's list says.
    let listed = s
        .ok(
            &key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": pid, "PageNumber": 1, "PageSize": 10}),
        )
        .await;
    assert_eq!(listed["DeviceSessionList"][0]["Quality"], "normal");
}

/// The vendor's example session, imported as `teleoscope import` does: graded `normal` for the field
/// device's network latency and NIC 1's RTT (docs/quality.md), its incidents are exactly the two
/// spikes of each (6 s and 22 s into the field part) and the remote's three short stalls.
#[tokio::test]
async fn the_example_sessions_incidents_are_the_spikes_behind_its_grade() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, _) = project_with(&s, &key, &[]).await;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/describe-device-session-details.json");
    teleoscope_server::cli::import::run(&s.domain, &pid, &[fixture])
        .await
        .unwrap();
    let id = "c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1";
    let r = s
        .ok(&key, "DescribeSessionQuality", json!({"SessionId": id}))
        .await;
    assert_eq!(
        (r["Quality"].as_str(), r["QualityFinal"].as_bool()),
        (Some("normal"), Some(true))
    );
    let metrics: Vec<&str> = r["Reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Metric"].as_str().unwrap())
        .collect();
    assert_eq!(metrics, vec!["NetworkLatency", "MultiNet.Rtt"]);
    let (f, rm) = (1_731_399_569, 1_731_399_572);
    assert_eq!(
        incidents(&r),
        vec![
            inc("remote", "stall", -1, rm, rm + 2, 219.0),
            inc("field", "network_latency", -1, f + 4, f + 6, 326.0),
            inc("field", "link_rtt", 1, f + 4, f + 6, 262.0),
            inc("field", "network_latency", -1, f + 20, f + 22, 503.0),
            inc("field", "link_rtt", 1, f + 20, f + 22, 265.0),
            inc("remote", "stall", -1, rm + 38, rm + 40, 45.0),
            inc("remote", "stall", -1, rm + 44, rm + 46, 3.0),
        ]
    );
    assert_eq!(texts(&r)[1], "field network latency up to 326 ms for 2 s");
    assert_eq!(r["LatencyBudgetMs"], 150);
    // DescribeSessions shows the same grade and reasons.
    let listed = s
        .ok(&key, "DescribeSessions", json!({"ProjectId": pid}))
        .await;
    assert_eq!(listed["Sessions"][0]["Reasons"], r["Reasons"]);
    assert_eq!(listed["Sessions"][0]["Quality"], "normal");
    assert_eq!(listed["Sessions"][0]["MultiMode"], 1);
    assert_eq!(listed["Sessions"][0]["Resolution"], "1280*720");
}

/// 24 sessions between two field and two remote devices, graded by design (`KINDS`), some still live,
/// some starting at the same second. Returns the project, its devices and the stored rows.
const KINDS: [&str; 6] = [
    "good",
    "normal video",
    "bad video",
    "normal loss",
    "bad link",
    "live good",
];

async fn fleet(s: &Server, key: &Key) -> (String, Vec<SessionRow>) {
    let (pid, dev) = project_with(
        s,
        key,
        &[
            ("truck_1", "field"),
            ("truck_2", "field"),
            ("desk_1", "remote"),
            ("desk_2", "remote"),
        ],
    )
    .await;
    let base = s.now() - 20_000;
    let mut ids = Vec::new();
    for i in 0..24usize {
        let id = format!("f-{i:02}");
        let field = format!("truck_{}", (i / 3) % 2 + 1);
        let remote = format!("desk_{}", (i / 2) % 2 + 1);
        // i and i + 12 start at the same second.
        let start = base + ((i * 5) % 12) as i64 * 600;
        let kind = i % 6;
        let live = kind == 5 || i == 1;
        let field_samples: Vec<Value> = (0..4)
            .map(|k| {
                json!({"TimeOffset": 2 * k, "Fps": 20, "Lost": if kind == 3 { 10 } else { 0 },
                       "MultiNet": [{"NetId": 0, "Rtt": if kind == 4 { 500 } else { 40 },
                                     "Lost": if kind == 4 { 10 } else { 0 },
                                     "SendBps": 900, "RecvBps": 40}]})
            })
            .collect();
        let remote_samples: Vec<Value> = (0..4)
            .map(|k| {
                let video = match kind {
                    1 => 180,
                    2 => 300,
                    _ => 80,
                };
                json!({"TimeOffset": 2 * k, "Fps": 20, "VideoLatency": video,
                       "NetworkLatency": if kind == 4 { 200 } else { 20 }})
            })
            .collect();
        s.ok(
            &dev[&field],
            "ReportSessionMetrics",
            report(&id, &remote, start, field_samples, !live),
        )
        .await;
        s.ok(
            &dev[&remote],
            "ReportSessionMetrics",
            report(&id, &field, start + (i % 3) as i64, remote_samples, !live),
        )
        .await;
        ids.push(id);
    }
    s.domain.upkeep().await.unwrap();
    let account = AccountId(key.account_id.clone());
    let mut rows = Vec::new();
    for id in &ids {
        rows.push(
            s.domain
                .store
                .session_samples(&account, id, None, None)
                .await
                .unwrap()
                .unwrap()
                .session,
        );
    }
    // The grades came out as designed.
    for (i, row) in rows.iter().enumerate() {
        let want = match i % 6 {
            0 | 5 => "good",
            1 | 3 => "normal",
            _ => "bad",
        };
        assert_eq!(
            row.quality.as_str(),
            want,
            "{} ({})",
            row.session_id,
            KINDS[i % 6]
        );
        assert_eq!(row.live, i % 6 == 5 || i == 1, "{}", row.session_id);
    }
    (pid, rows)
}

fn metrics_of(row: &SessionRow) -> Vec<String> {
    row.reasons.iter().map(|r| r.metric.clone()).collect()
}

/// Newest start first, ties by SessionId.
fn newest_first(mut rows: Vec<&SessionRow>) -> Vec<String> {
    rows.sort_by(|a, b| {
        b.start_time
            .cmp(&a.start_time)
            .then(a.session_id.cmp(&b.session_id))
    });
    rows.iter().map(|r| r.session_id.clone()).collect()
}

/// Every page of DescribeSessions for `filter` (page size 5), each item checked against its row:
/// (the Total every page gave, the ids in order).
async fn list_all(
    s: &Server,
    key: &Key,
    filter: &Value,
    rows: &[SessionRow],
) -> (i64, Vec<String>) {
    let by_id: BTreeMap<&str, &SessionRow> =
        rows.iter().map(|r| (r.session_id.as_str(), r)).collect();
    let mut ids = Vec::new();
    let mut totals = Vec::new();
    for page in 1.. {
        let mut body = filter.clone();
        body["PageNumber"] = json!(page);
        body["PageSize"] = json!(5);
        let r = s.ok(key, "DescribeSessions", body).await;
        let items = r["Sessions"].as_array().unwrap();
        assert_eq!(r["Num"].as_u64(), Some(items.len() as u64));
        totals.push(r["Total"].as_i64().unwrap());
        for item in items {
            let row = by_id[item["SessionId"].as_str().unwrap()];
            // The stored reasons as the store's own JSON has them.
            let reasons = serde_json::to_value(&row.reasons).unwrap();
            let reasons: Vec<Value> = reasons
                .as_array()
                .unwrap()
                .iter()
                .map(|r| json!({"DeviceType": r["device_type"], "Grade": r["grade"], "Metric": r["metric"], "Text": r["text"]}))
                .collect();
            assert_eq!(
                *item,
                json!({"SessionId": row.session_id, "FieldDeviceId": row.field_device_id,
                       "RemoteDeviceId": row.remote_device_id, "StartTime": row.start_time,
                       "EndTime": row.end_time, "Duration": row.end_time - row.start_time,
                       "Resolution": "1280*720", "MultiMode": 1, "Quality": row.quality,
                       "QualityFinal": row.quality_final, "Live": row.live, "Reasons": reasons})
            );
            ids.push(row.session_id.clone());
        }
        if items.is_empty() {
            break;
        }
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]), "{totals:?}");
    (totals[0], ids)
}

#[tokio::test]
async fn describe_sessions_filters_and_pages_like_a_direct_computation() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, rows) = fleet(&s, &key).await;
    let base = rows.iter().map(|r| r.start_time).min().unwrap();
    type Keep = Box<dyn Fn(&SessionRow) -> bool>;
    let has =
        |metric: &'static str| move |r: &SessionRow| metrics_of(r).iter().any(|m| m == metric);
    // Each filter, the rows it keeps, and how many that is by the fleet's design.
    let cases: Vec<(Value, Keep, usize)> = vec![
        (json!({}), Box::new(|_| true), 24),
        (
            json!({"Quality": "bad"}),
            Box::new(|r| r.quality.as_str() == "bad"),
            8,
        ),
        (
            json!({"Quality": "normal"}),
            Box::new(|r| r.quality.as_str() == "normal"),
            8,
        ),
        (
            json!({"Quality": "good", "Live": false}),
            Box::new(|r| r.quality.as_str() == "good" && !r.live),
            4,
        ),
        (json!({"Live": true}), Box::new(|r| r.live), 5),
        (json!({"Live": "False"}), Box::new(|r| !r.live), 19),
        (
            json!({"Reason": "VideoLatency"}),
            Box::new(has("VideoLatency")),
            8,
        ),
        (
            json!({"Reason": "MultiNet.Rtt"}),
            Box::new(has("MultiNet.Rtt")),
            4,
        ),
        // Exactly the metric: `Lost` is not `MultiNet.Lost` (the bad-link sessions have the latter).
        (json!({"Reason": "Lost"}), Box::new(has("Lost")), 4),
        (
            json!({"Reason": "MultiNet.Lost"}),
            Box::new(has("MultiNet.Lost")),
            4,
        ),
        (json!({"Reason": "K150"}), Box::new(|_| false), 0),
        (
            json!({"Reason": "NetworkLatency", "Quality": "normal"}),
            Box::new(|_| false),
            0,
        ),
        (
            json!({"DeviceId": "truck_2"}),
            Box::new(|r| r.field_device_id == "truck_2"),
            12,
        ),
        (
            json!({"DeviceId": "desk_1", "Quality": "bad", "Live": false}),
            Box::new(|r| r.remote_device_id == "desk_1" && r.quality.as_str() == "bad" && !r.live),
            4,
        ),
        (
            json!({"StartTime": base + 1800, "EndTime": base + 3 * 600}),
            Box::new(move |r| r.end_time >= base + 1800 && r.start_time <= base + 1800),
            2,
        ),
        // By start (a statistics bucket's sessions): the sessions running into the window from
        // before it are not listed.
        (
            json!({"StartTime": base + 1205, "EndTime": base + 4000}),
            Box::new(move |r| r.end_time >= base + 1205 && r.start_time <= base + 4000),
            10,
        ),
        (
            json!({"StartTime": base + 1205, "EndTime": base + 4000, "ByStart": true}),
            Box::new(move |r| r.start_time >= base + 1205 && r.start_time <= base + 4000),
            8,
        ),
        (
            json!({"StartTime": base + 1205, "EndTime": base + 4000, "Reason": "Lost", "DeviceId": ""}),
            Box::new(move |r| {
                r.end_time >= base + 1205 && r.start_time <= base + 4000 && has("Lost")(r)
            }),
            2,
        ),
    ];
    for (filter, keep, designed) in cases {
        let mut body = filter.clone();
        body["ProjectId"] = json!(pid);
        let expected = newest_first(rows.iter().filter(|r| keep(r)).collect());
        assert_eq!(expected.len(), designed, "{filter}");
        let (total, ids) = list_all(&s, &key, &body, &rows).await;
        assert_eq!(
            (total as usize, &ids),
            (expected.len(), &expected),
            "{filter}"
        );
    }
    // Defaults: the first page of 10.
    let r = s
        .ok(&key, "DescribeSessions", json!({"ProjectId": pid}))
        .await;
    assert_eq!(
        (r["Total"].as_i64(), r["Num"].as_i64()),
        (Some(24), Some(10))
    );
}

#[tokio::test]
async fn fleet_overview_equals_a_direct_count() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, rows) = fleet(&s, &key).await;
    let base = rows.iter().map(|r| r.start_time).min().unwrap();
    let rank = |q: &str| match q {
        "bad" => 0,
        "normal" => 1,
        _ => 2,
    };
    for (from, to) in [
        (None, None),
        (Some(base + 600), Some(base + 6 * 600)),
        (Some(base + 1), Some(base + 2)),
    ] {
        let mut body = json!({"ProjectId": pid});
        if let (Some(f), Some(t)) = (from, to) {
            body["StartTime"] = json!(f);
            body["EndTime"] = json!(t);
        }
        let r = s.ok(&key, "DescribeFleetOverview", body.clone()).await;
        let inside: Vec<&SessionRow> = rows
            .iter()
            .filter(|r| {
                from.is_none_or(|f| r.start_time >= f) && to.is_none_or(|t| r.start_time <= t)
            })
            .collect();
        let count = |q: &str| inside.iter().filter(|r| r.quality.as_str() == q).count();
        assert_eq!(
            (r["SessionNum"].as_u64(), &r["QualityMix"]),
            (
                Some(inside.len() as u64),
                &json!({"Good": count("good"), "Normal": count("normal"), "Bad": count("bad")})
            ),
            "{body}"
        );
        // SessionNum is DescribeSessionStatistics' for the same window.
        let stats = s.ok(&key, "DescribeSessionStatistics", body.clone()).await;
        assert_eq!(stats["SessionNum"], r["SessionNum"], "{body}");

        let mut worst = inside.clone();
        worst.sort_by(|a, b| {
            rank(a.quality.as_str())
                .cmp(&rank(b.quality.as_str()))
                .then(metrics_of(b).len().cmp(&metrics_of(a).len()))
                .then(b.start_time.cmp(&a.start_time))
                .then(a.session_id.cmp(&b.session_id))
        });
        let expected: Vec<&str> = worst
            .iter()
            .take(10)
            .map(|r| r.session_id.as_str())
            .collect();
        let listed: Vec<&str> = r["WorstSessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["SessionId"].as_str().unwrap())
            .collect();
        assert_eq!(listed, expected, "{body}");

        let mut devices: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for row in &inside {
            for (ty, id) in [
                ("field", &row.field_device_id),
                ("remote", &row.remote_device_id),
            ] {
                let e = devices.entry((ty.to_owned(), id.clone())).or_default();
                e.1 += 1;
                e.0 += u64::from(row.quality.as_str() == "bad");
            }
        }
        let mut expected: Vec<Value> = devices
            .iter()
            .filter(|(_, (bad, _))| *bad > 0)
            .map(|((ty, id), (bad, all))| json!({"DeviceId": id, "DeviceType": ty, "BadSessions": bad, "Sessions": all}))
            .collect();
        expected.sort_by(|a, b| {
            b["BadSessions"]
                .as_u64()
                .cmp(&a["BadSessions"].as_u64())
                .then(a["DeviceType"].as_str().cmp(&b["DeviceType"].as_str()))
                .then(a["DeviceId"].as_str().cmp(&b["DeviceId"].as_str()))
        });
        expected.truncate(10);
        assert_eq!(r["DevicesWithMostBadSessions"], json!(expected), "{body}");
    }
    // The whole fleet: 8 bad sessions fill the worst list first (the three-reason ones first), then
    // the newest two of the 8 normal ones.
    let r = s
        .ok(&key, "DescribeFleetOverview", json!({"ProjectId": pid}))
        .await;
    let grades: Vec<&str> = r["WorstSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Quality"].as_str().unwrap())
        .collect();
    assert_eq!(grades, [["bad"; 8].as_slice(), &["normal"; 2]].concat());
    assert_eq!(
        r["WorstSessions"][0]["Reasons"].as_array().unwrap().len(),
        3
    );
    assert_eq!(r["DevicesWithMostBadSessions"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_foreign_session_or_project_looks_missing() {
    let s = Server::unthrottled().await;
    let (a, b) = (s.new_key().await, s.new_key().await);
    let (pid, dev) = project_with(&s, &a, &[("truck_1", "field"), ("desk_1", "remote")]).await;
    let samples: Vec<Value> = (0..3)
        .map(|k| json!({"TimeOffset": 2 * k, "Fps": 20}))
        .collect();
    s.ok(
        &dev["truck_1"],
        "ReportSessionMetrics",
        report("mine", "desk_1", s.now() - 60, samples, true),
    )
    .await;
    let (other_pid, _) = project_with(&s, &b, &[]).await;
    s.ok(&a, "DescribeSessionQuality", json!({"SessionId": "mine"}))
        .await;

    let message =
        |reply: &common::Reply, id: &str| reply.err("ResourceNotFound").replace(id, "<id>");
    let foreign = s
        .call(&b, "DescribeSessionQuality", json!({"SessionId": "mine"}))
        .await;
    let missing = s
        .call(&b, "DescribeSessionQuality", json!({"SessionId": "none"}))
        .await;
    assert_eq!(message(&foreign, "mine"), message(&missing, "none"));
    for action in ["DescribeSessions", "DescribeFleetOverview"] {
        let foreign = s.call(&b, action, json!({"ProjectId": pid})).await;
        let missing = s
            .call(&b, action, json!({"ProjectId": "aaaaaaaaaaaaaaaa"}))
            .await;
        assert_eq!(
            message(&foreign, &pid),
            message(&missing, "aaaaaaaaaaaaaaaa"),
            "{action}"
        );
        // The owner of the other project sees only its own (empty) fleet.
        let own = s.ok(&b, action, json!({"ProjectId": other_pid})).await;
        assert!(
            own.get("Sessions")
                .is_none_or(|l| l.as_array().unwrap().is_empty()),
            "{action}"
        );
    }
    // Device credentials do not reach the extension actions.
    s.call(
        &dev["truck_1"],
        "DescribeSessions",
        json!({"ProjectId": pid}),
    )
    .await
    .err("AuthFailure.UnauthorizedOperation");
}

#[tokio::test]
async fn bad_filter_values_are_named_with_what_is_allowed() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, _) = project_with(&s, &key, &[]).await;
    let invalid = |body: Value, param: &'static str| {
        let (s, key, pid) = (&s, &key, &pid);
        async move {
            let mut body = body;
            body["ProjectId"] = json!(pid);
            let action = if body.get("Overview").is_some() {
                body.as_object_mut().unwrap().remove("Overview");
                "DescribeFleetOverview"
            } else {
                "DescribeSessions"
            };
            s.call(key, action, body)
                .await
                .err_naming("InvalidParameterValue", param)
                .to_owned()
        }
    };
    let m = invalid(json!({"Quality": "terrible"}), "Quality").await;
    assert!(
        m.contains("`terrible`") && m.contains("`good`, `normal` or `bad`"),
        "{m}"
    );
    let m = invalid(json!({"Reason": "Latency"}), "Reason").await;
    assert!(
        m.contains("`Latency`") && m.contains("`Lag150Duration`") && m.contains("`MultiNet.Lost`"),
        "{m}"
    );
    invalid(json!({"PageSize": 101}), "PageSize").await;
    invalid(json!({"PageNumber": -1}), "PageNumber").await;
    let m = invalid(json!({"StartTime": -5}), "StartTime").await;
    assert!(m.contains("9999-12-31"), "{m}");
    invalid(json!({"StartTime": 200, "EndTime": 100}), "EndTime").await;
    invalid(
        json!({"Overview": 1, "StartTime": 200, "EndTime": 100}),
        "EndTime",
    )
    .await;
    invalid(
        json!({"Overview": 1, "EndTime": 253_402_300_800i64}),
        "EndTime",
    )
    .await;
    // Types and missing parameters, as for every action.
    s.call(
        &key,
        "DescribeSessions",
        json!({"ProjectId": pid, "Live": "maybe"}),
    )
    .await
    .err_naming("InvalidParameter", "Live");
    s.call(&key, "DescribeSessions", json!({"Quality": "bad"}))
        .await
        .err_naming("MissingParameter", "ProjectId");
    s.call(&key, "DescribeSessionQuality", json!({}))
        .await
        .err_naming("MissingParameter", "SessionId");
    s.call(
        &key,
        "DescribeFleetOverview",
        json!({"ProjectId": pid, "Foo": 1}),
    )
    .await
    .err_naming("UnknownParameter", "Foo");
}

/// The extension actions are counted under their own names in `/metrics`, not as unknown (`-`).
#[tokio::test]
async fn metrics_label_the_extension_actions_by_name() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, _) = project_with(&s, &key, &[]).await;
    s.ok(&key, "DescribeSessions", json!({"ProjectId": pid}))
        .await;
    s.ok(&key, "DescribeFleetOverview", json!({"ProjectId": pid}))
        .await;
    s.call(&key, "DescribeSessionQuality", json!({"SessionId": "none"}))
        .await
        .err("ResourceNotFound");
    let scraped = s
        .client
        .get(format!("http://{}/metrics", s.host))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"teleoscope_requests_total{action="DescribeSessions",code="Success"} 1"#,
        r#"teleoscope_requests_total{action="DescribeFleetOverview",code="Success"} 1"#,
        r#"teleoscope_requests_total{action="DescribeSessionQuality",code="ResourceNotFound"} 1"#,
    ] {
        assert!(scraped.contains(line), "{line} not in:\n{scraped}");
    }
}
