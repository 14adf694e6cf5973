//! A store that cannot write for lack of space, through the real HTTP server. SQLite answers
//! SQLITE_FULL — what it answers on a full disk — once the database reaches the store's own
//! `max_database_bytes` (`sqlite://PATH?max_database_bytes=N`), so no real disk is filled. Then:
//! reports answer `ServiceUnavailable` saying so (not `InternalError`), `/readyz` answers 503 with the
//! reason, the cause is logged once per episode (not per request), every acknowledged sample stays
//! and no refused report leaves a sample behind (the group-commit writer fails whole batches), and the
//! server recovers by itself once space returns.

mod common;

use common::{Key, Options, Server};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use teleoscope_server::model::AccountId;

/// Everything the server logs, as text.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    /// Installs itself as the process's log (this file has one test, so one process-wide log).
    fn capture() -> Logs {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logs
    }

    fn lines_with(&self, text: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(text))
            .count()
    }
}

const CANNOT_WRITE: &str = "the store cannot write";
const WRITES_AGAIN: &str = "the store writes again";

/// 1 MiB (the least the store takes): filled in a few seconds by reports of incompressible samples.
const MAX_DATABASE_BYTES: u64 = 1024 * 1024;

async fn server() -> Arc<Server> {
    Arc::new(
        Server::start_with(Options {
            configure: Some(Box::new(|c| {
                c.database = format!("{}?max_database_bytes={MAX_DATABASE_BYTES}", c.database);
                c.device_rate_limit_per_second = 100_000;
                c.rate_limit_per_second = 100_000;
                c.rate_limits.clear();
            })),
            sqlite_only: true, // max_database_bytes is the SQLite store's
            ..Default::default()
        })
        .await,
    )
}

/// `/readyz`: status and body.
async fn readyz(s: &Server) -> (u16, String) {
    let r = s
        .client
        .get(format!("http://{}/readyz", s.host))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A project with `pairs` field devices `truck_i` and remote devices `desk_i`; the field devices'
/// credentials.
async fn project(s: &Server, key: &Key, name: &str, pairs: usize) -> (String, Vec<Key>) {
    let pid = s.project(key, name).await;
    let mut fields = Vec::new();
    for i in 0..pairs {
        for (id, ty) in [
            (format!("truck_{i}"), "field"),
            (format!("desk_{i}"), "remote"),
        ] {
            s.device(key, &pid, &id, ty, "abcd1234ABCD5678").await;
        }
        fields.push(Key {
            account_id: key.account_id.clone(),
            secret_id: format!("{pid}:truck_{i}"),
            secret_key: "abcd1234ABCD5678".into(),
        });
    }
    (pid, fields)
}

/// A report of `n` samples from `first` on, every 2 s, with values that do not compress.
fn report(session: &str, peer: &str, start: i64, first: i64, n: i64, seed: &mut u64) -> Value {
    let mut next = |m: u64| {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 33) % m
    };
    let samples: Vec<Value> = (0..n)
        .map(|i| {
            json!({"TimeOffset": first + 2 * i, "Rate": next(20_000), "Fps": next(61),
                   "Lost": next(10_000) as f64 / 100.0, "NetworkLatency": next(5_000),
                   "CpuUsed": next(10_000) as f64 / 100.0, "MemUsed": next(10_000) as f64 / 100.0,
                   "BitRateEstimate": next(100_000), "FrameDelta": next(1_000)})
        })
        .collect();
    json!({"SessionId": session, "PeerDeviceId": peer, "StartTime": start, "Samples": samples,
           "Final": false})
}

/// The message of a report refused for lack of space.
fn assert_full(reply: &common::Reply) {
    let msg = reply.err("ServiceUnavailable");
    assert!(
        msg.contains("disk or database is full") && msg.contains("retry later"),
        "{msg}"
    );
}

