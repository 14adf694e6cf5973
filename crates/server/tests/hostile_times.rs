//! Hostile times and windows through the real HTTP server (docs/security.md §8): a time outside
//! 1970-01-01 .. 9999-12-31 is refused with `InvalidParameterValue` naming the parameter in every
//! action that takes times (not `InternalError`, not a dropped connection); a window of any length
//! inside that range answers from its sessions (statistics by hour, day and month, usage by day
//! paged) and equals a direct count over the sessions; an answer holds at most
//! `usage::MAX_BUCKETS` buckets with sessions.

mod common;

use chrono::FixedOffset;
use common::{Key, Server};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use teleoscope_server::domain::clock::LATEST;
use teleoscope_server::domain::sessions::{columns_from_samples, ImportedPart, SampleIn};
use teleoscope_server::domain::usage::{bucket, Interval, MAX_BUCKETS};
use teleoscope_server::model::samples::Metric;
use teleoscope_server::model::sessions::{PartMeta, SessionFacts};
use teleoscope_server::model::usage::Totals;
use teleoscope_server::model::{AccountId, DeviceType};

async fn project(s: &Server, key: &Key) -> String {
    s.project(key, "fleet").await
}

fn part(device: &str, ty: DeviceType, start: i64, seconds: i64, width: i64) -> ImportedPart {
    let sample = |time_offset| {
        let mut metrics = [None; Metric::COUNT];
        metrics[Metric::Fps as usize] = Some(25.0);
        SampleIn {
            time_offset,
            metrics,
            nets: Vec::new(),
        }
    };
    ImportedPart {
        device_id: device.to_owned(),
        device_type: ty,
        start_time: start,
        meta: PartMeta {
            width,
            height: width * 9 / 16,
            ..Default::default()
        },
        columns: columns_from_samples(vec![sample(0), sample(seconds)]).unwrap(),
    }
}

/// Stores finished sessions `(id, field, remote, start)` as an import would, eight at a time, their
/// devices created first.
async fn import(s: &Server, key: &Key, pid: &str, sessions: Vec<(String, String, String, i64)>) {
    let account = AccountId(key.account_id.clone());
    let mut devices = BTreeMap::new();
    for (_, field, remote, _) in &sessions {
        devices.insert(field.clone(), "field");
        devices.insert(remote.clone(), "remote");
    }
    for (id, ty) in devices {
        s.ok(
            key,
            "CreateDevice",
            json!({"ProjectId": pid, "DeviceId": id, "DeviceName": id, "DeviceType": ty,
                   "DeviceToken": "aaaaaaaaaaaaaaa1"}),
        )
        .await;
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut pending = sessions.into_iter().enumerate();
    loop {
        while tasks.len() < 8 {
            let Some((i, (id, field, remote, start))) = pending.next() else {
                break;
            };
            let (domain, account, pid) = (s.domain.clone(), account.clone(), pid.to_owned());
            let (seconds, width) = (61 + (i as i64 % 7) * 50, [640, 1280, 1920][i % 3]);
            tasks.spawn(async move {
                let parts = vec![
                    part(&field, DeviceType::Field, start, seconds, width),
                    part(&remote, DeviceType::Remote, start + 2, seconds, 0),
                ];
                domain
                    .import_session(&account, &pid, &id, parts)
                    .await
                    .unwrap();
            });
        }
        match tasks.join_next().await {
            Some(r) => r.unwrap(),
            None => break,
        }
    }
}

async fn facts(s: &Server, key: &Key, pid: &str) -> Vec<SessionFacts> {
    let account = AccountId(key.account_id.clone());
    s.domain
        .store
        .session_facts(&account, pid, None, 0, LATEST + 1)
        .await
        .unwrap()
}

/// Sessions, minutes, field devices, remote devices, not-bad %.
type Counts = (i64, i64, i64, i64, i64);

/// The [`Counts`] of some sessions, counted directly.
fn direct(facts: &[&SessionFacts]) -> Counts {
    let field: HashSet<_> = facts.iter().map(|f| &f.field_device_id).collect();
    let remote: HashSet<_> = facts.iter().map(|f| &f.remote_device_id).collect();
    let t = facts
        .iter()
        .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
    let s = t.statistics(field.len() as i64, remote.len() as i64);
    (
        s.session_num,
        s.total_minutes,
        s.active_field,
        s.active_remote,
        s.not_bad_ratio,
    )
}

/// The sessions starting in [from, to], by bucket of the server's time zone, oldest first.
fn by_bucket(
    facts: &[SessionFacts],
    interval: Interval,
    from: i64,
    to: i64,
) -> BTreeMap<(i64, i64), Vec<&SessionFacts>> {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for f in facts.iter().filter(|f| (from..=to).contains(&f.start_time)) {
        out.entry(bucket(tz, interval, f.start_time).unwrap())
            .or_default()
            .push(f);
    }
    out
}

/// (bucket start, bucket end) and [`Counts`] of each bucket of an answer.
fn answered(list: &Value) -> Vec<((i64, i64), Counts)> {
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"));
    list.as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                (n(b, "StartTime"), n(b, "EndTime")),
                (
                    n(b, "SessionNum"),
                    n(b, "TotalDuration"),
                    n(b, "ActiveFieldDeviceNum"),
                    n(b, "ActiveRemoteDeviceNum"),
                    n(b, "NotBadSessionRatio"),
                ),
            )
        })
        .collect()
}

