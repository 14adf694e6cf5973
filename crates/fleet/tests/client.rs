//! The fleet's client against a real server (in process, on `127.0.0.1:0`): signed calls are
//! answered, API errors come back as errors with their code, and a keep-alive connection that the
//! server closed while it sat idle is opened again, by a lone connection and by the pool.

use serde_json::{json, Value};
use std::time::Duration;
use teleoscope_fleet::client::{Connection, Credentials, Endpoint, Pool, Timeouts};
use teleoscope_server::config::Config;
use teleoscope_server::http::{self, Running};

/// A server that closes connections idle for a second, and an account key.
async fn server(dir: &tempfile::TempDir) -> (Running, Credentials) {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: format!("sqlite://{}", dir.path().join("t.db").display()),
        connection_idle_timeout_seconds: 1,
        ..Config::default()
    };
    let domain = teleoscope_server::open_domain(&config)
        .await
        .expect("open domain");
    let key = domain.create_key(None, None, None).await.expect("key");
    let running = http::start(config, domain).await.expect("server starts");
    let creds = Credentials {
        secret_id: key.secret_id,
        secret_key: key.secret_key,
    };
    (running, creds)
}

/// Long enough for the server to close an idle connection (after 1 s) and the client to see it.
async fn outlast_the_idle_timeout() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_calls_and_reopens_after_the_server_closed_it() {
    let dir = tempfile::tempdir().unwrap();
    let (running, creds) = server(&dir).await;
    let mut conn = Connection::open(running.addr).await.expect("connects");

    let (created, _) = conn
        .ok(&creds, "CreateProject", &json!({"ProjectName": "one"}))
        .await
        .expect("CreateProject");
    assert!(created["ProjectId"].is_string(), "{created}");

    outlast_the_idle_timeout().await;
    let (list, _) = conn
        .ok(&creds, "DescribeProjectList", &json!({}))
        .await
        .expect("the next call opens a new connection");
    assert_eq!(list["Total"], 1, "{list}");

    let (answer, _) = conn
        .answer::<Value>(
            &creds,
            "DescribeProjectInfo",
            br#"{"ProjectId": "prj-none"}"#.to_vec(),
        )
        .await
        .expect("answered");
    assert_eq!(answer.unwrap_err().code, "ResourceNotFound");

    let stranger = Credentials {
        secret_id: "AKIDnobodynobodynobodynobodynobody1".into(),
        secret_key: "nobodynobodynobodynobodynobody12".into(),
    };
    let (answer, _) = conn
        .answer::<Value>(&stranger, "DescribeProjectList", b"{}".to_vec())
        .await
        .expect("answered");
    assert!(answer.unwrap_err().code.starts_with("AuthFailure"));
    running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_calls_and_reopens_after_the_server_closed_its_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (running, creds) = server(&dir).await;
    let endpoint = Endpoint::parse(&format!("http://{}", running.addr)).unwrap();
    let pool = Pool::new(
        endpoint,
        Timeouts {
            connect: Duration::from_secs(5),
            call: Duration::from_secs(10),
        },
    );
    let body = |name: &str| serde_json::to_vec(&json!({ "ProjectName": name })).unwrap();
    // Two calls at once: two connections, both back in the pool afterwards.
    let (a, b) = tokio::join!(
        pool.answer::<Value>(&creds, "CreateProject", body("a")),
        pool.answer::<Value>(&creds, "CreateProject", body("b")),
    );
    a.expect("answered").expect("created");
    b.expect("answered").expect("created");

    outlast_the_idle_timeout().await;
    let list = pool
        .answer::<Value>(&creds, "DescribeProjectList", b"{}".to_vec())
        .await
        .expect("a closed connection is opened again")
        .expect("listed");
    assert_eq!(list["Total"], 2, "{list}");
    running.shutdown(Duration::from_secs(1)).await;
}
