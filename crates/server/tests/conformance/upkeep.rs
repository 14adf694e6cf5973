//! `Upkeep`, across every account: idle parts end and their devices go ready or offline, stale
//! heartbeats expire, compaction never changes what a read gives, and scoring lists the sessions
//! whose grade is stale until a final grade of an ended, unchanged session, retention drops old
//! samples and nothing else; and `ping`.

use super::*;
use teleoscope_server::model::quality::Grade;

/// A start time in the middle of a local day.
const T: i64 = MIDNIGHT + 10 * 3600;

/// Runs compaction until it finds nothing to do.
async fn compact_all(store: &dyn Store) {
    for _ in 0..100 {
        if store.compact_parts(100).await.unwrap() == 0 {
            return;
        }
    }
    panic!("compaction still finds work after 100 rounds");
}

async fn key_of(store: &dyn Store, scope: &Scope, session_id: &str) -> i64 {
    scope.session(store, session_id).await.session.session_key
}

async fn to_score(store: &dyn Store) -> Vec<i64> {
    let mut keys = store.sessions_to_score(100).await.unwrap();
    keys.sort();
    keys
}

/// Saves a good grade, final if asked, as of `scored_at`.
async fn score_good(store: &dyn Store, session_key: i64, is_final: bool, scored_at: i64) {
    let good = Assessment::good();
    store
        .save_quality(session_key, &good, is_final, scored_at)
        .await
        .unwrap();
}

/// A device's status and the time it last changed.
async fn state(store: &dyn Store, scope: &Scope, device_id: &str) -> (DeviceStatus, i64) {
    let d = scope.stored_device(store, device_id).await;
    (d.status, d.last_report_time)
}

/// Parts without a report since `cutoff` end (a report at `cutoff` counts), and so do sessions
/// left without an open part; a device left without an open part is `ready` if it sent a
/// heartbeat since `heartbeat_cutoff`, else `offline`.
pub async fn idle_parts_end(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for n in 2..=5 {
        acme.add_device(store, &format!("truck_{n}"), DeviceType::Field)
            .await;
    }
    for (session, field, last_offset) in [
        ("a", "truck_1", 100),
        ("b", "truck_2", 120),
        ("c", "truck_3", 200),
        ("d", "truck_4", 150),
        ("e1", "truck_5", 100),
        ("e2", "truck_5", 200),
    ] {
        let report = acme.report(
            session,
            (field, DeviceType::Field),
            REMOTE,
            T,
            [0, last_offset],
        );
        accept(store, report).await;
    }
    let heartbeat = store
        .report_status(
            &acme.account,
            &acme.project_id,
            "truck_2",
            DeviceStatus::Ready,
            T + 140,
        )
        .await
        .unwrap();
    assert_eq!(heartbeat, Some(DeviceStatus::Connected));

    let (cutoff, heartbeat_cutoff, now) = (T + 150, T + 130, T + 300);
    assert_eq!(
        store
            .end_idle_parts(cutoff, heartbeat_cutoff, now)
            .await
            .unwrap(),
        3
    );
    for (session, ended) in [
        ("a", true),
        ("b", true),
        ("c", false),
        ("d", false),
        ("e1", true),
        ("e2", false),
    ] {
        let s = acme.session(store, session).await;
        assert_eq!(
            (s.parts[0].part.ended, s.session.live),
            (ended, !ended),
            "{session}"
        );
    }
    for (device, want) in [
        ("truck_1", (DeviceStatus::Offline, now)),
        ("truck_2", (DeviceStatus::Ready, now)),
        ("truck_3", (DeviceStatus::Connected, T + 200)),
        ("truck_4", (DeviceStatus::Connected, T + 150)),
        ("truck_5", (DeviceStatus::Connected, T + 100)),
    ] {
        assert_eq!(state(store, &acme, device).await, want, "{device}");
    }
    assert_eq!(
        store
            .end_idle_parts(cutoff, heartbeat_cutoff, now)
            .await
            .unwrap(),
        0
    );
}

