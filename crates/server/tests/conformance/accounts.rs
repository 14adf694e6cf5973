//! `Accounts`: accounts, API keys found by their secret id (unique across accounts), and console
//! sessions, which go when they expire (on the next sign-in) or with their key.

use super::*;
use teleoscope_server::model::{ApiKey, ConsoleSession};

async fn account(store: &dyn Store, name: &str) -> AccountId {
    let account = AccountId(name.to_owned());
    store.create_account(&account, MIDNIGHT).await.unwrap();
    account
}

fn key(secret_id: &str, account: &AccountId, created_at: i64) -> ApiKey {
    ApiKey {
        secret_id: secret_id.to_owned(),
        account_id: account.clone(),
        secret_key_sealed: format!("sealed secret of {secret_id}"),
        created_at,
    }
}

fn console(token_hash: &str, key: &ApiKey, expires_at: i64) -> ConsoleSession {
    ConsoleSession {
        token_hash: token_hash.to_owned(),
        secret_id: key.secret_id.clone(),
        account_id: key.account_id.clone(),
        created_at: MIDNIGHT,
        expires_at,
    }
}

pub async fn accounts_exist_once_created(store: &dyn Store) {
    let acme = AccountId("acme".into());
    assert!(!store.account_exists(&acme).await.unwrap());
    store.create_account(&acme, MIDNIGHT).await.unwrap();
    assert!(store.account_exists(&acme).await.unwrap());
    assert!(!store
        .account_exists(&AccountId("rival".into()))
        .await
        .unwrap());
}

/// `find_key` gives the key as stored; `list_keys` gives every key of every account.
pub async fn keys_are_found_by_secret_id(store: &dyn Store) {
    let (acme, rival) = (account(store, "acme").await, account(store, "rival").await);
    let keys = [
        key("AKIDacme1", &acme, MIDNIGHT + 1),
        key("AKIDacme2", &acme, MIDNIGHT + 2),
        key("AKIDrival", &rival, MIDNIGHT + 3),
    ];
    for k in &keys {
        store.insert_key(k).await.unwrap();
    }
    for k in &keys {
        assert_same(
            &store.find_key(&k.secret_id).await.unwrap(),
            &Some(k.clone()),
        );
    }
    assert!(store.find_key("AKIDnone").await.unwrap().is_none());
    let mut listed = store.list_keys().await.unwrap();
    listed.sort_by(|a, b| a.secret_id.cmp(&b.secret_id));
    assert_same(&listed, &keys.to_vec());
}

/// A secret id names one key, whatever the account: a second one is a `Conflict` and changes
/// nothing.
pub async fn secret_ids_are_unique(store: &dyn Store) {
    let (acme, rival) = (account(store, "acme").await, account(store, "rival").await);
    let first = key("AKIDsame", &acme, MIDNIGHT);
    store.insert_key(&first).await.unwrap();
    assert_conflict(
        store
            .insert_key(&key("AKIDsame", &acme, MIDNIGHT + 1))
            .await,
    );
    assert_conflict(
        store
            .insert_key(&key("AKIDsame", &rival, MIDNIGHT + 2))
            .await,
    );
    assert_same(&store.find_key("AKIDsame").await.unwrap(), &Some(first));
    assert_eq!(store.list_keys().await.unwrap().len(), 1);
}

pub async fn console_sessions_read_back_until_deleted(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let k = key("AKIDacme", &acme, MIDNIGHT);
    store.insert_key(&k).await.unwrap();
    let session = console("hash-1", &k, MIDNIGHT + 3600);
    store
        .insert_console_session(&session, MIDNIGHT)
        .await
        .unwrap();
    assert_eq!(
        store.console_session("hash-1").await.unwrap(),
        Some(session)
    );
    assert_eq!(store.console_session("hash-2").await.unwrap(), None);
    assert!(!store.delete_console_session("hash-2").await.unwrap());
    assert!(store.delete_console_session("hash-1").await.unwrap());
    assert_eq!(store.console_session("hash-1").await.unwrap(), None);
    assert!(!store.delete_console_session("hash-1").await.unwrap());
}

/// Storing a session at `now` removes the sessions expired at `now` (`expires_at <= now`: the
/// domain treats a session as live while `expires_at > now`), and no other.
pub async fn storing_a_console_session_removes_expired_ones(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let k = key("AKIDacme", &acme, MIDNIGHT);
    store.insert_key(&k).await.unwrap();
    let now = MIDNIGHT + 100;
    let long_gone = console("long-gone", &k, now - 50);
    let just_expired = console("just-expired", &k, now);
    let still_live = console("still-live", &k, now + 1);
    for s in [&long_gone, &just_expired, &still_live] {
        store.insert_console_session(s, MIDNIGHT).await.unwrap();
    }
    let new = console("new", &k, now + 3600);
    store.insert_console_session(&new, now).await.unwrap();
    assert_eq!(store.console_session("long-gone").await.unwrap(), None);
    assert_eq!(store.console_session("just-expired").await.unwrap(), None);
    assert_eq!(
        store.console_session("still-live").await.unwrap(),
        Some(still_live)
    );
    assert_eq!(store.console_session("new").await.unwrap(), Some(new));
}

/// Deleting a key answers whether it existed, and ends its console sessions, not those of other
/// keys.
pub async fn deleting_a_key_ends_its_console_sessions(store: &dyn Store) {
    let acme = account(store, "acme").await;
    let (gone, kept) = (
        key("AKIDgone", &acme, MIDNIGHT),
        key("AKIDkept", &acme, MIDNIGHT),
    );
    for k in [&gone, &kept] {
        store.insert_key(k).await.unwrap();
    }
    let sessions = [
        console("of-gone-1", &gone, MIDNIGHT + 3600),
        console("of-gone-2", &gone, MIDNIGHT + 3600),
        console("of-kept", &kept, MIDNIGHT + 3600),
    ];
    for s in &sessions {
        store.insert_console_session(s, MIDNIGHT).await.unwrap();
    }
    assert!(store.delete_key("AKIDgone").await.unwrap());
    assert!(store.find_key("AKIDgone").await.unwrap().is_none());
    assert_eq!(store.console_session("of-gone-1").await.unwrap(), None);
    assert_eq!(store.console_session("of-gone-2").await.unwrap(), None);
    assert_eq!(
        store.console_session("of-kept").await.unwrap(),
        Some(sessions[2].clone())
    );
    assert!(!store.delete_key("AKIDgone").await.unwrap());
    assert!(store.find_key("AKIDkept").await.unwrap().is_some());
}
