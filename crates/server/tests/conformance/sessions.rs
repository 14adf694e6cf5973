//! `Sessions`: appends create and join sessions, store each sample once (a retried report is all
//! duplicates), refuse what breaks a session's invariants without storing anything, end parts and
//! set device statuses; reads give the samples exactly as appended, cut by absolute time; lists
//! are newest first with every filter; the fleet overview counts and orders a window's sessions.

use super::*;
use teleoscope_server::model::quality::Grade;
use teleoscope_server::model::sessions::{DeviceBadSessionsRow, SessionFilter};
use teleoscope_server::model::Page;

/// A start time in the middle of a local day.
const T: i64 = MIDNIGHT + 10 * 3600;

async fn listed(store: &dyn Store, scope: &Scope, filter: &SessionFilter) -> Vec<String> {
    let (total, rows) = store
        .list_sessions(&scope.account, &scope.project_id, filter, ALL)
        .await
        .unwrap();
    assert_eq!(total, rows.len() as u64, "{filter:?}");
    ids(&rows, |s| &s.session_id)
}

pub async fn a_first_append_creates_the_session(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let report = acme.field_report("s_1", T, [0, 2, 4]);
    let columns = report.columns.clone();
    assert_eq!(accept(store, report).await, outcome(3, 0));

    let s = acme.session(store, "s_1").await;
    let row = &s.session;
    assert_eq!(
        (row.project_id.as_str(), row.session_id.as_str()),
        (acme.project_id.as_str(), "s_1")
    );
    assert_eq!(
        (row.field_device_id.as_str(), row.remote_device_id.as_str()),
        (FIELD, REMOTE)
    );
    assert_eq!(
        (row.start_time, row.end_time, row.last_update),
        (T, T + 4, T + 4)
    );
    let video = (
        row.width,
        row.height,
        row.config_width,
        row.config_height,
        row.multi_mode,
    );
    assert_eq!(video, (1280, 720, 1280, 720, 0));
    assert!(row.has_field_part && row.live);
    assert_eq!((row.quality, row.quality_final), (Grade::Good, false));
    assert!(row.reasons.is_empty());

    assert_eq!(s.parts.len(), 1);
    let (part, stored) = (&s.parts[0].part, &s.parts[0].columns);
    assert_eq!(
        (part.device_id.as_str(), part.device_type, part.start_time),
        (FIELD, DeviceType::Field, T)
    );
    assert_eq!(part.meta, meta(DeviceType::Field));
    assert_eq!(
        (part.last_offset, part.samples, part.last_report),
        (4, 3, T + 4)
    );
    assert!(!part.ended);
    assert_eq!(stored, &columns);
}

/// The peer's first report joins the session with its own part (parts listed field first); the
/// session spans from the earliest part start to the latest part end (start + last offset); the
/// video is the field device's, none until it reports.
pub async fn the_peer_joins_and_the_span_covers_both_parts(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.remote_report("s_1", T - 30, [0, 5])).await;
    let row = acme.session(store, "s_1").await.session;
    assert!(!row.has_field_part);
    assert_eq!(
        (row.width, row.height, row.start_time, row.end_time),
        (0, 0, T - 30, T - 25)
    );

    assert_eq!(
        accept(store, acme.field_report("s_1", T, (0..=10).step_by(2))).await,
        outcome(6, 0)
    );
    accept(store, acme.remote_report("s_1", T - 30, [50])).await;
    let s = acme.session(store, "s_1").await;
    assert!(s.session.has_field_part);
    assert_eq!((s.session.width, s.session.height), (1280, 720));
    assert_eq!((s.session.start_time, s.session.end_time), (T - 30, T + 20));
    let parts: Vec<(&str, i64, usize)> = s
        .parts
        .iter()
        .map(|p| {
            (
                p.part.device_id.as_str(),
                p.part.start_time,
                p.columns.len(),
            )
        })
        .collect();
    assert_eq!(parts, vec![(FIELD, T, 6), (REMOTE, T - 30, 3)]);
    assert_eq!(s.parts[1].part.meta, meta(DeviceType::Remote));

    accept(store, acme.field_report("s_1", T, [40])).await;
    let row = acme.session(store, "s_1").await.session;
    assert_eq!((row.start_time, row.end_time), (T - 30, T + 40));
}

