//! `Projects`: project ids are unique across accounts (a device credential names the project
//! alone), lists are oldest first, a foreign project is a missing one, and deleting a project
//! removes everything it owns.

use super::*;
use teleoscope_server::model::sessions::SessionFilter;
use teleoscope_server::model::usage::{Grain, Totals};
use teleoscope_server::model::{
    AutoRegister, Callback, DeviceFilter, ModifyMode, Page, PolicyEdit, ProjectChanges, SecMode,
};

pub async fn projects_read_back_as_inserted(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    let inserted = project(&acme.account, "acme_1", MIDNIGHT);
    assert_same(
        &store.project(&acme.account, "acme_1").await.unwrap(),
        &Some(inserted.clone()),
    );
    assert_same(
        &store.project_by_id("acme_1").await.unwrap(),
        &Some(inserted),
    );
    assert!(store
        .project(&acme.account, "acme_2")
        .await
        .unwrap()
        .is_none());
    assert!(store.project_by_id("acme_2").await.unwrap().is_none());
}

/// Its settings too: a project inserted with its shared-key mode and callback (as an import or a
/// migration would) reads back with them.
pub async fn projects_keep_their_settings_from_the_insert(store: &dyn Store) {
    let acme = AccountId("acme".into());
    store.create_account(&acme, MIDNIGHT).await.unwrap();
    let mut inserted = project(&acme, "acme_1", MIDNIGHT);
    inserted.sec_mode = SecMode {
        enabled: true,
        key_sealed: Some("sealed-key".into()),
        auto_register: AutoRegister::Both,
        field_list_enable: true,
    };
    inserted.callback = Some(Callback {
        url: "https://ops.example/hook".into(),
        sign_key_sealed: Some("sealed-sign".into()),
    });
    store.insert_project(&inserted).await.unwrap();
    assert_same(
        &store.project(&acme, "acme_1").await.unwrap(),
        &Some(inserted),
    );
}

/// A project id is taken once, whatever the account (`project_by_id` answers one project); a
/// second insert is a `Conflict` and changes nothing.
pub async fn project_ids_are_unique(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "same_id").await;
    let rival = Scope::rival(store).await;
    let mut again = project(&acme.account, "same_id", MIDNIGHT + 1);
    again.name = "Again".into();
    assert_conflict(store.insert_project(&again).await);
    assert_conflict(
        store
            .insert_project(&project(&rival.account, "same_id", MIDNIGHT + 1))
            .await,
    );
    let stored = store.project_by_id("same_id").await.unwrap().unwrap();
    assert_same(&stored, &project(&acme.account, "same_id", MIDNIGHT));
    assert_eq!(store.list_projects(&rival.account, ALL).await.unwrap().0, 1);
}

/// Oldest first, `total` counts every project of the account whatever the page, and a page past
/// the end — even one whose offset overflows — is empty.
pub async fn projects_list_oldest_first(store: &dyn Store) {
    let acme = AccountId("acme".into());
    store.create_account(&acme, MIDNIGHT).await.unwrap();
    for (id, age) in [
        ("p_c", 30),
        ("p_a", 10),
        ("p_e", 50),
        ("p_b", 20),
        ("p_d", 40),
    ] {
        store
            .insert_project(&project(&acme, id, MIDNIGHT + age))
            .await
            .unwrap();
    }
    Scope::rival(store).await;
    let page = |number| Page { number, size: 2 };
    for (number, want) in [
        (1, vec!["p_a", "p_b"]),
        (2, vec!["p_c", "p_d"]),
        (3, vec!["p_e"]),
        (4, vec![]),
    ] {
        let (total, rows) = store.list_projects(&acme, page(number)).await.unwrap();
        assert_eq!(total, 5, "page {number}");
        assert_eq!(
            ids(&rows, |p| &p.project_id),
            strings(&want),
            "page {number}"
        );
    }
    let (total, rows) = store.list_projects(&acme, FAR).await.unwrap();
    assert_eq!((total, rows.len()), (5, 0));
}

