//! Sessions end to end with a controllable clock: idle timeouts end device parts and sessions,
//! heartbeats expire, statuses move offline → ready → connected, a device back from an outage
//! reopens its part; and the session list's fast paging (per-hour counts) returns exactly the pages
//! of the plain ordered query.

mod common;

use common::{Key, Options, Server};
use serde_json::{json, Value};
use teleoscope_server::model::sessions::{SessionFilter, SessionSamples};
use teleoscope_server::model::AccountId;

fn report(session: &str, peer: &str, start: i64, offsets: &[i64], last: bool) -> Value {
    let samples: Vec<Value> = offsets
        .iter()
        .map(|o| json!({"TimeOffset": o, "Rate": 800, "Fps": 25, "CpuUsed": 35.02}))
        .collect();
    json!({"SessionId": session, "PeerDeviceId": peer, "StartTime": start, "Width": 1280, "Height": 720,
           "Samples": samples, "Final": last})
}

#[tokio::test]
async fn idle_timeout_ends_the_part_and_the_session_and_a_returning_device_reopens_it() {
    let s = Server::start().await;
    let clock = s.clock.clone().unwrap();
    let key = s.new_key().await;
    let (pid, field, remote) = s.project_with_pair(&key).await;
    let t0 = s.now();

    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "offline");
    let r = s
        .ok(
            &field,
            "ReportSessionMetrics",
            report("s-1", "desk_1", t0, &[0, 2, 4], false),
        )
        .await;
    assert_eq!(
        (r["Accepted"].as_i64(), r["Duplicates"].as_i64()),
        (Some(3), Some(0))
    );
    s.ok(
        &remote,
        "ReportSessionMetrics",
        report("s-1", "truck_1", t0 + 1, &[0, 2], false),
    )
    .await;
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "connected");
    assert_eq!(s.device_status(&key, &pid, "desk_1").await, "connected");

    // 59 s without a report: still live. 61 s: both parts end, the devices go offline (no heartbeat).
    clock.advance(59);
    s.domain.upkeep().await.unwrap();
    let live = stored(&s, &key, "s-1").await.session;
    assert!(live.live);
    clock.advance(2);
    s.domain.upkeep().await.unwrap();
    let SessionSamples {
        session: ended,
        parts,
    } = stored(&s, &key, "s-1").await;
    assert!(
        !ended.live,
        "the session ends when all its parts have ended"
    );
    assert!(parts.iter().all(|p| p.part.ended));
    assert!(ended.quality_final, "an ended session is scored finally");
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "offline");

    // Back from an outage: the buffered batch is accepted and the part is open again.
    let r = s
        .ok(
            &field,
            "ReportSessionMetrics",
            report("s-1", "desk_1", t0, &[4, 6, 8], false),
        )
        .await;
    assert_eq!(
        (r["Accepted"].as_i64(), r["Duplicates"].as_i64()),
        (Some(2), Some(1))
    );
    let again = stored(&s, &key, "s-1").await.session;
    assert!(again.live);
    assert!(!again.quality_final);
    assert_eq!(again.end_time, t0 + 8);
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "connected");
}

#[tokio::test]
async fn heartbeats_make_a_device_ready_until_they_stop() {
    let s = Server::start().await;
    let clock = s.clock.clone().unwrap();
    let key = s.new_key().await;
    let (pid, field, _) = s.project_with_pair(&key).await;
    let r = s
        .ok(&field, "ReportDeviceStatus", json!({"Status": "ready"}))
        .await;
    assert_eq!(r["DeviceStatus"], "ready");
    let listed = s
        .ok(
            &key,
            "DescribeDeviceList",
            json!({"ProjectId": pid, "DeviceStatus": "online"}),
        )
        .await;
    assert_eq!(listed["Total"], 1);
    clock.advance(30);
    s.domain.upkeep().await.unwrap();
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "ready");
    clock.advance(1);
    s.domain.upkeep().await.unwrap();
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "offline");
    let info = s
        .ok(
            &key,
            "DescribeDeviceInfo",
            json!({"ProjectId": pid, "DeviceId": "truck_1"}),
        )
        .await;
    assert!(info["LastReportTime"].as_str().unwrap().ends_with("+08:00"));

    // A final report leaves a device that still sends heartbeats ready.
    s.ok(&field, "ReportDeviceStatus", json!({"Status": "ready"}))
        .await;
    s.ok(
        &field,
        "ReportSessionMetrics",
        report("s-2", "desk_1", s.now(), &[0], true),
    )
    .await;
    assert_eq!(s.device_status(&key, &pid, "truck_1").await, "ready");
    let r = s
        .ok(&field, "ReportDeviceStatus", json!({"Status": "offline"}))
        .await;
    assert_eq!(r["DeviceStatus"], "offline");
}

