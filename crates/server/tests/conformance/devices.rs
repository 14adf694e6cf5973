//! `Devices`: ids unique per project (the same id may live in two projects), lists by id with
//! every filter, edits, deletes that say what they deleted, the credential look-up of the device
//! API, and the statuses a heartbeat or a log-out sets.

use super::*;
use teleoscope_server::model::{
    DeviceChanges, DeviceFilter, ModifyMode, Page, PolicyEdit, StatusFilter,
};

async fn listed(store: &dyn Store, scope: &Scope, filter: DeviceFilter) -> Vec<String> {
    let (total, rows) = store
        .list_devices(&scope.account, &scope.project_id, &filter, ALL)
        .await
        .unwrap();
    assert_eq!(total, rows.len() as u64, "{filter:?}");
    ids(&rows, |d| &d.device_id)
}

pub async fn devices_read_back_as_inserted(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    let mut device = acme.device(FIELD, DeviceType::Field);
    device.status = DeviceStatus::Ready;
    device.last_report_time = MIDNIGHT + 5;
    device.modify_time = MIDNIGHT + 6;
    store.insert_device(&device).await.unwrap();
    let mut auto = acme.device("auto_1", DeviceType::Remote);
    auto.auto_registered = true;
    store.insert_auto_device(&auto).await.unwrap();

    for d in [&device, &auto] {
        assert_same(
            &store
                .device(&acme.account, &acme.project_id, &d.device_id)
                .await
                .unwrap(),
            &Some(d.clone()),
        );
    }
    // The device API's look-up: by project id alone, with the device if it is registered.
    let project = store
        .project_by_id(&acme.project_id)
        .await
        .unwrap()
        .unwrap();
    let p = acme.project_id.as_str();
    let known = store.device_credential(p, FIELD).await.unwrap();
    assert_same(&known, &Some((project.clone(), Some(device))));
    let unknown = store.device_credential(p, "unknown").await.unwrap();
    assert_same(&unknown, &Some((project, None)));
    assert!(store
        .device_credential("missing", FIELD)
        .await
        .unwrap()
        .is_none());
}

/// A device id is taken once per project, however the device was made (`Conflict`, nothing
/// changed); the same id may name a device in another project, of this account or another.
pub async fn device_ids_are_unique_per_project(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let mut auto = acme.device(FIELD, DeviceType::Remote);
    auto.auto_registered = true;
    assert_conflict(
        store
            .insert_device(&acme.device(FIELD, DeviceType::Remote))
            .await,
    );
    assert_conflict(store.insert_auto_device(&auto).await);
    let mut first_auto = acme.device("auto_1", DeviceType::Field);
    first_auto.auto_registered = true;
    store.insert_auto_device(&first_auto).await.unwrap();
    assert_conflict(store.insert_auto_device(&first_auto).await);
    assert_conflict(
        store
            .insert_device(&acme.device("auto_1", DeviceType::Field))
            .await,
    );
    assert_same(
        &acme.stored_device(store, FIELD).await,
        &acme.device(FIELD, DeviceType::Field),
    );

    let second = Scope::create(store, "acme", "acme_2").await;
    let rival = Scope::rival(store).await;
    for scope in [&second, &rival] {
        let mut same_id = scope.device(FIELD, DeviceType::Remote);
        same_id.name = format!("of {}", scope.project_id);
        store.insert_device(&same_id).await.unwrap();
        assert_same(&scope.stored_device(store, FIELD).await, &same_id);
    }
    assert_same(
        &acme.stored_device(store, FIELD).await,
        &acme.device(FIELD, DeviceType::Field),
    );
}

