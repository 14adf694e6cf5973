//! `Rollups`: the facts of the sessions starting in a window, and what statistics and usage read
//! instead of them — totals and active devices per range, the quarters and local days with a
//! session start — which must always equal a direct count over the facts, however the sessions
//! change.

use super::*;
use std::collections::{BTreeMap, BTreeSet};
use teleoscope_server::model::quality::Grade;
use teleoscope_server::model::sessions::SessionFacts;
use teleoscope_server::model::usage::{Grain, Totals};

/// Video sizes of every usage class: none, SD, HD, FHD, 2K, 4K.
const SIZES: [(i64, i64); 6] = [
    (0, 0),
    (640, 480),
    (1280, 720),
    (1920, 1080),
    (2560, 1440),
    (3840, 2160),
];

/// Thirty sessions, one every 6,007 s from a day before [`MIDNIGHT`] (so over three local days
/// and many quarters): four field and three remote devices in turn, every video class, with and
/// without a configured size, single and multi-network, ended and live, of all lengths; some
/// without a remote part, some without a field part, some whose remote part started first.
fn fleet_reports(scope: &Scope) -> Vec<Append> {
    let mut reports = Vec::new();
    for i in 0..30i64 {
        let id = format!("s_{i:02}");
        let (field, remote) = (format!("truck_{}", i % 4), format!("console_{}", i % 3));
        let start = MIDNIGHT - DAY + i * 6007;
        let has_remote = i % 3 != 0;
        if !(has_remote && i % 10 == 7) {
            let mut r = scope.report(
                &id,
                (&field, DeviceType::Field),
                &remote,
                start,
                [0, 60 * (i % 7) + 13],
            );
            (r.meta.width, r.meta.height) = SIZES[i as usize % 6];
            (r.meta.config_width, r.meta.config_height) = if i % 3 == 0 {
                (0, 0)
            } else {
                SIZES[(i as usize / 3) % 6]
            };
            r.meta.multi_mode = i64::from(i % 4 == 3);
            r.last = i % 2 == 0;
            reports.push(r);
        }
        if has_remote {
            let shift = if i % 2 == 0 { -40 } else { 25 };
            let r = scope.report(
                &id,
                (&remote, DeviceType::Remote),
                &field,
                start + shift,
                [0, 45 * (i % 4) + 7],
            );
            reports.push(r);
        }
    }
    reports
}

/// Each session's span as the reports give it: (start, end) by session id.
fn spans_of(reports: &[Append]) -> BTreeMap<String, (i64, i64)> {
    let mut spans: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in reports {
        let end = r.start_time + r.columns.time_offset.last().copied().unwrap_or(0);
        let span = spans
            .entry(r.session_id.clone())
            .or_insert((r.start_time, end));
        *span = (span.0.min(r.start_time), span.1.max(end));
    }
    spans
}

/// A fifth of the sessions are bad, a fifth normal.
fn planned_grade(i: usize) -> Grade {
    [Grade::Bad, Grade::Normal, Grade::Good][(i % 5).min(2)]
}

/// The project `acme_1` with the sessions of [`fleet_reports`], graded by [`planned_grade`].
async fn fleet(store: &dyn Store) -> (Scope, Vec<Append>) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    let reports = fleet_reports(&acme);
    for r in &reports {
        accept(store, r.clone()).await;
    }
    for i in 0..30 {
        let id = format!("s_{i:02}");
        grade(store, &acme, &id, planned_grade(i), &[]).await;
    }
    (acme, reports)
}

/// Ranges as statistics and usage ask for them (sorted, disjoint, possibly touching): whole local
/// days, hours, and ranges that cut quarters and days anywhere.
fn range_sets() -> Vec<Vec<(i64, i64)>> {
    let m = MIDNIGHT;
    vec![
        vec![(m - 2 * DAY, m + 3 * DAY)],
        vec![(m - DAY, m), (m, m + DAY), (m + DAY, m + 2 * DAY)],
        (0..30)
            .map(|h| (m - 3600 * (10 - h), m - 3600 * (9 - h)))
            .collect(),
        vec![
            (m - DAY + 1000, m - DAY + 5000),
            (m - 3333, m + 7777),
            (m + 7777, m + DAY + 4321),
            (m + DAY + 4400, m + 2 * DAY - 1),
        ],
        vec![(m - DAY + 6007, m - DAY + 6008), (m + 5 * DAY, m + 6 * DAY)],
        vec![],
    ]
}