/// Ready devices of every account without a heartbeat since `cutoff` (one at `cutoff` counts) go
/// offline; connected devices stay.
pub async fn heartbeats_expire(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let rival = Scope::rival(store).await;
    rival.add_device(store, "truck_9", DeviceType::Field).await;
    for n in 2..=3 {
        acme.add_device(store, &format!("truck_{n}"), DeviceType::Field)
            .await;
    }
    for (scope, device, at) in [
        (&acme, "truck_1", T),
        (&acme, "truck_2", T + 100),
        (&acme, "truck_3", T + 50),
        (&rival, "truck_9", T),
    ] {
        store
            .report_status(
                &scope.account,
                &scope.project_id,
                device,
                DeviceStatus::Ready,
                at,
            )
            .await
            .unwrap();
    }
    accept(store, acme.remote_report("s_1", T - 10, [0, 10])).await;

    let (cutoff, now) = (T + 50, T + 300);
    assert_eq!(store.expire_heartbeats(cutoff, now).await.unwrap(), 2);
    assert_eq!(
        state(store, &acme, "truck_1").await,
        (DeviceStatus::Offline, now)
    );
    assert_eq!(
        state(store, &rival, "truck_9").await,
        (DeviceStatus::Offline, now)
    );
    assert_eq!(
        state(store, &acme, "truck_2").await,
        (DeviceStatus::Ready, T + 100)
    );
    assert_eq!(
        state(store, &acme, "truck_3").await,
        (DeviceStatus::Ready, T + 50)
    );
    assert_eq!(
        state(store, &acme, REMOTE).await,
        (DeviceStatus::Connected, T)
    );
    assert_eq!(store.expire_heartbeats(cutoff, now).await.unwrap(), 0);
}

/// A live session of many small reports, some late, reads the same after compaction, whole and
/// cut; a report sent again after it is still all duplicates.
pub async fn compaction_preserves_samples(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for i in 0..100 {
        accept(store, acme.field_report("s_1", T, [4 * i, 4 * i + 2])).await;
    }
    for i in 0..70 {
        accept(store, acme.remote_report("s_1", T + 1, [3 * i])).await;
    }
    accept(store, acme.field_report("s_1", T, [1, 5, 9])).await;
    let mut field_offsets: Vec<i64> = (0..100)
        .flat_map(|i| [4 * i, 4 * i + 2])
        .chain([1, 5, 9])
        .collect();
    field_offsets.sort();

    let whole = acme.session(store, "s_1").await;
    assert_eq!(whole.parts[0].columns, samples(field_offsets.clone()));
    let window = (Some(T + 101), Some(T + 250));
    let cut_before = store
        .session_samples(&acme.account, "s_1", window.0, window.1)
        .await
        .unwrap();
    compact_all(store).await;
    assert_same(&acme.session(store, "s_1").await, &whole);
    assert_same(
        &store
            .session_samples(&acme.account, "s_1", window.0, window.1)
            .await
            .unwrap(),
        &cut_before,
    );

    assert_eq!(
        accept(store, acme.field_report("s_1", T, [0, 2, 5])).await,
        outcome(0, 3)
    );
    assert_eq!(
        accept(store, acme.field_report("s_1", T, [398, 400])).await,
        outcome(1, 1)
    );
    compact_all(store).await;
    field_offsets.push(400);
    assert_eq!(
        acme.session(store, "s_1").await.parts[0].columns,
        samples(field_offsets)
    );
}

/// Parts ended by their last report or by the idle timeout read the same after compaction.
pub async fn compaction_preserves_an_ended_part(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    for i in 0..10 {
        accept(store, acme.field_report("s_1", T, [2 * i])).await;
        accept(store, acme.remote_report("s_1", T, [3 * i])).await;
    }
    let mut last = acme.field_report("s_1", T, [20]);
    last.last = true;
    accept(store, last).await;
    assert_eq!(store.end_idle_parts(T + 100, T, T + 200).await.unwrap(), 1);
    let ended = acme.session(store, "s_1").await;
    assert!(ended.parts.iter().all(|p| p.part.ended));

    compact_all(store).await;
    assert_same(&acme.session(store, "s_1").await, &ended);
    assert_eq!(ended.parts[0].columns, samples((0..=20).step_by(2)));
    assert_eq!(ended.parts[1].columns, samples((0..10).map(|i| 3 * i)));
}