/// Before a report: the peer device of the project (if any), and whether the reporting device
/// already has a part in the session.
pub async fn report_context_names_the_peer_and_whether_the_device_joined(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let (a, p) = (&acme.account, acme.project_id.as_str());
    let context = store
        .report_context(a, p, FIELD, REMOTE, "s_1")
        .await
        .unwrap();
    assert_same(
        &context.peer,
        &Some(acme.device(REMOTE, DeviceType::Remote)),
    );
    assert!(!context.joined);
    let context = store
        .report_context(a, p, FIELD, "ghost", "s_1")
        .await
        .unwrap();
    assert!(context.peer.is_none());

    accept(store, acme.field_report("s_1", T, [0])).await;
    accept(store, acme.field_report("s_2", T, [0])).await;
    let joined = |device, peer, session| async move {
        let context = store.report_context(a, p, device, peer, session).await;
        context.unwrap().joined
    };
    assert!(joined(FIELD, REMOTE, "s_1").await);
    assert!(!joined(REMOTE, FIELD, "s_1").await);
    assert!(!joined(FIELD, REMOTE, "s_3").await);
}

/// A `joined_only` append goes on only where the device joined the session with this peer and the
/// peer is still a device of the other type; refused, it stores nothing and the session is as before.
pub async fn joined_only_appends_need_a_joined_device_and_its_peer(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    acme.add_device(store, "console_2", DeviceType::Remote)
        .await;
    let joined_only = |mut a: Append| {
        a.joined_only = true;
        a
    };
    // Not joined yet: not even the session is made.
    let refused = refuse(store, joined_only(acme.field_report("s_1", T, [0]))).await;
    assert_eq!(refused, AppendRejection::NotJoined);
    assert!(store
        .session_samples(&acme.account, "s_1", None, None)
        .await
        .unwrap()
        .is_none());

    accept(store, acme.field_report("s_1", T, [0])).await;
    let before = acme.session(store, "s_1").await;
    for not_joined in [
        // The peer has not joined, and a device of the other session.
        joined_only(acme.remote_report("s_1", T, [2])),
        joined_only(acme.report("s_1", ("console_2", DeviceType::Remote), FIELD, T, [2])),
        // Another peer than the session's.
        joined_only(acme.report("s_1", (FIELD, DeviceType::Field), "console_2", T, [2])),
    ] {
        assert_eq!(refuse(store, not_joined).await, AppendRejection::NotJoined);
    }
    assert_same(&acme.session(store, "s_1").await, &before);

    assert_eq!(
        accept(store, joined_only(acme.field_report("s_1", T, [2, 4]))).await,
        outcome(2, 0)
    );
    // The peer deleted: refused again, and the full path decides.
    store
        .delete_devices(&acme.account, &acme.project_id, &[REMOTE.to_owned()])
        .await
        .unwrap();
    let refused = refuse(store, joined_only(acme.field_report("s_1", T, [6]))).await;
    assert_eq!(refused, AppendRejection::NotJoined);
    let s = acme.session(store, "s_1").await;
    assert_eq!(s.parts[0].columns.time_offset, [0, 2, 4]);
}