#[tokio::test]
async fn every_page_of_the_fast_list_equals_the_plain_ordered_query() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, field, remote) = s.project_with_pair(&key).await;
    let t0 = s.now() - 40 * 3600;
    // 60 sessions over 40 hours, several per hour, ties on start time, and sessions whose remote part
    // starts hours before the field part (the session's start moves to an earlier hour).
    for i in 0..60i64 {
        let id = format!("s-{i:03}");
        let start = t0 + (i * 7919) % (40 * 3600) / 600 * 600;
        s.ok(
            &field,
            "ReportSessionMetrics",
            report(&id, "desk_1", start, &[0, 2], true),
        )
        .await;
        let remote_start = if i % 9 == 0 {
            start - 3 * 3600
        } else {
            start + 1
        };
        s.ok(
            &remote,
            "ReportSessionMetrics",
            report(&id, "truck_1", remote_start, &[0], true),
        )
        .await;
    }
    let account = AccountId(key.account_id.clone());
    let everything = SessionFilter {
        from: Some(1),
        ..Default::default()
    };
    let page = |number| teleoscope_server::model::Page { number, size: 7 };
    let mut seen = 0;
    for number in 1..=10 {
        let (total, fast) = s
            .domain
            .list_sessions(&account, &pid, &SessionFilter::default(), page(number))
            .await
            .unwrap();
        let (plain_total, plain) = s
            .domain
            .list_sessions(&account, &pid, &everything, page(number))
            .await
            .unwrap();
        assert_eq!((total, plain_total), (60, 60));
        let ids = |rows: &[teleoscope_server::model::sessions::SessionRow]| {
            rows.iter()
                .map(|r| r.session_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&fast), ids(&plain), "page {number}");
        seen += fast.len();
    }
    assert_eq!(seen, 60);
    // Through the API, with the seed's numbers-as-strings request shape.
    let r = s
        .ok(
            &key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": pid, "PageNumber": "9", "PageSize": "7"}),
        )
        .await;
    assert_eq!(
        (r["Total"].as_i64(), r["Num"].as_i64()),
        (Some(60), Some(4))
    );
    let starts: Vec<i64> = r["DeviceSessionList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["StartTime"].as_i64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
}