/// Sessions never scored are listed (at most `limit`), and read whole by key. A grade saved as of
/// the session's last update takes it off the list; it is final only if the session has ended. A
/// grade saved as of before the last update (a report came in while scoring) is not final.
pub async fn scoring_is_final_only_for_an_ended_unchanged_session(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.field_report("live", T, [0, 20])).await;
    for (id, last_offset) in [("ended", 30), ("late", 40)] {
        let mut report = acme.field_report(id, T, [0, last_offset]);
        report.last = true;
        accept(store, report).await;
    }
    let live = key_of(store, &acme, "live").await;
    let ended = key_of(store, &acme, "ended").await;
    let late = key_of(store, &acme, "late").await;
    let mut all = vec![live, ended, late];
    all.sort();
    assert_eq!(to_score(store).await, all);
    assert_eq!(store.sessions_to_score(2).await.unwrap().len(), 2);
    assert_same(
        &store.session_to_score(ended).await.unwrap(),
        &Some(acme.session(store, "ended").await),
    );
    let unknown = all[2] + 1000;
    assert!(store.session_to_score(unknown).await.unwrap().is_none());

    let bad = assessment(Grade::Bad, &["Lost", "Fps"]);
    store.save_quality(ended, &bad, true, T + 30).await.unwrap();
    let row = acme.session(store, "ended").await.session;
    assert_eq!((row.quality, row.quality_final), (Grade::Bad, true));
    assert_eq!(row.reasons, bad.reasons);

    let normal = assessment(Grade::Normal, &["Fps"]);
    store
        .save_quality(live, &normal, true, T + 20)
        .await
        .unwrap();
    let row = acme.session(store, "live").await.session;
    assert_eq!((row.quality, row.quality_final), (Grade::Normal, false));

    score_good(store, late, true, T + 39).await;
    let row = acme.session(store, "late").await.session;
    assert_eq!((row.quality, row.quality_final), (Grade::Good, false));
    assert_eq!(to_score(store).await, vec![late]);
}

/// New samples make a scored session's grade stale again: an ended session's final grade stops
/// being final, and a live one is listed again.
pub async fn a_scored_session_with_new_samples_is_scored_again(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    accept(store, acme.field_report("live", T, [0, 20])).await;
    let mut report = acme.field_report("ended", T, [0, 30]);
    report.last = true;
    accept(store, report).await;
    let (live, ended) = (
        key_of(store, &acme, "live").await,
        key_of(store, &acme, "ended").await,
    );
    score_good(store, live, false, T + 20).await;
    score_good(store, ended, true, T + 30).await;
    assert!(to_score(store).await.is_empty());

    accept(store, acme.field_report("live", T, [80])).await;
    let mut report = acme.field_report("ended", T, [90]);
    report.last = true;
    accept(store, report).await;
    let mut both = vec![live, ended];
    both.sort();
    assert_eq!(to_score(store).await, both);
    assert!(!acme.session(store, "ended").await.session.quality_final);

    score_good(store, live, false, T + 80).await;
    score_good(store, ended, true, T + 90).await;
    assert!(acme.session(store, "ended").await.session.quality_final);
    assert!(to_score(store).await.is_empty());
}

/// Retention drops the samples of sessions weeks older than its time, and nothing else: their
/// sessions and parts read as before without samples, newer sessions read whole, and the rollups
/// do not change. A second run finds nothing to drop, and compaction no work left behind.
pub async fn retention_drops_old_samples_and_nothing_else(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let old = T - 5 * 7 * DAY;
    for i in 0..3 {
        accept(store, acme.field_report("old", old, [10 * i, 10 * i + 5])).await;
    }
    let mut last = acme.field_report("old", old, [40]);
    last.last = true;
    accept(store, last).await;
    accept(store, acme.remote_report("old", old, [0, 30])).await;
    for i in 0..3 {
        accept(store, acme.field_report("new", T, [10 * i])).await;
    }
    let window = [(old - DAY, T + DAY)];
    let totals = store
        .session_totals(&acme.account, &acme.project_id, &window)
        .await
        .unwrap();
    let facts = store
        .session_facts(
            &acme.account,
            &acme.project_id,
            None,
            window[0].0,
            window[0].1,
        )
        .await
        .unwrap();
    let (old_before, new_before) = (
        acme.session(store, "old").await,
        acme.session(store, "new").await,
    );

    let before = T - 2 * 7 * DAY;
    assert!(store.drop_samples_before(before).await.unwrap() > 0);
    let old_after = acme.session(store, "old").await;
    assert_same(&old_after.session, &old_before.session);
    assert_eq!(old_after.parts.len(), old_before.parts.len());
    for (after, before) in old_after.parts.iter().zip(&old_before.parts) {
        assert_same(&after.part, &before.part);
        assert!(after.columns.is_empty(), "{:?}", after.columns);
    }
    assert_same(&acme.session(store, "new").await, &new_before);
    assert_eq!(
        store
            .session_totals(&acme.account, &acme.project_id, &window)
            .await
            .unwrap(),
        totals
    );
    assert_same(
        &store
            .session_facts(
                &acme.account,
                &acme.project_id,
                None,
                window[0].0,
                window[0].1,
            )
            .await
            .unwrap(),
        &facts,
    );

    assert_eq!(store.drop_samples_before(before).await.unwrap(), 0);
    compact_all(store).await;
    assert_same(&acme.session(store, "old").await, &old_after);
}

pub async fn ping_answers_on_a_healthy_store(store: &dyn Store) {
    store.ping().await.unwrap();
    Scope::acme_with_pair(store).await;
    store.ping().await.unwrap();
}