/// A sample is its offset in the part: a report sent again is all duplicates and changes nothing;
/// an overlapping one stores only its new samples, and a repeated offset keeps its first values.
pub async fn appends_are_idempotent(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let first = acme.field_report("s_1", T, [0, 2, 4]);
    assert_eq!(accept(store, first.clone()).await, outcome(3, 0));
    let before = acme.session(store, "s_1").await;
    assert_eq!(accept(store, first.clone()).await, outcome(0, 3));
    assert_same(&acme.session(store, "s_1").await, &before);

    let mut overlapping = acme.field_report("s_1", T, [2, 4, 6, 8]);
    for (_, values) in &mut overlapping.columns.metrics {
        values.iter_mut().for_each(|v| *v += 1000.0);
    }
    assert_eq!(accept(store, overlapping.clone()).await, outcome(2, 2));
    let want = {
        let mut want = samples([0, 2, 4, 6, 8]);
        for (i, (_, values)) in want.metrics.iter_mut().enumerate() {
            values[3..].copy_from_slice(&overlapping.columns.metrics[i].1[2..]);
        }
        want
    };
    let after = acme.session(store, "s_1").await;
    assert_eq!(after.parts[0].columns, want);
    assert_eq!(
        (after.parts[0].part.samples, after.parts[0].part.last_offset),
        (5, 8)
    );
    assert_eq!(after.session.end_time, T + 8);

    assert_eq!(accept(store, overlapping).await, outcome(0, 4));
    assert_eq!(accept(store, first).await, outcome(0, 3));
    assert_eq!(acme.session(store, "s_1").await.parts[0].columns, want);
}

/// Samples of later reports may come before earlier ones: a part reads back sorted by offset.
pub async fn late_samples_merge_in_offset_order(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for (offsets, accepted) in [(vec![10, 12], 2), (vec![0, 2], 2), (vec![4, 11, 14], 3)] {
        let report = acme.field_report("s_1", T, offsets);
        assert_eq!(accept(store, report).await, outcome(accepted, 0));
    }
    let s = acme.session(store, "s_1").await;
    assert_eq!(s.parts[0].columns, samples([0, 2, 4, 10, 11, 12, 14]));
    assert_eq!(
        (s.parts[0].part.samples, s.parts[0].part.last_offset),
        (7, 14)
    );
    assert_eq!((s.session.start_time, s.session.end_time), (T, T + 14));
}

/// Each refusal: the session id taken in another project, another device of the same type, a
/// peer that is not the session's, samples of another schema. A refused append stores nothing:
/// no sample, no part, no session, no status, even when it says it is the last.
pub async fn each_rejection_stores_nothing(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    acme.add_device(store, "truck_2", DeviceType::Field).await;
    acme.add_device(store, "console_2", DeviceType::Remote)
        .await;
    let other = Scope::create(store, "acme", "acme_2").await;
    other.add_pair(store).await;
    accept(store, acme.field_report("s_1", T, [0, 2])).await;
    accept(store, acme.remote_report("s_1", T, [0, 2])).await;
    let before = acme.session(store, "s_1").await;
    let statuses = [
        acme.stored_device(store, "truck_2").await,
        acme.stored_device(store, "console_2").await,
        other.stored_device(store, FIELD).await,
    ];

    let field = (FIELD, DeviceType::Field);
    let remote = (REMOTE, DeviceType::Remote);
    let mut other_schema = acme.field_report("s_1", T, [10, 12]);
    other_schema.columns.metrics.remove(0);
    let cases = [
        (
            other.field_report("s_1", T, [10, 12]),
            AppendRejection::SessionInOtherProject,
        ),
        (
            acme.report("s_1", ("truck_2", DeviceType::Field), REMOTE, T, [10, 12]),
            AppendRejection::OtherDevice {
                device_type: DeviceType::Field,
                existing: FIELD.into(),
            },
        ),
        (
            acme.report("s_1", ("console_2", DeviceType::Remote), FIELD, T, [10, 12]),
            AppendRejection::OtherDevice {
                device_type: DeviceType::Remote,
                existing: REMOTE.into(),
            },
        ),
        (
            acme.report("s_1", field, "console_2", T, [10, 12]),
            AppendRejection::PeerMismatch {
                expected: REMOTE.into(),
            },
        ),
        (
            acme.report("s_1", remote, "truck_2", T, [10, 12]),
            AppendRejection::PeerMismatch {
                expected: FIELD.into(),
            },
        ),
        (
            other_schema.clone(),
            AppendRejection::SchemaMismatch {
                expected: samples([0]).schema(),
                got: other_schema.columns.schema(),
            },
        ),
    ];
    for (mut append, rejection) in cases {
        append.last = true;
        append.now = T + 100;
        assert_eq!(refuse(store, append).await, rejection);
    }

    assert_same(&acme.session(store, "s_1").await, &before);
    assert_same(
        &[
            acme.stored_device(store, "truck_2").await,
            acme.stored_device(store, "console_2").await,
            other.stored_device(store, FIELD).await,
        ],
        &statuses,
    );
    assert!(listed(store, &other, &SessionFilter::default())
        .await
        .is_empty());
}