#[tokio::test]
async fn statistics_from_quarter_sums_equal_statistics_from_every_session() {
    use teleoscope_server::domain::usage::Scope;
    use teleoscope_server::model::usage::Totals;
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, field, remote) = s.project_with_pair(&key).await;
    let t0 = s.now() - 20 * 3600;
    for i in 0..40i64 {
        let id = format!("q-{i:03}");
        let start = t0 + (i * 4099) % (20 * 3600);
        let offsets: Vec<i64> = (0..(i % 5 + 1)).map(|k| k * 37).collect();
        s.ok(
            &field,
            "ReportSessionMetrics",
            report(&id, "desk_1", start, &offsets, true),
        )
        .await;
        // Some remote parts start earlier (the session's start moves to another quarter).
        let remote_start = if i % 4 == 0 { start - 1000 } else { start + 3 };
        s.ok(
            &remote,
            "ReportSessionMetrics",
            report(&id, "truck_1", remote_start, &[0, 2], true),
        )
        .await;
    }
    s.domain.upkeep().await.unwrap(); // final scores move shares between not-bad and bad
    let account = AccountId(key.account_id.clone());
    let windows = [
        (0, s.now() + 1),
        (t0 + 1234, t0 + 9 * 3600 + 17),
        (t0 + 3 * 3600, t0 + 3 * 3600 + 899),
        (t0 + 5, t0 + 6),
    ];
    for (from, to) in windows {
        let scope = Scope {
            project_id: &pid,
            device_id: None,
            from,
            to,
        };
        let fast = s.domain.statistics(&account, scope).await.unwrap();
        let facts = s
            .domain
            .store
            .session_facts(&account, &pid, None, from, to)
            .await
            .unwrap();
        let direct = facts
            .iter()
            .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
        let field_ids: std::collections::HashSet<_> =
            facts.iter().map(|f| f.field_device_id.clone()).collect();
        let remote_ids: std::collections::HashSet<_> =
            facts.iter().map(|f| f.remote_device_id.clone()).collect();
        assert_eq!(
            fast,
            direct.statistics(field_ids.len() as i64, remote_ids.len() as i64),
            "window {from}..{to}"
        );
        assert_eq!(
            s.domain.usage(&account, scope).await.unwrap(),
            direct.usage,
            "window {from}..{to}"
        );
    }
    let all = s
        .domain
        .statistics(
            &account,
            Scope {
                project_id: &pid,
                device_id: None,
                from: 0,
                to: s.now() + 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(all.session_num, 40);
}

#[tokio::test]
async fn many_small_reports_are_compacted_into_one_chunk_without_changing_the_details() {
    let s = Server::unthrottled_sqlite().await;
    let key = s.new_key().await;
    let (_, field, _) = s.project_with_pair(&key).await;
    let t0 = s.now();
    for o in 0..40i64 {
        s.ok(
            &field,
            "ReportSessionMetrics",
            report("c-1", "desk_1", t0, &[o * 2], o == 39),
        )
        .await;
    }
    let before = s
        .ok(
            &key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "c-1"}),
        )
        .await;
    let part = stored(&s, &key, "c-1").await.parts[0].part.part_key;
    let chunks = || -> i64 {
        let db = r2d2_sqlite::rusqlite::Connection::open(s.db_path()).unwrap();
        db.query_row(
            "SELECT COUNT(*) FROM chunks WHERE part_key = ?1",
            [part],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(chunks(), 40);
    s.domain.upkeep().await.unwrap();
    assert_eq!(chunks(), 1);
    let after = s
        .ok(
            &key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "c-1"}),
        )
        .await;
    assert_eq!(before["Details"], after["Details"]);
    assert_eq!(
        after["Details"][0]["TimeOffset"].as_array().unwrap().len(),
        40
    );
    // A late duplicate is still recognised after compaction.
    let r = s
        .ok(
            &field,
            "ReportSessionMetrics",
            report("c-1", "desk_1", t0, &[10, 80], true),
        )
        .await;
    assert_eq!(
        (r["Accepted"].as_i64(), r["Duplicates"].as_i64()),
        (Some(1), Some(1))
    );
}