/// Every time parameter of every action that takes times: negative, past 9999-12-31T23:59:59Z
/// (253402300799), at 2^43 (which made the day rollup and chrono panic) and at the ends of i64
/// (`EndTime + 1` overflowed) are refused by name, with the value and the allowed range.
#[tokio::test]
async fn times_outside_the_calendar_are_refused_by_name_in_every_action_that_takes_times() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = project(&s, &key).await;
    let page = json!({"ProjectId": pid, "PageNumber": 1, "PageSize": 10});
    let window = json!({"ProjectId": pid, "StartTime": 0, "EndTime": 1000});
    let mut paged = window.clone();
    paged["PageNum"] = json!(1);
    paged["PageSize"] = json!(10);
    let mut requests = vec![
        ("DescribeSessionStatistics", json!({"ProjectId": pid})),
        ("GetTotalDuration", window.clone()),
        ("GetDurationDetails", paged),
        ("DescribeDeviceSessionList", page.clone()),
        ("DescribeRecentSessionList", page),
        (
            "DescribeDeviceSessionDetails",
            json!({"SessionId": "no-such-session"}),
        ),
    ];
    for interval in ["hour", "day", "month"] {
        requests.push((
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": interval}),
        ));
    }
    for (action, body) in &requests {
        for param in ["StartTime", "EndTime"] {
            for bad in [
                -1,
                i64::MIN,
                LATEST + 1,
                1 << 43,
                94_608_000_000_000,
                1 << 62,
                i64::MAX,
            ] {
                let mut body = body.clone();
                body[param] = json!(bad);
                if param == "EndTime" && body.get("StartTime").is_some() {
                    body["StartTime"] = json!(0);
                }
                let reply = s.call(&key, action, body).await;
                let msg = reply.err_naming("InvalidParameterValue", param);
                assert!(
                    msg.contains(&format!("`{bad}`")) && msg.contains("253402300799"),
                    "{action} {param}={bad}: {msg}"
                );
            }
        }
    }
    // Numeric strings are decoded to the same numbers and refused alike.
    let reply = s
        .call(
            &key,
            "DescribeSessionStatistics",
            json!({"ProjectId": pid, "EndTime": "8796093022208"}),
        )
        .await;
    reply.err_naming("InvalidParameterValue", "EndTime");
    // The bounds themselves are times.
    let all = s
        .ok(
            &key,
            "DescribeSessionStatistics",
            json!({"ProjectId": pid, "StartTime": 0, "EndTime": LATEST}),
        )
        .await;
    assert_eq!(all["SessionNum"], 0);
    let list = s
        .ok(
            &key,
            "DescribeDeviceSessionList",
            json!({"ProjectId": pid, "PageNumber": 1, "PageSize": 10, "StartTime": LATEST, "EndTime": LATEST}),
        )
        .await;
    assert_eq!(list["Total"], 0);
}