/// By device id; `total` counts every match whatever the page, and a page past the end — even one
/// whose offset overflows — is empty.
pub async fn devices_list_by_id(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    for (id, ty) in [
        ("truck_3", DeviceType::Field),
        ("console_1", DeviceType::Remote),
        ("truck_1", DeviceType::Field),
        ("truck_2", DeviceType::Field),
        ("console_2", DeviceType::Remote),
    ] {
        acme.add_device(store, id, ty).await;
    }
    let other = Scope::create(store, "acme", "acme_2").await;
    other.add_device(store, "truck_0", DeviceType::Field).await;

    let every = DeviceFilter::default();
    let page = |number| Page { number, size: 2 };
    for (number, want) in [
        (1, vec!["console_1", "console_2"]),
        (2, vec!["truck_1", "truck_2"]),
        (3, vec!["truck_3"]),
        (4, vec![]),
    ] {
        let (total, rows) = store
            .list_devices(&acme.account, &acme.project_id, &every, page(number))
            .await
            .unwrap();
        assert_eq!(total, 5, "page {number}");
        assert_eq!(
            ids(&rows, |d| &d.device_id),
            strings(&want),
            "page {number}"
        );
    }
    let (total, rows) = store
        .list_devices(&acme.account, &acme.project_id, &every, FAR)
        .await
        .unwrap();
    assert_eq!((total, rows.len()), (5, 0));
}