/// Sessions, minutes and active devices per bucket (from the per-day and per-quarter rollups,
/// window edges from the sessions) equal a direct count over the sessions, by hour, day and month,
/// in the configured time zone and after the store is opened for another one (the rollups are
/// counted again for its days).
#[tokio::test]
async fn bucket_statistics_equal_a_direct_count_in_any_time_zone() {
    use chrono::FixedOffset;
    use std::collections::{BTreeMap, HashSet};
    use teleoscope_server::domain::usage::{bucket, Interval, Scope};
    use teleoscope_server::model::usage::Totals;
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, _, _) = s.project_with_pair(&key).await;
    let mut keys = BTreeMap::new();
    for (i, ty) in [
        (1, "field"),
        (2, "field"),
        (3, "field"),
        (1, "remote"),
        (2, "remote"),
        (9, "field"),
        (9, "remote"),
    ] {
        let id = format!("{ty}_{i}");
        let token = format!("{:0>16}", id.len() * 1000 + i);
        s.ok(
            &key,
            "CreateDevice",
            json!({"ProjectId": pid, "DeviceId": id, "DeviceName": id, "DeviceType": ty, "DeviceToken": token}),
        )
        .await;
        let k = Key {
            account_id: key.account_id.clone(),
            secret_id: format!("{pid}:{id}"),
            secret_key: token,
        };
        keys.insert(id, k);
    }
    // 60 sessions of 1 to 4 minutes over three days, pairs varying, so that days and hours see
    // different devices.
    let t0 = s.now() - 3 * 86_400;
    for i in 0..60i64 {
        let field = format!("field_{}", i % 3 + 1);
        let remote = format!("remote_{}", i % 2 + 1);
        let start = t0 + (i * 4441) % (3 * 86_400);
        s.ok(
            &keys[&field],
            "ReportSessionMetrics",
            report(
                &format!("d-{i}"),
                &remote,
                start,
                &[0, 2 + 70 * (i % 4)],
                true,
            ),
        )
        .await;
    }
    // A session whose remote part starts a day before its field part: its start, and with it the
    // day both devices count on, moves back a day (field_9 has no other session on the first).
    let later = t0 + 2 * 86_400 + 3_600;
    for (key, peer, start) in [
        ("field_9", "remote_9", later),
        ("remote_9", "field_9", later - 86_400),
    ] {
        s.ok(
            &keys[key],
            "ReportSessionMetrics",
            report("moved", peer, start, &[0, 2], true),
        )
        .await;
    }
    let account = AccountId(key.account_id.clone());
    let facts = s
        .domain
        .store
        .session_facts(&account, &pid, None, 0, s.now() + 1)
        .await
        .unwrap();
    let inside = |from: i64, to: i64| {
        facts
            .iter()
            .filter(move |f| (from..to).contains(&f.start_time))
    };
    let direct = |from: i64, to: i64| {
        let f: HashSet<_> = inside(from, to).map(|f| &f.field_device_id).collect();
        let r: HashSet<_> = inside(from, to).map(|f| &f.remote_device_id).collect();
        (f.len() as i64, r.len() as i64)
    };
    let sums = |from: i64, to: i64| {
        inside(from, to).fold(Totals::default(), |t, f| t.plus(&Totals::of(f)))
    };
    assert!(
        sums(t0, s.now()).minutes > 60,
        "sessions of several minutes"
    );
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    for (from, to) in [(t0 - 100, s.now() + 1), (t0 + 7_777, t0 + 2 * 86_400 + 555)] {
        for interval in [Interval::Hour, Interval::Day, Interval::Month] {
            let scope = Scope {
                project_id: &pid,
                device_id: None,
                from,
                to,
            };
            let rows = s
                .domain
                .statistics_by_interval(&account, scope, interval, tz)
                .await
                .unwrap();
            assert!(!rows.is_empty());
            for (start, next, st) in rows {
                let (a, b) = (start.max(from), next.min(to));
                let t = sums(a, b);
                assert_eq!(
                    (
                        st.session_num,
                        st.total_minutes,
                        st.active_field,
                        st.active_remote
                    ),
                    (t.sessions, t.minutes, direct(a, b).0, direct(a, b).1),
                    "{interval:?} bucket {start}..{next} of window {from}..{to}"
                );
            }
        }
    }
    // The same database opened for UTC-05:30: its local days are counted again.
    let other = teleoscope_server::store::open(&s.config.database, -(5 * 3600 + 1800))
        .await
        .unwrap();
    let west = FixedOffset::west_opt(5 * 3600 + 1800).unwrap();
    let days: Vec<(i64, i64)> = (0..5)
        .map(|d| bucket(west, Interval::Day, t0 + d * 86_400).unwrap())
        .collect();
    let counted = other.active_devices(&account, &pid, &days).await.unwrap();
    let expected: Vec<_> = days.iter().map(|(a, b)| direct(*a, *b)).collect();
    assert_eq!(counted, expected);
    assert!(expected.iter().any(|(f, _)| *f == 3));
    let summed = other.session_totals(&account, &pid, &days).await.unwrap();
    let expected: Vec<_> = days.iter().map(|(a, b)| sums(*a, *b)).collect();
    assert_eq!(summed, expected);
}

