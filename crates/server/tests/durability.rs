//! The server and the `teleoscope keys` command share one store (docs/api.md §3): keys made or deleted
//! by the command act on the running server at once; and with a master key configured, secrets are
//! not in the database file in clear.

mod common;

use common::*;
use serde_json::json;
use teleoscope_server::config::Secret;

const MASTER_KEY: &str = "correct horse battery staple";

/// Every byte of the SQLite database: the main file, its WAL and its shared-memory index.
fn store_bytes(s: &Server) -> Vec<u8> {
    let dir = s.db_path().parent().unwrap().to_owned();
    let mut out = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("t.db")
        {
            out.extend(std::fs::read(&path).unwrap());
            files += 1;
        }
    }
    assert!(files >= 1 && !out.is_empty(), "no database file found");
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A second Domain on the same store, as `teleoscope keys ...` opens it.
async fn cli_domain(s: &Server, master_key: Option<&str>) -> teleoscope_server::domain::Domain {
    let mut config = s.config.clone();
    config.master_key = master_key.map(|k| Secret(k.to_owned()));
    teleoscope_server::open_domain(&config)
        .await
        .expect("the command opens the server's store")
}

fn key_of(k: teleoscope_server::domain::accounts::NewKey) -> Key {
    Key {
        account_id: k.account_id,
        secret_id: k.secret_id,
        secret_key: k.secret_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_and_deleted_by_the_command_act_on_the_running_server() {
    let s = Server::start().await;
    let cli = cli_domain(&s, None).await;

    // Made by the command while the server runs: the server accepts it at once.
    let from_cli = key_of(cli.create_key(None, None, None).await.unwrap());
    s.ok(&from_cli, "CreateProject", json!({"ProjectName": "cli"}))
        .await;
    assert_eq!(
        s.ok(&from_cli, "DescribeProjectList", json!({})).await["Total"],
        1
    );

    // Made by the server's side: the command sees it, with its account and secret.
    let from_server = s.new_key().await;
    let (account, secret) = cli
        .key_secret(&from_server.secret_id)
        .await
        .unwrap()
        .expect("the command sees the server's key");
    assert_eq!(account.0, from_server.account_id);
    assert_eq!(secret, from_server.secret_key);

    // A second key on an existing account sees that account's data.
    let second = key_of(
        cli.create_key(Some(&from_cli.account_id), None, None)
            .await
            .unwrap(),
    );
    assert_eq!(
        s.ok(&second, "DescribeProjectList", json!({})).await["Total"],
        1
    );

    // `teleoscope keys delete`: the next request with that key is refused.
    teleoscope_server::cli::keys::delete(&cli, &from_cli.secret_id)
        .await
        .unwrap();
    let reply = s
        .tc3(&from_cli, "DescribeProjectList", json!({}))
        .language("en-US")
        .send()
        .await;
    assert_eq!(
        reply.err("AuthFailure.SecretIdNotFound"),
        "The SecretId is not found, please ensure that your SecretId is correct."
    );
    // The other keys are untouched, and so is the account's data.
    assert_eq!(
        s.ok(&second, "DescribeProjectList", json!({})).await["Total"],
        1
    );
    s.ok(&from_server, "DescribeProjectList", json!({})).await;
    // Deleting it again fails.
    assert!(
        teleoscope_server::cli::keys::delete(&cli, &from_cli.secret_id)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_master_key_secrets_are_not_in_the_database_in_clear() {
    let s = Server::start_with(Options {
        master_key: Some(MASTER_KEY.into()),
        sqlite_only: true, // reads every byte of the SQLite file
        ..Options::default()
    })
    .await;
    let by_server = s.new_key().await;
    let cli = cli_domain(&s, Some(MASTER_KEY)).await;
    let by_cli = key_of(cli.create_key(None, None, None).await.unwrap());

    // Requests signed with either key work.
    let project = s.project(&by_server, "sealed").await;
    s.ok(&by_cli, "DescribeProjectList", json!({})).await;

    // Other secrets the API takes: a device token, a project key, a callback sign key.
    let device_token = "DevTok0123456789";
    let project_key = "k0123456789abcdefghijklmnopqrstu";
    let sign_key = "CallbackSignKey0123";
    s.ok(
        &by_server,
        "CreateDevice",
        json!({"ProjectId": project, "DeviceId": "truck_1", "DeviceName": "truck_1",
               "DeviceType": "field", "DeviceToken": device_token}),
    )
    .await;
    s.ok(
        &by_server,
        "ModifyProjectSecMode",
        json!({"ProjectId": project, "Mode": 1, "Key": project_key}),
    )
    .await;
    s.ok(
        &by_server,
        "ModifyCallbackUrl",
        json!({"ProjectId": project, "CallbackUrl": "https://a.example/cb", "SignKey": sign_key}),
    )
    .await;

    let bytes = store_bytes(&s);
    assert!(
        contains(&bytes, &by_server.secret_id),
        "the scan sees the store"
    );
    assert!(contains(&bytes, "truck_1"), "the scan sees the store");
    for (what, secret) in [
        (
            "secret key made by the server",
            by_server.secret_key.as_str(),
        ),
        ("secret key made by the command", by_cli.secret_key.as_str()),
        ("device token", device_token),
        ("project key", project_key),
        ("callback sign key", sign_key),
    ] {
        assert!(
            !contains(&bytes, secret),
            "the {what} is in the database file in clear"
        );
    }

    // Without the master key the command cannot read the sealed secret.
    let no_key = cli_domain(&s, None).await;
    assert!(no_key.key_secret(&by_server.secret_id).await.is_err());
    let wrong_key = cli_domain(&s, Some("another key")).await;
    assert!(wrong_key.key_secret(&by_server.secret_id).await.is_err());
    // And the server still answers with the right one.
    s.ok(&by_server, "DescribeProjectList", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_without_a_master_key_the_scan_finds_the_secret() {
    // Shows that the byte scan of the test above would find a secret stored in clear.
    let s = Server::start_with(Options {
        sqlite_only: true,
        ..Options::default()
    })
    .await;
    let k = s.new_key().await;
    s.ok(&k, "DescribeProjectList", json!({})).await;
    assert!(contains(&store_bytes(&s), &k.secret_key));
}