/// Each filter: the type; a substring of the id or the name, `%` and `_` matched as themselves;
/// a status, `Online` being ready or connected; self-registered devices only when asked.
pub async fn device_lists_filter_by_type_status_and_search(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    for (id, ty, name, status, auto) in [
        (
            "truck_1",
            DeviceType::Field,
            "north yard",
            DeviceStatus::Offline,
            false,
        ),
        (
            "truckx1",
            DeviceType::Field,
            "spare",
            DeviceStatus::Ready,
            false,
        ),
        (
            "crane_2",
            DeviceType::Field,
            "100% up",
            DeviceStatus::Connected,
            false,
        ),
        (
            "console_1",
            DeviceType::Remote,
            "desk_a",
            DeviceStatus::Ready,
            false,
        ),
        (
            "console_2",
            DeviceType::Remote,
            "deskba",
            DeviceStatus::Offline,
            false,
        ),
        (
            "auto_1",
            DeviceType::Field,
            "auto",
            DeviceStatus::Ready,
            true,
        ),
    ] {
        let mut d = acme.device(id, ty);
        d.name = name.into();
        d.status = status;
        d.auto_registered = auto;
        store.insert_device(&d).await.unwrap();
    }
    let cases: Vec<(DeviceFilter, Vec<&str>)> = vec![
        (
            DeviceFilter::default(),
            vec!["console_1", "console_2", "crane_2", "truck_1", "truckx1"],
        ),
        (
            DeviceFilter {
                include_auto_registered: true,
                ..Default::default()
            },
            vec![
                "auto_1",
                "console_1",
                "console_2",
                "crane_2",
                "truck_1",
                "truckx1",
            ],
        ),
        (
            DeviceFilter {
                device_type: Some(DeviceType::Field),
                ..Default::default()
            },
            vec!["crane_2", "truck_1", "truckx1"],
        ),
        (
            DeviceFilter {
                device_type: Some(DeviceType::Remote),
                ..Default::default()
            },
            vec!["console_1", "console_2"],
        ),
        (search("ruck"), vec!["truck_1", "truckx1"]),
        (search("k_1"), vec!["truck_1"]),
        (search("yard"), vec!["truck_1"]),
        (search("%"), vec!["crane_2"]),
        (search("k_a"), vec!["console_1"]),
        (search("nothing"), vec![]),
        (
            status(StatusFilter::Is(DeviceStatus::Offline)),
            vec!["console_2", "truck_1"],
        ),
        (
            status(StatusFilter::Is(DeviceStatus::Ready)),
            vec!["console_1", "truckx1"],
        ),
        (
            status(StatusFilter::Is(DeviceStatus::Connected)),
            vec!["crane_2"],
        ),
        (
            status(StatusFilter::Online),
            vec!["console_1", "crane_2", "truckx1"],
        ),
        (
            DeviceFilter {
                device_type: Some(DeviceType::Field),
                search: Some("1".into()),
                status: Some(StatusFilter::Online),
                include_auto_registered: true,
            },
            vec!["auto_1", "crane_2", "truckx1"],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(
            listed(store, &acme, filter.clone()).await,
            strings(&want),
            "{filter:?}"
        );
    }
}

fn search(words: &str) -> DeviceFilter {
    DeviceFilter {
        search: Some(words.into()),
        ..Default::default()
    }
}

fn status(status: StatusFilter) -> DeviceFilter {
    DeviceFilter {
        status: Some(status),
        ..Default::default()
    }
}

/// An edit sets what it names and the modify time, and keeps the rest.
pub async fn device_changes_keep_what_they_do_not_name(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let (a, p) = (&acme.account, acme.project_id.as_str());
    let mut want = acme.device(FIELD, DeviceType::Field);
    let rename = DeviceChanges {
        name: Some("renamed".into()),
        ..Default::default()
    };
    assert!(store
        .update_device(a, p, FIELD, &rename, MIDNIGHT + 1)
        .await
        .unwrap());
    want.name = "renamed".into();
    want.modify_time = MIDNIGHT + 1;
    assert_same(&acme.stored_device(store, FIELD).await, &want);
    let token = DeviceChanges {
        token_sealed: Some("new token".into()),
        ..Default::default()
    };
    assert!(store
        .update_device(a, p, FIELD, &token, MIDNIGHT + 2)
        .await
        .unwrap());
    want.token_sealed = "new token".into();
    want.modify_time = MIDNIGHT + 2;
    assert_same(&acme.stored_device(store, FIELD).await, &want);
    assert!(!store
        .update_device(a, p, "missing", &rename, MIDNIGHT + 3)
        .await
        .unwrap());
    assert_same(
        &acme.stored_device(store, REMOTE).await,
        &acme.device(REMOTE, DeviceType::Remote),
    );
}

/// Deleting answers the ids it deleted, in the order asked, once each; a deleted device leaves
/// every policy list (as the remote whose list it was, and as a listed field device).
pub async fn deleting_devices_returns_what_was_deleted(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let (a, p) = (&acme.account, acme.project_id.as_str());
    acme.add_device(store, "truck_2", DeviceType::Field).await;
    acme.add_device(store, "console_2", DeviceType::Remote)
        .await;
    for remote in [REMOTE, "console_2"] {
        let edit = PolicyEdit {
            mode: PolicyMode::White,
            remote_device_id: remote.into(),
            how: ModifyMode::Add,
            field_device_ids: strings(&[FIELD, "truck_2"]),
        };
        store
            .modify_policy(a, p, &edit, MIDNIGHT)
            .await
            .unwrap()
            .unwrap();
    }

    let asked = strings(&["truck_2", "missing", REMOTE, "truck_2"]);
    assert_eq!(
        store.delete_devices(a, p, &asked).await.unwrap(),
        strings(&["truck_2", REMOTE])
    );
    assert!(store.device(a, p, "truck_2").await.unwrap().is_none());
    assert!(store.device(a, p, REMOTE).await.unwrap().is_none());
    assert_eq!(
        listed(store, &acme, DeviceFilter::default()).await,
        strings(&["console_2", FIELD])
    );
    assert!(store
        .policy_fields(a, p, PolicyMode::White, REMOTE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .policy_fields(a, p, PolicyMode::White, "console_2")
            .await
            .unwrap(),
        strings(&[FIELD])
    );
    assert!(store.delete_devices(a, p, &asked).await.unwrap().is_empty());
}

/// Another account's device answers like a missing one, and nothing the other account asks
/// changes it.
pub async fn foreign_accounts_see_no_device(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let rival = Scope::rival(store).await;
    let (r, p) = (&rival.account, acme.project_id.as_str());
    assert!(store.device(r, p, FIELD).await.unwrap().is_none());
    let everything = DeviceFilter {
        include_auto_registered: true,
        ..Default::default()
    };
    let (total, rows) = store.list_devices(r, p, &everything, ALL).await.unwrap();
    assert_eq!((total, rows.len()), (0, 0));
    let rename = DeviceChanges {
        name: Some("taken".into()),
        token_sealed: Some("taken".into()),
    };
    assert!(!store
        .update_device(r, p, FIELD, &rename, MIDNIGHT + 1)
        .await
        .unwrap());
    assert!(store
        .delete_devices(r, p, &strings(&[FIELD, REMOTE]))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .report_status(r, p, FIELD, DeviceStatus::Ready, MIDNIGHT + 2)
            .await
            .unwrap(),
        None
    );
    for (id, ty) in [(FIELD, DeviceType::Field), (REMOTE, DeviceType::Remote)] {
        assert_same(&acme.stored_device(store, id).await, &acme.device(id, ty));
    }
}

/// A heartbeat makes an offline device ready; the status's time moves only when the status does;
/// a connected device stays connected; a log-out makes it offline.
pub async fn report_status_moves_between_offline_and_ready(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let t = MIDNIGHT + 100;
    let (ready, offline) = (DeviceStatus::Ready, DeviceStatus::Offline);
    for (status, now, answer, time) in [
        (ready, t, ready, t),
        (ready, t + 10, ready, t),
        (offline, t + 20, offline, t + 20),
        (offline, t + 30, offline, t + 20),
    ] {
        assert_eq!(report(store, &acme, FIELD, status, now).await, answer);
        assert_eq!(status_and_time(store, &acme, FIELD).await, (answer, time));
    }

    accept(store, acme.remote_report("s_1", t, [0, 2])).await;
    let connected = (DeviceStatus::Connected, t + 2);
    assert_eq!(status_and_time(store, &acme, REMOTE).await, connected);
    assert_eq!(
        report(store, &acme, REMOTE, ready, t + 40).await,
        DeviceStatus::Connected
    );
    assert_eq!(status_and_time(store, &acme, REMOTE).await, connected);
}

async fn report(
    store: &dyn Store,
    scope: &Scope,
    device_id: &str,
    status: DeviceStatus,
    now: i64,
) -> DeviceStatus {
    store
        .report_status(&scope.account, &scope.project_id, device_id, status, now)
        .await
        .unwrap()
        .unwrap()
}

/// A device's status and the time it last changed.
async fn status_and_time(store: &dyn Store, scope: &Scope, device_id: &str) -> (DeviceStatus, i64) {
    let d = scope.stored_device(store, device_id).await;
    (d.status, d.last_report_time)
}

/// A log-out ends every open part of the device in its project (not those of a device with the
/// same id elsewhere, nor its peer's), and the sessions left without an open part.
pub async fn going_offline_ends_the_devices_open_parts(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let other = Scope::create(store, "acme", "acme_2").await;
    other.add_pair(store).await;
    let t = MIDNIGHT + 100;
    accept(store, acme.field_report("both", t, [0, 2])).await;
    accept(store, acme.remote_report("both", t, [0, 2])).await;
    accept(store, acme.field_report("alone", t, [0, 2])).await;
    accept(store, other.field_report("elsewhere", t, [0, 2])).await;

    let now = t + 10;
    let offline = DeviceStatus::Offline;
    assert_eq!(report(store, &acme, FIELD, offline, now).await, offline);
    assert_eq!(status_and_time(store, &acme, FIELD).await, (offline, now));

    let both = acme.session(store, "both").await;
    assert!(both.session.live, "the remote's part is open");
    let ended: Vec<(&str, bool)> = both
        .parts
        .iter()
        .map(|p| (p.part.device_id.as_str(), p.part.ended))
        .collect();
    assert_eq!(ended, vec![(FIELD, true), (REMOTE, false)]);
    let alone = acme.session(store, "alone").await;
    assert!(!alone.session.live);
    assert!(alone.parts[0].part.ended);
    assert_eq!(acme.status(store, REMOTE).await, DeviceStatus::Connected);

    let elsewhere = other.session(store, "elsewhere").await;
    assert!(elsewhere.session.live && !elsewhere.parts[0].part.ended);
    assert_eq!(other.status(store, FIELD).await, DeviceStatus::Connected);
}