/// The field device's offsets of a session as DescribeDeviceSessionDetails shows them (none if
/// the session was never stored).
async fn stored_offsets(s: &Server, key: &Key, session: &str) -> Vec<i64> {
    let r = s
        .call(
            key,
            "DescribeDeviceSessionDetails",
            json!({"SessionId": session}),
        )
        .await;
    if r.code() == Some("ResourceNotFound") {
        return Vec::new();
    }
    r.ok()["Details"][0]["TimeOffset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_says_so_reports_not_ready_keeps_what_it_acknowledged_and_recovers() {
    let logs = Logs::capture();
    let s = server().await;
    let key = s.new_key().await;
    let start = s.now() - 7200;
    assert_eq!(readyz(&s).await.0, 200);

    // 1. A filler project reports, one session per report, until the store is full.
    let (filler, filler_trucks) = project(&s, &key, "filler", 1).await;
    let mut seed = 1;
    let mut acknowledged = Vec::new();
    let refused = loop {
        let session = format!("filler-{}", acknowledged.len());
        let body = report(&session, "desk_0", start, 0, 1800, &mut seed);
        let reply = s
            .tc3(&filler_trucks[0], "ReportSessionMetrics", body)
            .language("en-US")
            .send()
            .await;
        if reply.code().is_some() {
            break (session, reply);
        }
        assert_eq!(reply.ok()["Accepted"], 1800);
        acknowledged.push(session);
    };
    assert!(acknowledged.len() >= 5, "full after {acknowledged:?}");
    assert_full(&refused.1);
    // The same report again: the same answer, and no second log line.
    let again = report(&refused.0, "desk_0", start, 0, 1800, &mut seed);
    assert_full(
        &s.tc3(&filler_trucks[0], "ReportSessionMetrics", again)
            .language("en-US")
            .send()
            .await,
    );
    assert_eq!(
        stored_offsets(&s, &key, &refused.0).await,
        Vec::<i64>::new()
    );
    for session in &acknowledged {
        assert_eq!(stored_offsets(&s, &key, session).await.len(), 1800);
    }
    let (status, body) = readyz(&s).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("cannot write") && body.contains("full"),
        "{body}"
    );
    assert_eq!(readyz(&s).await.0, 503);
    // Reads still work.
    assert_eq!(
        s.ok(&key, "DescribeProjectList", json!({})).await["Total"],
        1
    );
    assert_eq!(logs.lines_with(CANNOT_WRITE), 1);
    assert_eq!(logs.lines_with(WRITES_AGAIN), 0);

    // 2. Space returns (the filler goes): ready again within the probe's second, and writes work.
    s.ok(&key, "DeleteProject", json!({"ProjectId": filler}))
        .await;
    let mut ready = readyz(&s).await;
    for _ in 0..50 {
        if ready.0 == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ready = readyz(&s).await;
    }
    assert_eq!(ready, (200, "ready\n".to_owned()));
    assert_eq!(logs.lines_with(WRITES_AGAIN), 1);

    // 3. Four devices report at once until each has been refused three times: the writer commits
    // their reports in shared batches, and a batch that cannot be written fails whole.
    let (_fleet, trucks) = project(&s, &key, "fleet", 4).await;
    let mut tasks = Vec::new();
    for (i, truck) in trucks.into_iter().enumerate() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut seed = 100 + i as u64;
            let session = format!("fleet-{i}");
            let (mut stored, mut refusals, mut next) = (Vec::new(), 0, 0);
            while refusals < 3 {
                let body = report(&session, &format!("desk_{i}"), start, next, 300, &mut seed);
                let reply = s
                    .tc3(&truck, "ReportSessionMetrics", body)
                    .language("en-US")
                    .send()
                    .await;
                if reply.code().is_some() {
                    assert_full(&reply);
                    refusals += 1;
                } else {
                    assert_eq!(reply.ok()["Accepted"], 300);
                    stored.extend((0..300).map(|k| next + 2 * k));
                }
                // Refused or not, the next report has new offsets: a refused one must leave none.
                next += 600;
            }
            (session, stored)
        }));
    }
    let mut acknowledged: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for t in tasks {
        let (session, stored) = t.await.unwrap();
        acknowledged.insert(session, stored);
    }
    assert!(
        acknowledged.values().all(|v| !v.is_empty()),
        "{acknowledged:?}"
    );
    for (session, stored) in &acknowledged {
        assert_eq!(
            &stored_offsets(&s, &key, session).await,
            stored,
            "{session}"
        );
    }
    // Also as a new process would find them on disk.
    let reopened = teleoscope_server::open_domain(&s.config).await.unwrap();
    for (session, stored) in &acknowledged {
        let parts = reopened
            .session_details(&AccountId(key.account_id.clone()), session, None, None)
            .await
            .unwrap()
            .parts;
        assert_eq!(&parts[0].columns.time_offset, stored, "{session}");
    }
    assert_eq!(readyz(&s).await.0, 503);
    assert_eq!(logs.lines_with(CANNOT_WRITE), 2);
    assert_eq!(logs.lines_with(WRITES_AGAIN), 1);
}
