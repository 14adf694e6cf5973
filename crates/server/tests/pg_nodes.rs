//! Several nodes on one PostgreSQL database (what the conformance suite, one store at a time,
//! cannot show): first reports of one session on two nodes at once make one session, concurrent
//! appends to shared sessions and devices all commit (the writers lock rows in one order), and the
//! rollups they keep equal a count of the sessions; a chunk whose week has no partition yet gets
//! one.

mod pg;

use std::collections::BTreeMap;
use std::sync::Arc;
use teleoscope_server::model::quality::Grade;
use teleoscope_server::model::samples::{Columns, Metric};
use teleoscope_server::model::sessions::{Append, PartMeta, SessionFacts};
use teleoscope_server::model::usage::Totals;
use teleoscope_server::model::{
    AccountId, Device, DeviceStatus, DeviceType, Page, PolicyMode, Project,
};
use teleoscope_server::store::calendar::{day_of, month_of, values, COLUMNS, FIELD, REMOTE};
use teleoscope_server::store::postgres::PgStore;
use teleoscope_server::store::{Sessions, Store};

/// +08:00, and a local midnight at it (2023-11-15).
const DAY_OFFSET: i64 = 8 * 3600;
const MIDNIGHT: i64 = 1_699_977_600;
const DAY: i64 = 86_400;

fn account() -> AccountId {
    AccountId("acme".into())
}

/// The account `acme` with its project `acme_1` and the devices `truck_i` and `console_i`.
async fn fleet(store: &dyn Store, devices: usize) {
    store.create_account(&account(), MIDNIGHT).await.unwrap();
    let project = Project {
        account_id: account(),
        project_id: "acme_1".into(),
        name: "Acme".into(),
        description: String::new(),
        policy_mode: PolicyMode::Black,
        modify_time: MIDNIGHT,
        created_at: MIDNIGHT,
        sec_mode: Default::default(),
        callback: None,
    };
    store.insert_project(&project).await.unwrap();
    for i in 0..devices {
        for (id, device_type) in [
            (format!("truck_{i}"), DeviceType::Field),
            (format!("console_{i}"), DeviceType::Remote),
        ] {
            let device = Device {
                account_id: account(),
                project_id: "acme_1".into(),
                device_id: id.clone(),
                name: id,
                device_type,
                token_sealed: "token".into(),
                auto_registered: false,
                status: DeviceStatus::Offline,
                last_report_time: MIDNIGHT,
                modify_time: MIDNIGHT,
                created_at: MIDNIGHT,
            };
            store.insert_device(&device).await.unwrap();
        }
    }
}

/// A live report of `device` (of `device_type`) with `peer` in `session_id`: one metric at
/// `offsets` of a part starting at `start`.
fn report(
    session_id: &str,
    (device, device_type): (&str, DeviceType),
    peer: &str,
    start: i64,
    offsets: &[i64],
) -> Append {
    let columns = Columns {
        metrics: vec![(
            Metric::Fps,
            offsets.iter().map(|o| (o % 30) as f64).collect(),
        )],
        nets: Vec::new(),
        time_offset: offsets.to_vec(),
    };
    Append {
        account: account(),
        project_id: "acme_1".into(),
        session_id: session_id.into(),
        device_id: device.into(),
        device_type,
        peer_device_id: peer.into(),
        start_time: start,
        meta: PartMeta {
            ver: "1".into(),
            sdk_mode: "full".into(),
            width: 1280,
            height: 720,
            config_width: 1280,
            config_height: 720,
            multi_mode: 0,
        },
        now: start + offsets.last().copied().unwrap_or(0),
        columns,
        last: false,
        from_device: true,
        joined_only: false,
    }
}