/// The direct count: the facts of each range, added up.
async fn direct(store: &dyn Store, scope: &Scope, (from, to): (i64, i64)) -> (Totals, (i64, i64)) {
    let facts = store
        .session_facts(&scope.account, &scope.project_id, None, from, to)
        .await
        .unwrap();
    let totals = facts
        .iter()
        .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
    let distinct =
        |id: fn(&SessionFacts) -> &str| facts.iter().map(id).collect::<BTreeSet<_>>().len() as i64;
    (
        totals,
        (
            distinct(|f| f.field_device_id.as_str()),
            distinct(|f| f.remote_device_id.as_str()),
        ),
    )
}

/// `session_totals` and `active_devices` of every range set equal the direct count.
async fn assert_rollups_equal_direct_count(store: &dyn Store, scope: &Scope) {
    for ranges in range_sets() {
        let totals = store
            .session_totals(&scope.account, &scope.project_id, &ranges)
            .await
            .unwrap();
        let active = store
            .active_devices(&scope.account, &scope.project_id, &ranges)
            .await
            .unwrap();
        assert_eq!((totals.len(), active.len()), (ranges.len(), ranges.len()));
        for (i, range) in ranges.iter().enumerate() {
            let (want_totals, want_active) = direct(store, scope, *range).await;
            assert_eq!(totals[i], want_totals, "totals of {range:?} in {ranges:?}");
            assert_eq!(
                active[i], want_active,
                "active devices of {range:?} in {ranges:?}"
            );
        }
    }
}

/// The sessions whose start lies in [from, to), each with its span, video, grade and the seconds
/// of each part; with a device, those it is either end of.
pub async fn session_facts_are_the_sessions_starting_in_the_window(store: &dyn Store) {
    let (acme, reports) = fleet(store).await;
    let spans = spans_of(&reports);
    let (from, to) = (MIDNIGHT, MIDNIGHT + DAY);
    let facts = store
        .session_facts(&acme.account, &acme.project_id, None, from, to)
        .await
        .unwrap();
    let mut got: Vec<(i64, i64)> = facts.iter().map(|f| (f.start_time, f.end_time)).collect();
    let mut want: Vec<(i64, i64)> = spans
        .values()
        .copied()
        .filter(|(s, _)| (from..to).contains(s))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(want.len() > 10, "the window holds many sessions");

    for f in &facts {
        let (id, _) = spans
            .iter()
            .find(|(_, s)| **s == (f.start_time, f.end_time))
            .unwrap();
        let parts: Vec<&Append> = reports.iter().filter(|r| &r.session_id == id).collect();
        let field = parts.iter().find(|r| r.device_type == DeviceType::Field);
        let video = field.map_or((0, 0, 0, 0, 0), |r| {
            let m = &r.meta;
            (
                m.width,
                m.height,
                m.config_width,
                m.config_height,
                m.multi_mode,
            )
        });
        assert_eq!(
            (
                f.width,
                f.height,
                f.config_width,
                f.config_height,
                f.multi_mode
            ),
            video,
            "{id}"
        );
        let i: usize = id[2..].parse().unwrap();
        assert_eq!(f.quality, planned_grade(i), "{id}");
        let mut seconds = f.part_seconds.clone();
        let mut want: Vec<i64> = parts
            .iter()
            .map(|r| *r.columns.time_offset.last().unwrap())
            .collect();
        seconds.sort();
        want.sort();
        assert_eq!(seconds, want, "{id}");
    }

    for device in ["truck_1", "console_2"] {
        let of_device = store
            .session_facts(&acme.account, &acme.project_id, Some(device), from, to)
            .await
            .unwrap();
        let mut got: Vec<i64> = of_device.iter().map(|f| f.start_time).collect();
        let mut want: Vec<i64> = facts
            .iter()
            .filter(|f| f.field_device_id == device || f.remote_device_id == device)
            .map(|f| f.start_time)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{device}");
        assert!(!want.is_empty());
    }
}