/// `last` ends the device's part (a last report may carry no samples); the session is live while
/// any part is open.
pub async fn the_last_report_ends_the_part(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.field_report("s_1", T, [0, 2])).await;
    accept(store, acme.remote_report("s_1", T, [0, 2])).await;
    let mut field_last = acme.field_report("s_1", T, [4]);
    field_last.last = true;
    assert_eq!(accept(store, field_last).await, outcome(1, 0));
    let s = acme.session(store, "s_1").await;
    assert!(s.session.live);
    assert_eq!(
        (s.parts[0].part.ended, s.parts[1].part.ended),
        (true, false)
    );

    let mut remote_last = acme.remote_report("s_1", T, []);
    remote_last.last = true;
    remote_last.now = T + 10;
    assert_eq!(accept(store, remote_last).await, outcome(0, 0));
    let s = acme.session(store, "s_1").await;
    assert!(!s.session.live);
    assert!(s.parts.iter().all(|p| p.part.ended));
    assert_eq!((s.parts[1].part.samples, s.parts[1].columns.len()), (2, 2));
    assert_eq!((s.session.end_time, s.session.last_update), (T + 4, T + 10));
}

/// A device's live reports make it `connected` while it has an open part (the status's time is
/// when it became so); when its last open part ends it is `ready` (a report is a heartbeat).
/// Imported history changes no status.
pub async fn devices_are_connected_while_a_part_is_open(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let state = |d: Device| (d.status, d.last_report_time);
    let connected = (DeviceStatus::Connected, T + 2);
    accept(store, acme.field_report("s_1", T, [0, 2])).await;
    assert_eq!(state(acme.stored_device(store, FIELD).await), connected);
    accept(store, acme.field_report("s_1", T, [4, 6])).await;
    accept(store, acme.field_report("s_2", T, [0, 8])).await;
    assert_eq!(state(acme.stored_device(store, FIELD).await), connected);

    let mut last = acme.field_report("s_1", T, [10]);
    last.last = true;
    accept(store, last).await;
    assert_eq!(state(acme.stored_device(store, FIELD).await), connected);
    let mut last = acme.field_report("s_2", T, [12]);
    last.last = true;
    accept(store, last).await;
    assert_eq!(
        state(acme.stored_device(store, FIELD).await),
        (DeviceStatus::Ready, T + 12)
    );

    let mut import = acme.remote_report("s_3", T, [0, 2]);
    import.from_device = false;
    import.last = true;
    accept(store, import).await;
    assert_same(
        &acme.stored_device(store, REMOTE).await,
        &acme.device(REMOTE, DeviceType::Remote),
    );
}

