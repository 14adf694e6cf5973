//! The contracts of the store, one module per trait, and the fixtures they share: tenants and their
//! projects ([`Scope`]), devices, reports of samples ([`Scope::report`]) and times.
//!
//! Every contract takes a fresh, empty store whose local days are those of [`DAY_OFFSET`], and
//! asserts only what a caller (`domain/`) relies on: the doc comments of `store/mod.rs`, and where
//! they are short, what the domain does with the answer.

pub mod accounts;
pub mod devices;
pub mod policies;
pub mod projects;
pub mod rollups;
pub mod sessions;
pub mod upkeep;

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;
use teleoscope_server::errors::StoreError;
use teleoscope_server::model::quality::{Assessment, Grade, Reason};
use teleoscope_server::model::samples::{Columns, Metric, NetColumns};
use teleoscope_server::model::sessions::{
    Append, AppendOutcome, AppendRejection, PartMeta, SessionSamples,
};
use teleoscope_server::model::{
    AccountId, Device, DeviceStatus, DeviceType, Page, PolicyMode, Project,
};
use teleoscope_server::store::Store;

/// The UTC offset of the store's local days: +08:00, the default time zone.
pub const DAY_OFFSET: i64 = 8 * 3600;
/// A local midnight at [`DAY_OFFSET`]: 2023-11-15T00:00:00+08:00.
pub const MIDNIGHT: i64 = 1_699_977_600;
pub const DAY: i64 = 86_400;
pub const QUARTER: i64 = 900;

/// A page holding every row of the contracts' lists.
pub const ALL: Page = Page {
    number: 1,
    size: 100,
};
/// A page whose offset overflows (`Page::offset` saturates): empty, never an error.
pub const FAR: Page = Page {
    number: u64::MAX,
    size: 100,
};

/// The field and remote device of most sessions.
pub const FIELD: &str = "truck_1";
pub const REMOTE: &str = "console_1";

/// A fresh, empty store, and whatever must live as long as it (a temporary directory, ...).
pub struct Fresh {
    pub store: Arc<dyn Store>,
    _keep: Box<dyn Any>,
}

impl Fresh {
    pub fn new(store: impl Store + 'static, keep: impl Any) -> Fresh {
        Fresh {
            store: Arc::new(store),
            _keep: Box::new(keep),
        }
    }
}

/// The model's rows do not implement `PartialEq`; their `Debug` form shows every field, exactly
/// (floats print in their shortest exact form). A difference is shown from its first line.
#[track_caller]
pub fn assert_same<T: Debug>(got: &T, want: &T) {
    let (got, want) = (format!("{got:#?}"), format!("{want:#?}"));
    if got == want {
        return;
    }
    let (got, want): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let first = got.iter().zip(&want).take_while(|(g, w)| g == w).count();
    let around =
        |lines: &[&str]| lines[first.saturating_sub(12)..(first + 4).min(lines.len())].join("\n");
    panic!(
        "not the same from line {first}:\n--- got\n{}\n--- want\n{}",
        around(&got),
        around(&want)
    );
}

#[track_caller]
pub fn assert_conflict<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
}

pub fn ids<T>(rows: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    rows.iter().map(|r| id(r).to_owned()).collect()
}

pub fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A project as `CreateProject` makes it, created at `created_at`.
pub fn project(account: &AccountId, project_id: &str, created_at: i64) -> Project {
    Project {
        account_id: account.clone(),
        project_id: project_id.to_owned(),
        name: format!("Project {project_id}"),
        description: "yard".into(),
        policy_mode: PolicyMode::Black,
        modify_time: created_at,
        created_at,
        sec_mode: Default::default(),
        callback: None,
    }
}

/// One project of one tenant: where the contracts put devices, policies and sessions.
#[derive(Debug, Clone)]
pub struct Scope {
    pub account: AccountId,
    pub project_id: String,
}

impl Scope {
    /// The project `project_id` of `account` (created with the account if it is new).
    pub async fn create(store: &dyn Store, account: &str, project_id: &str) -> Scope {
        let account = AccountId(account.to_owned());
        if !store.account_exists(&account).await.unwrap() {
            store.create_account(&account, MIDNIGHT).await.unwrap();
        }
        store
            .insert_project(&project(&account, project_id, MIDNIGHT))
            .await
            .unwrap();
        Scope {
            account,
            project_id: project_id.to_owned(),
        }
    }

    /// The project `acme_1` of `acme` with its field device [`FIELD`] and remote device [`REMOTE`].
    pub async fn acme_with_pair(store: &dyn Store) -> Scope {
        let acme = Scope::create(store, "acme", "acme_1").await;
        acme.add_pair(store).await;
        acme
    }

    /// Adds [`FIELD`] and [`REMOTE`] to the project.
    pub async fn add_pair(&self, store: &dyn Store) {
        self.add_device(store, FIELD, DeviceType::Field).await;
        self.add_device(store, REMOTE, DeviceType::Remote).await;
    }

    /// Another tenant's project, `rival_1` of `rival`.
    pub async fn rival(store: &dyn Store) -> Scope {
        Scope::create(store, "rival", "rival_1").await
    }

    /// This project as another account names it: every read and write must treat it as missing.
    pub fn as_seen_by(&self, other: &Scope) -> Scope {
        Scope {
            account: other.account.clone(),
            project_id: self.project_id.clone(),
        }
    }