/// Compaction gives the pages it frees back to the file system: once 16 sessions of 40
/// one-sample reports each have ended together and the upkeep has merged each into one small
/// chunk, the database file holds no free pages.
#[tokio::test]
async fn compaction_gives_the_pages_it_frees_back() {
    let s = Server::unthrottled_sqlite().await;
    let key = s.new_key().await;
    let (_, field, _) = s.project_with_pair(&key).await;
    let start = s.now() - 10_000;
    for k in 0..40 {
        for j in 0..16 {
            let body = report(&format!("s-{j}"), "desk_1", start + j, &[2 * k], k == 39);
            s.ok(&field, "ReportSessionMetrics", body).await;
        }
    }
    let db = r2d2_sqlite::rusqlite::Connection::open(s.db_path()).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT SUM(samples) FROM parts"), 16 * 40);
    s.domain.upkeep().await.unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM chunks"), 16);
    assert_eq!(count("PRAGMA freelist_count"), 0);
}

/// The list filtered by a device (either end) pages through that device's sessions newest first,
/// with the device's total, whether it is the field or the remote device.
#[tokio::test]
async fn the_list_of_one_device_pages_newest_first() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let (pid, field, _) = s.project_with_pair(&key).await;
    let start = s.now() - 100_000;
    let mut expected: Vec<(i64, String)> = Vec::new();
    for i in 0..25i64 {
        let (id, at) = (format!("p-{i:02}"), start + (i * 7_919) % 50_000);
        s.ok(
            &field,
            "ReportSessionMetrics",
            report(&id, "desk_1", at, &[0, 2], true),
        )
        .await;
        expected.push((at, id));
    }
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    for device in ["truck_1", "desk_1"] {
        let mut listed = Vec::new();
        for page in 1..=3 {
            let r = s
                .ok(
                    &key,
                    "DescribeDeviceSessionList",
                    json!({"ProjectId": pid, "DeviceId": device, "PageNumber": page, "PageSize": 10}),
                )
                .await;
            assert_eq!(r["Total"], 25, "{device}");
            for row in r["DeviceSessionList"].as_array().unwrap() {
                listed.push(row["SessionId"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(listed, expected, "{device}");
    }
}

/// A session as the store has it, with its samples.
async fn stored(s: &Server, key: &Key, session_id: &str) -> SessionSamples {
    let account = AccountId(key.account_id.clone());
    s.domain
        .store
        .session_samples(&account, session_id, None, None)
        .await
        .unwrap()
        .unwrap()
}

/// Retention (`retention_days`) removes the samples of a session older than the configured days and
/// keeps the session itself, its list entry and the statistics; a recent session keeps its samples.
#[tokio::test]
async fn retention_removes_old_samples_and_keeps_sessions_and_statistics() {
    let s = Server::start_with(Options::unthrottled(|c| c.retention_days = Some(30))).await;
    let key = s.new_key().await;
    let (pid, field, _) = s.project_with_pair(&key).await;
    let now = s.now();
    let old = now - 60 * 86_400;
    for (id, start) in [("old", old), ("new", now - 600)] {
        s.ok(
            &field,
            "ReportSessionMetrics",
            report(id, "desk_1", start, &[0, 2, 4], true),
        )
        .await;
    }
    let samples = |r: &Value| -> usize {
        r["Details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["TimeOffset"].as_array().map_or(0, Vec::len))
            .sum()
    };
    let details = |id: &'static str| {
        s.ok(
            &key,
            "DescribeDeviceSessionDetails",
            json!({ "SessionId": id }),
        )
    };
    assert_eq!(samples(&details("old").await), 3);
    let list = json!({"ProjectId": pid, "StartTime": old - 60, "EndTime": now, "PageNumber": 1, "PageSize": 100});
    let before = s.ok(&key, "DescribeDeviceSessionList", list.clone()).await;

    assert!(s.domain.apply_retention().await.unwrap() > 0);
    assert_eq!(samples(&details("old").await), 0, "old samples removed");
    assert_eq!(samples(&details("new").await), 3, "recent samples kept");
    let after = s.ok(&key, "DescribeDeviceSessionList", list).await;
    assert_eq!(after["Total"], 2);
    assert_eq!(after["DeviceSessionList"], before["DeviceSessionList"]);
}