/// The windows of the report: hours from 0 to 94608000000 (3,000 years) and to 2^62, days and
/// months to year 9999, usage to 2^40. The ones inside the calendar answer, from their sessions,
/// exactly what a direct count says; the others are refused by name.
#[tokio::test]
async fn windows_of_centuries_answer_from_their_sessions() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = project(&s, &key).await;
    // Sessions over five decades: some in one hour, some in one day, pairs varying.
    let now = s.now();
    let mut starts = vec![
        86_400 * 400 + 5,
        86_400 * 400 + 1_000,
        86_400 * 400 + 4_000,
        1_000_000_000,
        1_670_000_000,
        1_670_000_030,
    ];
    starts.extend((0..24).map(|i| now - 86_400 * (3 * i + 1) - 977 * i));
    let sessions = starts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                format!("s-{i:02}"),
                format!("field_{}", i % 3),
                format!("remote_{}", i % 2),
                *t,
            )
        })
        .collect();
    import(&s, &key, &pid, sessions).await;
    let facts = facts(&s, &key, &pid).await;
    assert_eq!(facts.len(), starts.len());

    for (interval, name, end) in [
        (Interval::Hour, "hour", 94_608_000_000),
        (Interval::Day, "day", LATEST),
        (Interval::Month, "month", LATEST),
    ] {
        let r = s
            .ok(
                &key,
                "DescribeSessionStatisticsByInterval",
                json!({"ProjectId": pid, "StatisticInterval": name, "StartTime": 0, "EndTime": end}),
            )
            .await;
        let expected: Vec<_> = by_bucket(&facts, interval, 0, end)
            .into_iter()
            .map(|(b, f)| (b, direct(&f)))
            .collect();
        assert!(expected.len() >= 5, "{name}: {expected:?}");
        assert_eq!(answered(&r["SessionStatistics"]), expected, "{name}");
    }
    // One device's buckets come from its sessions.
    let r = s
        .ok(
            &key,
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "hour", "DeviceId": "field_1",
                   "StartTime": 0, "EndTime": 94_608_000_000i64}),
        )
        .await;
    let mine: Vec<SessionFacts> = facts
        .iter()
        .filter(|f| f.field_device_id == "field_1")
        .cloned()
        .collect();
    let expected: Vec<_> = by_bucket(&mine, Interval::Hour, 0, LATEST)
        .into_iter()
        .map(|(b, f)| (b, direct(&f)))
        .collect();
    assert_eq!(answered(&r["SessionStatistics"]), expected);

    let all: Vec<&SessionFacts> = facts.iter().collect();
    let r = s
        .ok(
            &key,
            "DescribeSessionStatistics",
            json!({"ProjectId": pid, "StartTime": 0, "EndTime": LATEST}),
        )
        .await;
    let (n, minutes, field, remote, ratio) = direct(&all);
    assert_eq!(
        (
            &r["SessionNum"],
            &r["TotalDuration"],
            &r["ActiveFieldDeviceNum"],
            &r["ActiveRemoteDeviceNum"],
            &r["NotBadSessionRatio"]
        ),
        (
            &json!(n),
            &json!(minutes),
            &json!(field),
            &json!(remote),
            &json!(ratio)
        )
    );
    let r = s
        .ok(
            &key,
            "GetTotalDuration",
            json!({"ProjectId": pid, "StartTime": 0, "EndTime": LATEST}),
        )
        .await;
    let total = all
        .iter()
        .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
    assert_eq!(r["Online"], json!(total.usage.online));
    assert_eq!(r["DeductDuration"], json!(total.usage.deduct()));

    for (action, body, param) in [
        (
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "hour", "StartTime": 0, "EndTime": 1i64 << 62}),
            "EndTime",
        ),
        (
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "hour", "StartTime": 0, "EndTime": 4_611_686_018_427_387_904i64}),
            "EndTime",
        ),
        (
            "GetDurationDetails",
            json!({"ProjectId": pid, "StartTime": 0, "EndTime": 1i64 << 40, "PageNum": 1, "PageSize": 10}),
            "EndTime",
        ),
        (
            "DescribeSessionStatistics",
            json!({"ProjectId": pid, "StartTime": 1i64 << 43}),
            "StartTime",
        ),
    ] {
        s.call(&key, action, body)
            .await
            .err_naming("InvalidParameterValue", param);
    }
}

/// GetDurationDetails over 9999 years by pages of 10: `TotalCount` is the number of days with
/// sessions, and page N holds the N-th ten of them, each day's usage that of its sessions; a
/// window that cuts the first and the last day's sessions off leaves those days out.
#[tokio::test]
async fn duration_details_page_through_a_long_window() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = project(&s, &key).await;
    // 27 days with sessions over 40 years, two sessions on some of them.
    let day0 = 1_000_000_000 - 1_000_000_000 % 86_400 - 8 * 3600; // a midnight at +08:00
    let mut starts = Vec::new();
    for i in 0..27i64 {
        let day = day0 + 86_400 * (i * i * 19 + i);
        starts.push(day + 3600 + i * 60);
        if i % 3 == 1 {
            starts.push(day + 20 * 3600);
        }
    }
    let sessions = starts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                format!("u-{i:02}"),
                format!("field_{}", i % 2),
                "remote_0".to_owned(),
                *t,
            )
        })
        .collect();
    import(&s, &key, &pid, sessions).await;
    let facts = facts(&s, &key, &pid).await;
    let first = *starts.iter().min().unwrap();
    let last = *starts.iter().max().unwrap();
    let before = peak_rss_mb();
    // From just after the first session (its day keeps none) to just before the last one.
    for (from, to, n_days) in [(0, LATEST, 27), (first + 1, last - 1, 25)] {
        let days: Vec<(i64, Totals)> = by_bucket(&facts, Interval::Day, from, to)
            .into_iter()
            .map(|((start, _), f)| {
                let t = f
                    .iter()
                    .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
                (start, t)
            })
            .collect();
        assert_eq!(days.len(), n_days);
        for n in 1..=4 {
            let r = s
                .ok(
                    &key,
                    "GetDurationDetails",
                    json!({"ProjectId": pid, "StartTime": from, "EndTime": to, "PageNum": n, "PageSize": 10}),
                )
                .await;
            assert_eq!(r["TotalCount"], json!(days.len()), "window {from}..{to}");
            let got: Vec<(String, i64, i64, i64, i64)> = r["DurationDetails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let n = |k: &str| d[k].as_i64().unwrap();
                    (
                        d["SessionTime"].as_str().unwrap().to_owned(),
                        n("SD"),
                        n("HD"),
                        n("Online"),
                        n("DeductDuration"),
                    )
                })
                .collect();
            let want: Vec<_> = days
                .iter()
                .skip(10 * (n - 1))
                .take(10)
                .map(|(start, t)| {
                    let u = &t.usage;
                    (
                        start.to_string(),
                        u.video[0],
                        u.video[1],
                        u.online,
                        u.deduct(),
                    )
                })
                .collect();
            assert_eq!(got, want, "page {n} of window {from}..{to}");
        }
    }
    // Only the pages' days were added up: the 2.9 million days of the window were never made
    // (they took 500 MB). The server runs in this process; its peak memory is this one's.
    let grown = peak_rss_mb() - before;
    assert!(grown < 200, "the peak memory grew by {grown} MB");
}