/// [from, to] keeps the samples whose absolute time (part start + offset) lies within, both bounds
/// included, each optional; a part with none left is still listed.
pub async fn session_samples_are_cut_by_absolute_time(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.field_report("s_1", T, (0..=20).step_by(2))).await;
    accept(store, acme.remote_report("s_1", T + 5, 0..=10)).await;
    let whole = acme.session(store, "s_1").await;
    let cases = [
        (
            Some(T + 4),
            Some(T + 10),
            vec![4, 6, 8, 10],
            vec![0, 1, 2, 3, 4, 5],
        ),
        (Some(T + 16), None, vec![16, 18, 20], vec![]),
        (None, Some(T + 5), vec![0, 2, 4], vec![0]),
        (Some(T + 100), Some(T + 200), vec![], vec![]),
    ];
    for (from, to, field, remote) in cases {
        let cut = store
            .session_samples(&acme.account, "s_1", from, to)
            .await
            .unwrap()
            .unwrap();
        assert_same(&cut.session, &whole.session);
        assert_eq!(cut.parts.len(), 2, "{from:?}..{to:?}");
        let wanted = whole.parts.iter().zip([field, remote]);
        for (part, (whole_part, want)) in cut.parts.iter().zip(wanted) {
            assert_same(&part.part, &whole_part.part);
            if want.is_empty() {
                assert!(
                    part.columns.is_empty(),
                    "{from:?}..{to:?}: {:?}",
                    part.columns
                );
            } else {
                assert_eq!(part.columns, samples(want), "{from:?}..{to:?}");
            }
        }
    }
}

/// A session id is unique per account: two accounts may each have their own `s_1`.
pub async fn session_ids_are_unique_per_account(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let rival = Scope::rival(store).await;
    rival.add_pair(store).await;
    accept(store, acme.field_report("s_1", T, [0, 2])).await;
    assert_eq!(
        accept(store, rival.field_report("s_1", T + 60, [0, 2, 4])).await,
        outcome(3, 0)
    );
    assert_eq!(
        accept(store, rival.remote_report("s_1", T + 60, [0])).await,
        outcome(1, 0)
    );
    let (ours, theirs) = (
        acme.session(store, "s_1").await,
        rival.session(store, "s_1").await,
    );
    assert_eq!(
        (ours.session.project_id.as_str(), ours.parts.len()),
        ("acme_1", 1)
    );
    assert_eq!(ours.parts[0].columns, samples([0, 2]));
    assert_eq!(
        (theirs.session.project_id.as_str(), theirs.parts.len()),
        ("rival_1", 2)
    );
    assert_eq!(theirs.parts[0].columns, samples([0, 2, 4]));
}

/// Another account's session answers like a missing one in every read.
pub async fn foreign_accounts_see_no_session(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.field_report("s_1", T, [0, 2])).await;
    let mut bad = acme.field_report("s_2", T, [0]);
    bad.now = T + 1;
    accept(store, bad).await;
    grade(store, &acme, "s_2", Grade::Bad, &["Lost"]).await;
    let rival = Scope::rival(store).await;
    let (r, p) = (&rival.account, acme.project_id.as_str());

    assert!(store
        .session_samples(r, "s_1", None, None)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .session_samples(&acme.account, "s_9", None, None)
        .await
        .unwrap()
        .is_none());
    let everything = [
        SessionFilter::default(),
        SessionFilter {
            device_id: Some(FIELD.into()),
            ..Default::default()
        },
        SessionFilter {
            quality: Some(Grade::Bad),
            ..Default::default()
        },
    ];
    for filter in &everything {
        let (total, rows) = store.list_sessions(r, p, filter, ALL).await.unwrap();
        assert_eq!((total, rows.len()), (0, 0), "{filter:?}");
        assert!(!listed(store, &acme, filter).await.is_empty());
    }
    let overview = store
        .fleet_overview(r, p, (T - DAY, T + DAY), 10)
        .await
        .unwrap();
    assert_eq!((overview.good, overview.normal, overview.bad), (0, 0, 0));
    assert!(overview.worst.is_empty() && overview.devices.is_empty());
    let context = store
        .report_context(r, p, FIELD, REMOTE, "s_1")
        .await
        .unwrap();
    assert!(context.peer.is_none() && !context.joined);
}