/// The rollups equal a count of the sessions: per start hour, quarter and local day, and each
/// device's days per month.
async fn assert_rollups_count_the_sessions(url: &str) {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let sessions = c
        .query(
            "SELECT s.field_device_id, s.remote_device_id, s.start_time, s.end_time, s.config_width,
               s.config_height, s.width, s.height, s.multi_mode, s.quality,
               ARRAY(SELECT GREATEST(p.last_offset, 0) FROM parts p
                     WHERE p.account_id = s.account_id AND p.session_key = s.session_key)
             FROM sessions s",
            &[],
        )
        .await
        .unwrap();
    let mut hours: BTreeMap<i64, i64> = BTreeMap::new();
    let mut sums: [BTreeMap<i64, [i64; 17]>; 2] = Default::default();
    let mut months: BTreeMap<(i64, i64, String), i64> = BTreeMap::new();
    for r in &sessions {
        let f = SessionFacts {
            field_device_id: r.get(0),
            remote_device_id: r.get(1),
            start_time: r.get(2),
            end_time: r.get(3),
            config_width: r.get(4),
            config_height: r.get(5),
            width: r.get(6),
            height: r.get(7),
            multi_mode: r.get(8),
            quality: Grade::parse(r.get(9)).unwrap(),
            part_seconds: r.get(10),
        };
        *hours.entry(f.start_time.div_euclid(3600)).or_default() += 1;
        let v = values(&Totals::of(&f));
        let day = day_of(f.start_time, DAY_OFFSET);
        for (rows, bucket) in sums.iter_mut().zip([f.start_time.div_euclid(900), day]) {
            let row = rows.entry(bucket).or_default();
            row.iter_mut().zip(v).for_each(|(sum, x)| *sum += x);
        }
        let (month, bit) = month_of(day).unwrap();
        for (role, device) in [(FIELD, &f.field_device_id), (REMOTE, &f.remote_device_id)] {
            *months.entry((month, role, device.clone())).or_default() |= bit;
        }
    }
    let stored_hours: BTreeMap<i64, i64> = c
        .query("SELECT hour, n FROM session_hours WHERE n <> 0", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(stored_hours, hours);
    for ((table, bucket), want) in [("session_quarters", "quarter"), ("session_days", "day")]
        .into_iter()
        .zip(&sums)
    {
        let stored: BTreeMap<i64, [i64; 17]> = c
            .query(&format!("SELECT {bucket}, {COLUMNS} FROM {table}"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), std::array::from_fn(|i| r.get(i + 1))))
            .filter(|(_, v): &(i64, [i64; 17])| *v != [0; 17])
            .collect();
        assert_eq!(&stored, want, "{table}");
    }
    let stored_months: BTreeMap<(i64, i64, String), i64> = c
        .query(
            "SELECT month, role, device_id, days FROM device_months",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect();
    assert_eq!(stored_months, months);
}

/// Two nodes take 1,200 reports of 40 sessions at once, both devices of each, on both nodes; the
/// starts they report move some sessions earlier, into other hours and days, and the last ones
/// end their parts. Every report is stored, each session once, and the rollups stay exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_append_to_shared_sessions_at_once() {
    let schema = pg::FreshSchema::new().await;
    let nodes = [
        Arc::new(PgStore::open(&schema.url, DAY_OFFSET).await.unwrap()),
        Arc::new(PgStore::open(&schema.url, DAY_OFFSET).await.unwrap()),
    ];
    fleet(&*nodes[0], 6).await;
    let mut tasks = Vec::new();
    for n in 0..1200i64 {
        let (s, k) = (n % 40, n / 40);
        // Both devices of each session report, each on both nodes.
        let node = nodes[(k / 2 % 2) as usize].clone();
        tasks.push(tokio::spawn(async move {
            let (field, remote) = (format!("truck_{}", s % 6), format!("console_{}", s % 6));
            // A remote device is in several sessions at once; starts move up to an hour earlier.
            let start = MIDNIGHT - 3 * 3600 + s * 977 - (k % 3) * 1800;
            let offsets = [k * 10, k * 10 + 2, k * 10 + 4];
            let mut append = if k % 2 == 0 {
                report(
                    &format!("s_{s}"),
                    (&field, DeviceType::Field),
                    &remote,
                    start,
                    &offsets,
                )
            } else {
                report(
                    &format!("s_{s}"),
                    (&remote, DeviceType::Remote),
                    &field,
                    start,
                    &offsets,
                )
            };
            append.last = k >= 28;
            node.append(append).await
        }));
    }
    for task in tasks {
        let outcome = task.await.unwrap().unwrap().expect("an accepted append");
        assert_eq!(outcome.accepted, 3);
    }
    let all = Page {
        number: 1,
        size: 100,
    };
    let (total, rows) = nodes[1]
        .list_sessions(&account(), "acme_1", &Default::default(), all)
        .await
        .unwrap();
    assert_eq!((total, rows.len()), (40, 40));
    for row in &rows {
        let s = nodes[0]
            .session_samples(&account(), &row.session_id, None, None)
            .await
            .unwrap()
            .unwrap();
        let samples: Vec<usize> = s.parts.iter().map(|p| p.columns.len()).collect();
        assert_eq!(samples, [45, 45], "{}", row.session_id);
    }
    assert_rollups_count_the_sessions(&schema.url).await;
}

/// A report may say another start than its part's (the part keeps its first): its chunk then
/// starts in another week than the writer prepared, which gets its partition, and the report is
/// stored.
#[tokio::test]
async fn a_chunk_in_a_week_without_a_partition_gets_one() {
    let schema = pg::FreshSchema::new().await;
    let store = PgStore::open(&schema.url, DAY_OFFSET).await.unwrap();
    fleet(&store, 1).await;
    let field = ("truck_0", DeviceType::Field);
    store
        .append(report("s_1", field, "console_0", MIDNIGHT, &[0]))
        .await
        .unwrap()
        .unwrap();
    let far = report("s_1", field, "console_0", MIDNIGHT - 30 * DAY, &[8 * DAY]);
    assert_eq!(store.append(far).await.unwrap().unwrap().accepted, 1);
    let s = store
        .session_samples(&account(), "s_1", None, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.parts[0].columns.time_offset, [0, 8 * DAY]);
}
