//! `Policies`: per remote device and mode, a list of field devices of the project, changed by
//! add, remove and set with the ids that failed, listed by remote id, searched literally.

use super::*;
use teleoscope_server::model::{ModifyMode, PolicyChange, PolicyEdit, PolicyEntry, PolicySearch};

use ModifyMode::{Add, Remove, Set};
use PolicyMode::{Black, White};

/// The policy lists of one project as one account sees them.
struct Lists<'a> {
    store: &'a dyn Store,
    scope: Scope,
}

impl Lists<'_> {
    async fn change(
        &self,
        (mode, remote): (PolicyMode, &str),
        how: ModifyMode,
        fields: &[&str],
        now: i64,
    ) -> Option<PolicyChange> {
        let edit = PolicyEdit {
            mode,
            remote_device_id: remote.into(),
            how,
            field_device_ids: strings(fields),
        };
        let s = &self.scope;
        self.store
            .modify_policy(&s.account, &s.project_id, &edit, now)
            .await
            .unwrap()
    }

    /// The list, in any order.
    async fn fields(&self, (mode, remote): (PolicyMode, &str)) -> Vec<String> {
        let s = &self.scope;
        let mut listed = self
            .store
            .policy_fields(&s.account, &s.project_id, mode, remote)
            .await
            .unwrap();
        listed.sort();
        listed
    }

    async fn list(
        &self,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> (u64, Vec<PolicyEntry>) {
        let s = &self.scope;
        self.store
            .list_policies(&s.account, &s.project_id, mode, search, page)
            .await
            .unwrap()
    }

    async fn delete(&self, mode: PolicyMode, remotes: &[&str]) -> Vec<String> {
        let s = &self.scope;
        self.store
            .delete_policies(&s.account, &s.project_id, mode, &strings(remotes))
            .await
            .unwrap()
    }
}

/// The project `acme_1` with remote devices `console_1`, `console_2` and field devices
/// `truck_1` .. `truck_3`, and its lists.
async fn fleet(store: &dyn Store) -> Lists<'_> {
    let acme = Scope::create(store, "acme", "acme_1").await;
    for id in ["console_1", "console_2"] {
        acme.add_device(store, id, DeviceType::Remote).await;
    }
    for id in ["truck_1", "truck_2", "truck_3"] {
        acme.add_device(store, id, DeviceType::Field).await;
    }
    Lists { store, scope: acme }
}

fn change(failed_insert: &[&str], failed_delete: &[&str]) -> Option<PolicyChange> {
    Some(PolicyChange {
        failed_insert: strings(failed_insert),
        failed_delete: strings(failed_delete),
    })
}

fn entry(remote: &str, fields: &[&str], modify_time: i64) -> PolicyEntry {
    PolicyEntry {
        remote_device_id: remote.into(),
        field_device_ids: strings(fields),
        modify_time,
    }
}

/// Add lists the field devices of the project (an id twice, once) and fails the others; remove
/// fails the ids not listed; set makes the list exactly its field devices; an empty list is no
/// entry. An entry's time is the latest time an id was added to it.
pub async fn modify_policy_adds_removes_and_sets(store: &dyn Store) {
    let lists = fleet(store).await;
    let list = (Black, "console_1");
    let t = MIDNIGHT;
    let add = ["truck_1", "console_2", "ghost", "truck_1"];
    let failed = change(&["console_2", "ghost"], &[]);
    assert_eq!(lists.change(list, Add, &add, t).await, failed);
    assert_eq!(lists.fields(list).await, strings(&["truck_1"]));
    let add = ["truck_2", "truck_1"];
    assert_eq!(
        lists.change(list, Add, &add, t + 10).await,
        change(&[], &[])
    );
    assert_eq!(lists.fields(list).await, strings(&["truck_1", "truck_2"]));
    let listed = lists.list(Black, None, ALL).await;
    assert_eq!(
        listed,
        (1, vec![entry("console_1", &["truck_1", "truck_2"], t + 10)])
    );

    let remove = ["truck_2", "truck_3"];
    let failed = change(&[], &["truck_3"]);
    assert_eq!(lists.change(list, Remove, &remove, t + 20).await, failed);
    assert_eq!(lists.fields(list).await, strings(&["truck_1"]));

    let set = ["truck_3", "ghost", "truck_2"];
    assert_eq!(
        lists.change(list, Set, &set, t + 30).await,
        change(&["ghost"], &[])
    );
    assert_eq!(lists.fields(list).await, strings(&["truck_2", "truck_3"]));

    assert_eq!(lists.change(list, Set, &[], t + 40).await, change(&[], &[]));
    assert!(lists.fields(list).await.is_empty());
    assert_eq!(lists.list(Black, None, ALL).await, (0, vec![]));
}

/// A remote device has a black list and a white list; a change to one leaves the other.
pub async fn each_mode_keeps_its_own_lists(store: &dyn Store) {
    let lists = fleet(store).await;
    let remote = "console_1";
    lists
        .change((Black, remote), Add, &["truck_1"], MIDNIGHT)
        .await;
    lists
        .change((White, remote), Add, &["truck_2"], MIDNIGHT)
        .await;
    lists
        .change((White, remote), Remove, &["truck_1"], MIDNIGHT)
        .await;
    assert_eq!(lists.fields((Black, remote)).await, strings(&["truck_1"]));
    assert_eq!(lists.fields((White, remote)).await, strings(&["truck_2"]));
    for (mode, field) in [(Black, "truck_1"), (White, "truck_2")] {
        let want = (1, vec![entry(remote, &[field], MIDNIGHT)]);
        assert_eq!(lists.list(mode, None, ALL).await, want, "{mode:?}");
    }
}