/// Totals and active devices of any ranges equal the direct count over the facts.
pub async fn rollups_equal_a_direct_count(store: &dyn Store) {
    let (acme, _) = fleet(store).await;
    let all = (MIDNIGHT - 2 * DAY, MIDNIGHT + 3 * DAY);
    let (totals, active) = direct(store, &acme, all).await;
    assert_eq!((totals.sessions, totals.not_bad, active), (30, 24, (4, 3)));
    // Minutes of every class count: voice, each video class, single and multi-network.
    let u = totals.usage;
    let every_class = u.voice > 0 && u.video.iter().all(|m| *m > 0);
    assert!(
        every_class && u.multi_video.iter().any(|m| *m > 0) && u.multi_online > 0,
        "{u:?}"
    );
    assert_rollups_equal_direct_count(store, &acme).await;
}

/// A new grade, a start moved into another day and quarter by a peer that started earlier, a
/// longer session: the rollups follow each change.
pub async fn rollups_follow_regrading_and_moved_starts(store: &dyn Store) {
    let (acme, _) = fleet(store).await;
    let before = direct(store, &acme, (MIDNIGHT, MIDNIGHT + DAY)).await.0;

    // s_16 (normal) turns bad.
    grade(store, &acme, "s_16", Grade::Bad, &["Lost"]).await;
    assert_rollups_equal_direct_count(store, &acme).await;
    let regraded = direct(store, &acme, (MIDNIGHT, MIDNIGHT + DAY)).await.0;
    assert_eq!(regraded.not_bad, before.not_bad - 1);

    // s_15 starts at MIDNIGHT + 3705 (truck_3 with console_0, which has not reported): its remote
    // part starts the day before.
    let moved = acme.report(
        "s_15",
        ("console_0", DeviceType::Remote),
        "truck_3",
        MIDNIGHT - 700,
        [0, 30],
    );
    accept(store, moved).await;
    assert_eq!(
        acme.session(store, "s_15").await.session.start_time,
        MIDNIGHT - 700
    );
    assert_rollups_equal_direct_count(store, &acme).await;
    let after = direct(store, &acme, (MIDNIGHT, MIDNIGHT + DAY)).await.0;
    assert_eq!(after.sessions, before.sessions - 1);

    // s_18 (ended, truck_2 with console_0) goes on for an hour, in HD.
    let longer = acme.report(
        "s_18",
        ("truck_2", DeviceType::Field),
        "console_0",
        MIDNIGHT - DAY + 18 * 6007,
        [3600],
    );
    accept(store, longer).await;
    assert_rollups_equal_direct_count(store, &acme).await;

    grade(store, &acme, "s_16", Grade::Good, &[]).await;
    assert_rollups_equal_direct_count(store, &acme).await;
}