/// The most memory this process (the test and the server in it) has held, in MB: `VmHWM` on
/// Linux, 0 elsewhere.
fn peak_rss_mb() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// An answer lists at most MAX_BUCKETS (a leap year of hours) buckets with sessions: a year of
/// hours, each with a session, answers in full; one more hour is refused by name, with the bound;
/// the same sessions by day answer.
#[tokio::test]
async fn a_year_of_hours_answers_and_one_more_hour_is_refused() {
    let s = Server::unthrottled().await;
    let key = s.new_key().await;
    let pid = project(&s, &key).await;
    let h0 = (s.now() / 3600 - MAX_BUCKETS as i64 - 48) * 3600;
    let sessions = (0..=MAX_BUCKETS as i64)
        .map(|i| {
            (
                format!("h-{i:05}"),
                "field_0".to_owned(),
                "remote_0".to_owned(),
                h0 + i * 3600 + 7,
            )
        })
        .collect();
    import(&s, &key, &pid, sessions).await;
    let hours = |end: i64| json!({"ProjectId": pid, "StatisticInterval": "hour", "StartTime": h0, "EndTime": end});
    let year = s
        .ok(
            &key,
            "DescribeSessionStatisticsByInterval",
            hours(h0 + MAX_BUCKETS as i64 * 3600 - 1),
        )
        .await;
    let list = year["SessionStatistics"].as_array().unwrap();
    assert_eq!(list.len(), MAX_BUCKETS);
    assert_eq!(list[0]["StartTime"], json!(h0));
    assert_eq!(
        list[MAX_BUCKETS - 1]["EndTime"],
        json!(h0 + MAX_BUCKETS as i64 * 3600)
    );
    assert!(list.iter().all(|b| b["SessionNum"] == json!(1)));
    let reply = s
        .call(
            &key,
            "DescribeSessionStatisticsByInterval",
            hours(h0 + MAX_BUCKETS as i64 * 3600 + 10),
        )
        .await;
    let msg = reply.err_naming("InvalidParameterValue", "EndTime");
    assert!(msg.contains("8784"), "{msg}");
    // One device's buckets are bounded alike.
    let mut mine = hours(LATEST);
    mine["DeviceId"] = json!("field_0");
    s.call(&key, "DescribeSessionStatisticsByInterval", mine)
        .await
        .err_naming("InvalidParameterValue", "EndTime");
    // The window may start inside the first hour after its session: that hour is empty, the
    // answer holds the other 8784.
    let from_second = s
        .ok(
            &key,
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "hour", "StartTime": h0 + 8, "EndTime": LATEST}),
        )
        .await;
    let list = from_second["SessionStatistics"].as_array().unwrap();
    assert_eq!(list.len(), MAX_BUCKETS);
    assert_eq!(list[0]["StartTime"], json!(h0 + 3600));
    let days = s
        .ok(
            &key,
            "DescribeSessionStatisticsByInterval",
            json!({"ProjectId": pid, "StatisticInterval": "day", "StartTime": 0, "EndTime": LATEST}),
        )
        .await;
    let sessions: i64 = days["SessionStatistics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["SessionNum"].as_i64().unwrap())
        .sum();
    assert_eq!(sessions, MAX_BUCKETS as i64 + 1);
}