/// Newest start first, ties by session id, with or without filters; `total` counts every match
/// whatever the page, and a page past the end — even one whose offset overflows — is empty.
pub async fn sessions_list_newest_first_ties_by_id(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for (id, start) in [
        ("s_c", T + 7200),
        ("s_e", T),
        ("s_a", T + 7200),
        ("s_d", T + 10805),
        ("s_f", T - 5 * 3600),
        ("s_b", T + 7200),
        ("s_g", T + 8999),
    ] {
        accept(store, acme.field_report(id, start, [0, 2])).await;
    }
    let newest_first = strings(&["s_d", "s_g", "s_a", "s_b", "s_c", "s_e", "s_f"]);
    for filter in [
        SessionFilter::default(),
        SessionFilter {
            device_id: Some(FIELD.into()),
            ..Default::default()
        },
        SessionFilter {
            from: Some(T - DAY),
            live: Some(true),
            ..Default::default()
        },
    ] {
        for size in [2, 3, 7] {
            let mut paged = Vec::new();
            for number in 1..=(7 / size + 1) {
                let page = Page { number, size };
                let (total, rows) = store
                    .list_sessions(&acme.account, &acme.project_id, &filter, page)
                    .await
                    .unwrap();
                assert_eq!(total, 7, "{filter:?} {page:?}");
                paged.extend(ids(&rows, |s| &s.session_id));
            }
            assert_eq!(paged, newest_first, "{filter:?} by {size}");
        }
        let (total, rows) = store
            .list_sessions(&acme.account, &acme.project_id, &filter, FAR)
            .await
            .unwrap();
        assert_eq!((total, rows.len()), (7, 0), "{filter:?}");
    }
}

/// A device matches either end; `from`/`to` keep the sessions whose span [start, end] meets
/// [from, to] (bounds included, each optional), or with `by_start` whose start lies in it.
pub async fn session_lists_filter_by_device_and_time(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for (id, field, remote, start) in [
        ("a", FIELD, REMOTE, T),
        ("b", "truck_2", REMOTE, T + 200),
        ("c", FIELD, "console_2", T + 400),
    ] {
        let report = acme.report(id, (field, DeviceType::Field), remote, start, [0, 100]);
        accept(store, report).await;
    }
    let filter =
        |device: Option<&str>, from: Option<i64>, to: Option<i64>, by_start: bool| SessionFilter {
            device_id: device.map(str::to_owned),
            from,
            to,
            by_start,
            ..Default::default()
        };
    for (f, want) in [
        (filter(Some(FIELD), None, None, false), vec!["c", "a"]),
        (filter(Some(REMOTE), None, None, false), vec!["b", "a"]),
        (filter(Some("truck_2"), None, None, false), vec!["b"]),
        (filter(Some("ghost"), None, None, false), vec![]),
        (
            filter(None, Some(T + 100), Some(T + 200), false),
            vec!["b", "a"],
        ),
        (filter(None, Some(T + 101), None, false), vec!["c", "b"]),
        (filter(None, None, Some(T + 199), false), vec!["a"]),
        (filter(None, Some(T + 301), Some(T + 399), false), vec![]),
        (
            filter(None, Some(T + 100), Some(T + 400), true),
            vec!["c", "b"],
        ),
        (filter(None, Some(T), Some(T), true), vec!["a"]),
        (filter(None, Some(T + 1), None, true), vec!["c", "b"]),
        (filter(Some(FIELD), Some(T + 101), None, false), vec!["c"]),
    ] {
        assert_eq!(listed(store, &acme, &f).await, strings(&want), "{f:?}");
    }
}