/// The quarter hours, or the local days of the store's time zone, in which a session starts and
/// that meet [from, to): ascending, at most `limit`, read on from the last one's end.
pub async fn session_spans_are_the_quarters_and_local_days_with_a_start(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    let m = MIDNIGHT;
    let starts = [
        m - DAY + 100,
        m - 1,
        m,
        m + 899,
        m + 5 * QUARTER + 1,
        m + DAY + 60,
        m + 3 * DAY,
    ];
    for (i, start) in starts.iter().enumerate() {
        accept(store, acme.field_report(&format!("s_{i}"), *start, [0, 10])).await;
    }
    let spans = |window, grain, limit| {
        store.session_spans(&acme.account, &acme.project_id, window, grain, limit)
    };
    let quarter = |t: i64| {
        (
            t.div_euclid(QUARTER) * QUARTER,
            t.div_euclid(QUARTER) * QUARTER + QUARTER,
        )
    };
    let day = |d: i64| (m + d * DAY, m + (d + 1) * DAY);

    let all = (m - 2 * DAY, m + 4 * DAY);
    let quarters: Vec<(i64, i64)> = [
        m - DAY + 100,
        m - 1,
        m,
        m + 5 * QUARTER,
        m + DAY + 60,
        m + 3 * DAY,
    ]
    .map(quarter)
    .to_vec();
    assert_eq!(spans(all, Grain::Quarter, 100).await.unwrap(), quarters);
    let days = vec![day(-1), day(0), day(1), day(3)];
    assert_eq!(spans(all, Grain::Day, 100).await.unwrap(), days);

    // Read two at a time, each read from the last span's end.
    for (grain, want) in [(Grain::Quarter, &quarters), (Grain::Day, &days)] {
        let mut read: Vec<(i64, i64)> = Vec::new();
        let mut from = all.0;
        loop {
            let page = spans((from, all.1), grain, 2).await.unwrap();
            assert!(page.len() <= 2);
            read.extend(&page);
            match page.last() {
                Some(&(_, end)) if page.len() == 2 => from = end,
                _ => break,
            }
        }
        assert_eq!(&read, want, "{grain:?}");
    }

    // A span that only meets the window is listed; one that ends where the window starts, or
    // starts where it ends, is not.
    let cut = (m + 450, m + DAY + 1);
    assert_eq!(
        spans(cut, Grain::Quarter, 100).await.unwrap(),
        vec![quarter(m), quarter(m + 5 * QUARTER), quarter(m + DAY)]
    );
    assert_eq!(
        spans(cut, Grain::Day, 100).await.unwrap(),
        vec![day(0), day(1)]
    );
    assert_eq!(
        spans((m, m + DAY), Grain::Day, 100).await.unwrap(),
        vec![day(0)]
    );
    assert!(spans((m + QUARTER, m + 5 * QUARTER), Grain::Quarter, 100)
        .await
        .unwrap()
        .is_empty());
    for grain in [Grain::Quarter, Grain::Day] {
        assert!(spans((m, m), grain, 100).await.unwrap().is_empty());
        assert!(spans((m + DAY, m), grain, 100).await.unwrap().is_empty());
    }
}

/// Another account, or another project, counts none of a project's sessions.
pub async fn foreign_accounts_count_nothing(store: &dyn Store) {
    let (acme, _) = fleet(store).await;
    let other = Scope::create(store, "acme", "acme_2").await;
    accept(
        store,
        other.field_report("elsewhere", MIDNIGHT + 60, [0, 10]),
    )
    .await;
    let rival = Scope::rival(store).await;
    let all = (MIDNIGHT - 2 * DAY, MIDNIGHT + 3 * DAY);
    let days = [(MIDNIGHT - DAY, MIDNIGHT), (MIDNIGHT, MIDNIGHT + DAY)];

    let (r, p) = (&rival.account, acme.project_id.as_str());
    assert!(store
        .session_facts(r, p, None, all.0, all.1)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .session_facts(r, p, Some("truck_1"), all.0, all.1)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.session_totals(r, p, &days).await.unwrap(),
        vec![Totals::default(); 2]
    );
    assert_eq!(
        store.active_devices(r, p, &days).await.unwrap(),
        vec![(0, 0); 2]
    );
    for grain in [Grain::Quarter, Grain::Day] {
        assert!(store
            .session_spans(r, p, all, grain, 100)
            .await
            .unwrap()
            .is_empty());
    }

    let facts = store
        .session_facts(&other.account, &other.project_id, None, all.0, all.1)
        .await
        .unwrap();
    assert_eq!(facts.len(), 1);
    let (totals, active) = direct(store, &other, all).await;
    assert_eq!((totals.sessions, active), (1, (1, 1)));
    let day = store
        .session_totals(&other.account, &other.project_id, &days)
        .await
        .unwrap();
    assert_eq!((day[0].sessions, day[1].sessions), (0, 1));
    let (totals, _) = direct(store, &acme, all).await;
    assert_eq!(totals.sessions, 30);
}