/// `None`, and no change, unless the list's owner is a remote device of the project.
pub async fn only_a_remote_device_of_the_project_has_a_list(store: &dyn Store) {
    let lists = fleet(store).await;
    let other = Scope::create(store, "acme", "acme_2").await;
    other
        .add_device(store, "console_9", DeviceType::Remote)
        .await;
    for owner in ["truck_1", "ghost", "console_9"] {
        for how in [Add, Remove, Set] {
            let answer = lists
                .change((Black, owner), how, &["truck_1"], MIDNIGHT)
                .await;
            assert_eq!(answer, None, "{owner} {how:?}");
        }
    }
    for mode in [Black, White] {
        assert_eq!(lists.list(mode, None, ALL).await, (0, vec![]));
    }
}

/// Grouped by remote device, ordered by remote id, each list whole and by field id; `total`
/// counts the remote devices with a list whatever the page; a page past the end — even one whose
/// offset overflows — is empty.
pub async fn policies_list_by_remote(store: &dyn Store) {
    let lists = fleet(store).await;
    let remotes = [
        "console_e",
        "console_b",
        "console_d",
        "console_a",
        "console_c",
    ];
    let added_at =
        |remote: &str| MIDNIGHT + remotes.iter().position(|r| *r == remote).unwrap() as i64;
    for remote in remotes {
        lists
            .scope
            .add_device(store, remote, DeviceType::Remote)
            .await;
        let fields = ["truck_3", "truck_1"];
        lists
            .change((White, remote), Add, &fields, added_at(remote))
            .await;
    }
    for (number, want) in [
        (1, vec!["console_a", "console_b"]),
        (2, vec!["console_c", "console_d"]),
        (3, vec!["console_e"]),
        (4, vec![]),
    ] {
        let want: Vec<PolicyEntry> = want
            .iter()
            .map(|r| entry(r, &["truck_1", "truck_3"], added_at(r)))
            .collect();
        let page = Page { number, size: 2 };
        assert_eq!(
            lists.list(White, None, page).await,
            (5, want),
            "page {number}"
        );
    }
    assert_eq!(lists.list(White, None, FAR).await, (5, vec![]));
}

/// A search keeps the remote devices whose id (`Remote`) or one of whose listed field ids
/// (`Field`) holds the words, `%` and `_` as themselves, and lists each whole.
pub async fn policy_searches_match_literally(store: &dyn Store) {
    let acme = Scope::create(store, "acme", "acme_1").await;
    for id in ["op_1", "op21"] {
        acme.add_device(store, id, DeviceType::Remote).await;
    }
    for id in ["truck_1", "truckx1", "truck_2"] {
        acme.add_device(store, id, DeviceType::Field).await;
    }
    let lists = Lists { store, scope: acme };
    lists
        .change((Black, "op_1"), Add, &["truck_1", "truck_2"], MIDNIGHT)
        .await;
    lists
        .change((Black, "op21"), Add, &["truckx1"], MIDNIGHT)
        .await;
    let op_1 = entry("op_1", &["truck_1", "truck_2"], MIDNIGHT);
    let op21 = entry("op21", &["truckx1"], MIDNIGHT);
    let (remote, field) = (PolicySearch::Remote, PolicySearch::Field);
    for (search, want) in [
        ((remote, "p_1"), vec![op_1.clone()]),
        ((remote, "op"), vec![op21.clone(), op_1.clone()]),
        ((remote, "%"), vec![]),
        ((field, "k_1"), vec![op_1.clone()]),
        ((field, "x1"), vec![op21.clone()]),
        ((field, "_"), vec![op_1.clone()]),
        ((field, "op"), vec![]),
    ] {
        let want = (want.len() as u64, want);
        assert_eq!(
            lists.list(Black, Some(search), ALL).await,
            want,
            "{search:?}"
        );
    }
}

/// Deleting answers the remote ids that had a list in the mode, in the order asked, and leaves
/// their lists in the other mode.
pub async fn deleting_policies_returns_the_remotes_that_had_a_list(store: &dyn Store) {
    let lists = fleet(store).await;
    lists
        .change((Black, "console_1"), Add, &["truck_1"], MIDNIGHT)
        .await;
    lists
        .change((Black, "console_2"), Add, &["truck_2"], MIDNIGHT)
        .await;
    lists
        .change((White, "console_1"), Add, &["truck_3"], MIDNIGHT)
        .await;
    let asked = ["console_2", "ghost", "console_1"];
    let deleted = lists.delete(Black, &asked).await;
    assert_eq!(deleted, strings(&["console_2", "console_1"]));
    assert_eq!(lists.list(Black, None, ALL).await, (0, vec![]));
    assert_eq!(
        lists.fields((White, "console_1")).await,
        strings(&["truck_3"])
    );
    assert!(lists.delete(Black, &asked).await.is_empty());
}

/// Another account's view of a project's lists is empty, and nothing it asks changes them.
pub async fn foreign_accounts_see_no_policy(store: &dyn Store) {
    let lists = fleet(store).await;
    let list = (Black, "console_1");
    lists.change(list, Add, &["truck_1"], MIDNIGHT).await;
    let rival = Scope::rival(store).await;
    let theirs = Lists {
        store,
        scope: lists.scope.as_seen_by(&rival),
    };
    assert!(theirs.fields(list).await.is_empty());
    for how in [Add, Remove, Set] {
        assert_eq!(
            theirs.change(list, how, &["truck_2"], MIDNIGHT + 1).await,
            None
        );
    }
    assert_eq!(theirs.list(Black, None, ALL).await, (0, vec![]));
    assert!(theirs.delete(Black, &["console_1"]).await.is_empty());
    let want = (1, vec![entry("console_1", &["truck_1"], MIDNIGHT)]);
    assert_eq!(lists.list(Black, None, ALL).await, want);
}