/// `updated_since` keeps the sessions with a report since then; `quality` those of a stored
/// grade; `reason` those with a stored reason of exactly that metric; `live` the live or ended.
pub async fn session_lists_filter_by_update_quality_reason_and_liveness(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for (id, start, offsets, last) in [
        ("a", T, vec![0, 10], true),
        ("b", T + 1, vec![0, 19], false),
        ("c", T + 2, vec![0, 28], true),
    ] {
        let mut report = acme.field_report(id, start, offsets);
        report.last = last;
        accept(store, report).await;
    }
    grade(store, &acme, "a", Grade::Bad, &["Lost", "Fps"]).await;
    grade(store, &acme, "b", Grade::Normal, &["MultiNet.Lost"]).await;
    let filter = |f: fn(&mut SessionFilter)| {
        let mut filter = SessionFilter::default();
        f(&mut filter);
        filter
    };
    for (f, want) in [
        (filter(|f| f.updated_since = Some(T + 20)), vec!["c", "b"]),
        (filter(|f| f.updated_since = Some(T + 31)), vec![]),
        (filter(|f| f.quality = Some(Grade::Bad)), vec!["a"]),
        (filter(|f| f.quality = Some(Grade::Normal)), vec!["b"]),
        (filter(|f| f.quality = Some(Grade::Good)), vec!["c"]),
        (filter(|f| f.reason = Some("Lost".into())), vec!["a"]),
        (
            filter(|f| f.reason = Some("MultiNet.Lost".into())),
            vec!["b"],
        ),
        (filter(|f| f.reason = Some("VideoLatency".into())), vec![]),
        (filter(|f| f.live = Some(true)), vec!["b"]),
        (filter(|f| f.live = Some(false)), vec!["c", "a"]),
        (
            filter(|f| {
                f.live = Some(false);
                f.quality = Some(Grade::Bad);
                f.device_id = Some(FIELD.into());
            }),
            vec!["a"],
        ),
    ] {
        assert_eq!(listed(store, &acme, &f).await, strings(&want), "{f:?}");
    }
}

/// The sessions starting in [from, to): their count per grade; the worst (bad, then normal, then
/// good; then most reasons, newest, session id); the devices with most bad sessions (then field
/// before remote, then id) with all their sessions of the window; both lists at most `limit`.
pub async fn fleet_overview_counts_and_orders(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let w = T;
    let (good, normal, bad) = (Grade::Good, Grade::Normal, Grade::Bad);
    // Id, start, field and remote device, grade, reasons.
    let sessions = [
        ("x0", w, "truck_2", "console_2", good, vec![]),
        ("x1", w + 10, "truck_1", "console_1", bad, vec!["Lost"]),
        (
            "x2",
            w + 20,
            "truck_2",
            "console_1",
            bad,
            vec!["Lost", "Fps"],
        ),
        ("x3b", w + 30, "truck_1", "console_2", bad, vec!["Fps"]),
        ("x3a", w + 30, "truck_3", "console_1", bad, vec!["Lost"]),
        ("x4", w + 40, "truck_1", "console_1", normal, vec!["Fps"]),
        ("x5", w + 50, "truck_2", "console_2", good, vec![]),
        ("x6", w + 60, "truck_3", "console_1", good, vec![]),
        ("before", w - 1, "truck_1", "console_1", bad, vec!["Lost"]),
        (
            "at_end",
            w + 3600,
            "truck_1",
            "console_1",
            bad,
            vec!["Lost"],
        ),
    ];
    for (id, start, field, remote, g, reasons) in sessions {
        let report = acme.report(id, (field, DeviceType::Field), remote, start, [0, 5]);
        accept(store, report).await;
        grade(store, &acme, id, g, &reasons).await;
    }
    let device = |id: &str, device_type, bad_sessions, sessions| DeviceBadSessionsRow {
        device_id: id.into(),
        device_type,
        bad_sessions,
        sessions,
    };
    let devices = [
        device("console_1", DeviceType::Remote, 3, 5),
        device("truck_1", DeviceType::Field, 2, 3),
        device("truck_2", DeviceType::Field, 1, 3),
        device("truck_3", DeviceType::Field, 1, 2),
        device("console_2", DeviceType::Remote, 1, 3),
    ];
    let worst = ["x2", "x3a", "x3b", "x1", "x4", "x6", "x5", "x0"];
    for limit in [10, 3] {
        let overview = store
            .fleet_overview(&acme.account, &acme.project_id, (w, w + 3600), limit)
            .await
            .unwrap();
        assert_eq!((overview.good, overview.normal, overview.bad), (3, 1, 4));
        let shown = worst.len().min(limit);
        assert_eq!(
            ids(&overview.worst, |s| &s.session_id),
            strings(&worst[..shown])
        );
        assert_eq!(overview.devices, devices[..devices.len().min(limit)]);
    }
}