/// Each change sets what it names and the modify time, and keeps the rest.
pub async fn project_changes_keep_what_they_do_not_name(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    let (a, p) = (&acme.account, "acme_1");
    let mut want = project(a, p, MIDNIGHT);

    let rename = ProjectChanges {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    assert!(store
        .update_project(a, p, &rename, MIDNIGHT + 1)
        .await
        .unwrap());
    want.name = "Renamed".into();
    want.modify_time = MIDNIGHT + 1;
    assert_same(&store.project(a, p).await.unwrap(), &Some(want.clone()));

    let rest = ProjectChanges {
        description: Some("quarry".into()),
        policy_mode: Some(PolicyMode::White),
        ..Default::default()
    };
    assert!(store
        .update_project(a, p, &rest, MIDNIGHT + 2)
        .await
        .unwrap());
    want.description = "quarry".into();
    want.policy_mode = PolicyMode::White;
    want.modify_time = MIDNIGHT + 2;
    assert_same(&store.project(a, p).await.unwrap(), &Some(want.clone()));

    let sec = SecMode {
        enabled: true,
        key_sealed: Some("sealed project key".into()),
        auto_register: AutoRegister::Both,
        field_list_enable: true,
    };
    assert!(store.set_sec_mode(a, p, &sec, MIDNIGHT + 3).await.unwrap());
    want.sec_mode = sec;
    want.modify_time = MIDNIGHT + 3;
    assert_same(&store.project(a, p).await.unwrap(), &Some(want.clone()));

    let callback = Callback {
        url: "https://example.com/hook".into(),
        sign_key_sealed: Some("sealed sign key".into()),
    };
    assert!(store
        .set_callback(a, p, &callback, MIDNIGHT + 4)
        .await
        .unwrap());
    want.callback = Some(callback);
    want.modify_time = MIDNIGHT + 4;
    assert_same(&store.project(a, p).await.unwrap(), &Some(want.clone()));
    assert_same(&store.project_by_id(p).await.unwrap(), &Some(want));
}

/// Another account's project answers like a missing one, and nothing the other account asks
/// changes it.
pub async fn foreign_accounts_see_no_project(store: &dyn Store) {
    let acme = Scope::acme_with_pair(store).await;
    let rival = Scope::rival(store).await;
    let before = store
        .project(&acme.account, &acme.project_id)
        .await
        .unwrap();
    for (account, project_id) in [
        (&rival.account, acme.project_id.as_str()),
        (&acme.account, "missing"),
    ] {
        assert!(store.project(account, project_id).await.unwrap().is_none());
        let changes = ProjectChanges {
            name: Some("Taken".into()),
            ..Default::default()
        };
        let now = MIDNIGHT + 9;
        assert!(!store
            .update_project(account, project_id, &changes, now)
            .await
            .unwrap());
        assert!(!store
            .set_sec_mode(account, project_id, &SecMode::default(), now)
            .await
            .unwrap());
        let callback = Callback {
            url: "https://rival.example/".into(),
            sign_key_sealed: None,
        };
        assert!(!store
            .set_callback(account, project_id, &callback, now)
            .await
            .unwrap());
        assert!(!store.delete_project(account, project_id).await.unwrap());
    }
    let (total, rows) = store.list_projects(&rival.account, ALL).await.unwrap();
    assert_eq!(ids(&rows, |p| &p.project_id), strings(&["rival_1"]));
    assert_eq!(total, 1);
    assert_same(
        &store
            .project(&acme.account, &acme.project_id)
            .await
            .unwrap(),
        &before,
    );
    assert!(store
        .device(&acme.account, &acme.project_id, FIELD)
        .await
        .unwrap()
        .is_some());
}

/// Deleting a project deletes it with its devices, policies and sessions (and their share of the
/// rollups), and nothing of another project; a project made again with its id starts empty.
pub async fn deleting_a_project_removes_what_it_owns(store: &dyn Store) {
    let doomed = Scope::acme_with_pair(store).await;
    let kept = Scope::create(store, "acme", "acme_2").await;
    kept.add_pair(store).await;
    for scope in [&doomed, &kept] {
        let edit = PolicyEdit {
            mode: PolicyMode::Black,
            remote_device_id: REMOTE.into(),
            how: ModifyMode::Add,
            field_device_ids: vec![FIELD.into()],
        };
        store
            .modify_policy(&scope.account, &scope.project_id, &edit, MIDNIGHT)
            .await
            .unwrap()
            .unwrap();
        let session = format!("s_{}", scope.project_id);
        accept(store, scope.field_report(&session, MIDNIGHT, [0, 2])).await;
        accept(store, scope.remote_report(&session, MIDNIGHT, [0, 2])).await;
    }

    assert!(store
        .delete_project(&doomed.account, &doomed.project_id)
        .await
        .unwrap());
    assert!(!store
        .delete_project(&doomed.account, &doomed.project_id)
        .await
        .unwrap());
    assert!(store
        .project_by_id(&doomed.project_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .session_samples(&doomed.account, "s_acme_1", None, None)
        .await
        .unwrap()
        .is_none());

    // Made again, the project holds nothing of before.
    store
        .insert_project(&project(&doomed.account, &doomed.project_id, MIDNIGHT))
        .await
        .unwrap();
    assert_empty_project(store, &doomed).await;
    // The session id is free again in the account.
    accept(store, kept.field_report("s_acme_1", MIDNIGHT, [0])).await;

    // The other project keeps everything.
    let (total, _) = store
        .list_devices(
            &kept.account,
            &kept.project_id,
            &DeviceFilter::default(),
            ALL,
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        store
            .policy_fields(&kept.account, &kept.project_id, PolicyMode::Black, REMOTE)
            .await
            .unwrap(),
        strings(&[FIELD])
    );
    assert_eq!(kept.session(store, "s_acme_2").await.parts.len(), 2);
}

/// Nothing in a project: no device, policy, session, session start or total.
async fn assert_empty_project(store: &dyn Store, scope: &Scope) {
    let (a, p) = (&scope.account, scope.project_id.as_str());
    let everything = DeviceFilter {
        include_auto_registered: true,
        ..Default::default()
    };
    assert_eq!(
        store.list_devices(a, p, &everything, ALL).await.unwrap().0,
        0
    );
    assert!(store.device(a, p, FIELD).await.unwrap().is_none());
    assert!(store
        .policy_fields(a, p, PolicyMode::Black, REMOTE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .list_policies(a, p, PolicyMode::Black, None, ALL)
            .await
            .unwrap()
            .0,
        0
    );
    let (total, _) = store
        .list_sessions(a, p, &SessionFilter::default(), ALL)
        .await
        .unwrap();
    assert_eq!(total, 0);
    let window = (MIDNIGHT - DAY, MIDNIGHT + DAY);
    assert!(store
        .session_facts(a, p, None, window.0, window.1)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.session_totals(a, p, &[window]).await.unwrap(),
        vec![Totals::default()]
    );
    assert_eq!(
        store.active_devices(a, p, &[window]).await.unwrap(),
        vec![(0, 0)]
    );
    for grain in [Grain::Quarter, Grain::Day] {
        assert!(store
            .session_spans(a, p, window, grain, 100)
            .await
            .unwrap()
            .is_empty());
    }
}