    /// A device of this project as `CreateDevice` makes it: offline, created at [`MIDNIGHT`].
    pub fn device(&self, device_id: &str, device_type: DeviceType) -> Device {
        Device {
            account_id: self.account.clone(),
            project_id: self.project_id.clone(),
            device_id: device_id.to_owned(),
            name: format!("{device_id} name"),
            device_type,
            token_sealed: format!("token of {device_id}"),
            auto_registered: false,
            status: DeviceStatus::Offline,
            last_report_time: MIDNIGHT,
            modify_time: MIDNIGHT,
            created_at: MIDNIGHT,
        }
    }

    pub async fn add_device(&self, store: &dyn Store, device_id: &str, device_type: DeviceType) {
        store
            .insert_device(&self.device(device_id, device_type))
            .await
            .unwrap();
    }

    pub async fn status(&self, store: &dyn Store, device_id: &str) -> DeviceStatus {
        self.stored_device(store, device_id).await.status
    }

    pub async fn stored_device(&self, store: &dyn Store, device_id: &str) -> Device {
        store
            .device(&self.account, &self.project_id, device_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("device {device_id}"))
    }

    /// A live report of `device` (of `device_type`) in `session_id` with `peer`: samples at
    /// `offsets` of a part starting at `start`, sent when its last sample was taken.
    pub fn report(
        &self,
        session_id: &str,
        (device_id, device_type): (&str, DeviceType),
        peer: &str,
        start: i64,
        offsets: impl IntoIterator<Item = i64>,
    ) -> Append {
        let columns = samples(offsets);
        Append {
            account: self.account.clone(),
            project_id: self.project_id.clone(),
            session_id: session_id.to_owned(),
            device_id: device_id.to_owned(),
            device_type,
            peer_device_id: peer.to_owned(),
            start_time: start,
            meta: meta(device_type),
            now: start + columns.time_offset.last().copied().unwrap_or(0),
            columns,
            last: false,
            from_device: true,
            joined_only: false,
        }
    }

    /// A live report of [`FIELD`] with [`REMOTE`].
    pub fn field_report(
        &self,
        session_id: &str,
        start: i64,
        offsets: impl IntoIterator<Item = i64>,
    ) -> Append {
        self.report(
            session_id,
            (FIELD, DeviceType::Field),
            REMOTE,
            start,
            offsets,
        )
    }

    /// A live report of [`REMOTE`] with [`FIELD`].
    pub fn remote_report(
        &self,
        session_id: &str,
        start: i64,
        offsets: impl IntoIterator<Item = i64>,
    ) -> Append {
        self.report(
            session_id,
            (REMOTE, DeviceType::Remote),
            FIELD,
            start,
            offsets,
        )
    }

    /// The stored session `session_id`, all its samples.
    pub async fn session(&self, store: &dyn Store, session_id: &str) -> SessionSamples {
        store
            .session_samples(&self.account, session_id, None, None)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("session {session_id}"))
    }
}

/// The video and SDK facts a device of this type states: the field device sends 1280x720 video.
pub fn meta(device_type: DeviceType) -> PartMeta {
    let (width, height) = match device_type {
        DeviceType::Field => (1280, 720),
        DeviceType::Remote => (0, 0),
    };
    PartMeta {
        ver: "1.2.3".into(),
        sdk_mode: "full".into(),
        width,
        height,
        config_width: width,
        config_height: height,
        multi_mode: 0,
    }
}

/// Samples at `offsets`: two metrics (an integer one and a float one) and one network link, each
/// value a function of its offset, so that a sample that moved or was lost shows.
pub fn samples(offsets: impl IntoIterator<Item = i64>) -> Columns {
    let time_offset: Vec<i64> = offsets.into_iter().collect();
    let of = |f: fn(i64) -> f64| time_offset.iter().map(|&o| f(o)).collect::<Vec<f64>>();
    Columns {
        metrics: vec![
            (Metric::Fps, of(|o| (20 + o % 7) as f64)),
            (Metric::CpuUsed, of(|o| 35.02 + (o % 5) as f64)),
        ],
        nets: vec![NetColumns {
            net_id: 1,
            net_ip: "10.0.0.1".into(),
            rtt: of(|o| (30 + o % 11) as f64),
            lost: of(|o| (o % 2) as f64),
            send_bps: of(|o| (1000 + o) as f64),
            recv_bps: of(|o| (2000 + o) as f64),
        }],
        time_offset,
    }
}

/// A grade with one reason per metric.
pub fn assessment(grade: Grade, metrics: &[&str]) -> Assessment {
    Assessment {
        grade,
        reasons: metrics
            .iter()
            .map(|m| Reason {
                device_type: DeviceType::Field,
                grade,
                metric: m.to_string(),
                text: format!("{m} crossed its threshold"),
            })
            .collect(),
    }
}

/// Stores `grade` (with one reason per metric) as the session's provisional quality, as of its
/// last update.
pub async fn grade(
    store: &dyn Store,
    scope: &Scope,
    session_id: &str,
    grade: Grade,
    metrics: &[&str],
) {
    let row = scope.session(store, session_id).await.session;
    store
        .save_quality(
            row.session_key,
            &assessment(grade, metrics),
            false,
            row.last_update,
        )
        .await
        .unwrap();
}

/// Appends a report the store must accept.
pub async fn accept(store: &dyn Store, append: Append) -> AppendOutcome {
    store
        .append(append)
        .await
        .unwrap()
        .expect("an accepted append")
}

/// Appends a report the store must refuse.
pub async fn refuse(store: &dyn Store, append: Append) -> AppendRejection {
    match store.append(append).await.unwrap() {
        Ok(outcome) => panic!("expected a rejection, the append was accepted: {outcome:?}"),
        Err(rejection) => rejection,
    }
}

pub fn outcome(accepted: u64, duplicates: u64) -> AppendOutcome {
    AppendOutcome {
        accepted,
        duplicates,
    }
}
