//! The storage traits: operations in the model's terms, each backend writing the best SQL for its
//! dialect and owning how it keeps samples (`codec`). Nothing above this module sees SQL, a connection
//! or an encoded chunk. Every method that reads or writes a tenant's data takes the account, and every
//! query filters by it (docs/api.md §2.9: a foreign id is a missing id).
//!
//! Backends: `sqlite` (embedded, the default) and `postgres` (shared by many nodes). Every backend passes the conformance suite
//! (`tests/store_conformance.rs`), one line per backend.

pub mod calendar;
pub mod codec;
pub mod migrate;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod upkeep;

use crate::errors::StoreError;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::{
    Append, AppendOutcome, AppendRejection, FleetOverviewRow, ReportContext, SessionFacts,
    SessionFilter, SessionRow, SessionSamples,
};
use crate::model::usage::{Grain, Totals};
use crate::model::{
    AccountId, ApiKey, Callback, ConsoleSession, Device, DeviceChanges, DeviceFilter, DeviceStatus,
    Page, PolicyEntry, PolicyMode, PolicySearch, Project, ProjectChanges, SecMode,
};
use async_trait::async_trait;
use std::sync::Arc;

pub type Result<T> = std::result::Result<T, StoreError>;

/// A backend: every part below, and whether it can serve. Backends implement each part in a file of
/// their own (`sqlite/projects.rs` implements [`Projects`], ...); the conformance suite
/// (`tests/store_conformance.rs`) states the contract of every method and runs on every backend.
#[async_trait]
pub trait Store:
    Accounts + Projects + Devices + Policies + Sessions + Rollups + Upkeep + Counters
{
    /// Whether the store answers and can write (for `/readyz`): `Full` while writes fail for lack of
    /// space.
    async fn ping(&self) -> Result<()>;
}

/// Accounts, their API keys and console sign-ins (deleting a key deletes its sign-ins).
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()>;
    async fn account_exists(&self, account: &AccountId) -> Result<bool>;
    /// `Conflict` if the secret id is taken.
    async fn insert_key(&self, key: &ApiKey) -> Result<()>;
    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>>;
    async fn delete_key(&self, secret_id: &str) -> Result<bool>;
    /// Store a session; sessions expired at `now` are removed on the way.
    async fn insert_console_session(&self, session: &ConsoleSession, now: i64) -> Result<()>;
    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>>;
    async fn delete_console_session(&self, token_hash: &str) -> Result<bool>;
}

/// Projects and their settings; deleting one removes everything it owns.
#[async_trait]
pub trait Projects: Send + Sync {
    /// Stores the project as given, its settings included; `Conflict` if the id is taken in any
    /// account (a device credential names the project alone).
    async fn insert_project(&self, project: &Project) -> Result<()>;
    async fn project(&self, account: &AccountId, project_id: &str) -> Result<Option<Project>>;
    /// Oldest first; returns (total, page).
    async fn list_projects(&self, account: &AccountId, page: Page) -> Result<(u64, Vec<Project>)>;
    /// False if the project does not exist for this account.
    async fn update_project(
        &self,
        account: &AccountId,
        project_id: &str,
        changes: &ProjectChanges,
        now: i64,
    ) -> Result<bool>;
    async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: &SecMode,
        now: i64,
    ) -> Result<bool>;
    async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        callback: &Callback,
        now: i64,
    ) -> Result<bool>;
    /// Removes the project and everything it owns (devices, policies, sessions).
    async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool>;

    /// A project by id alone: device credentials name the project, not the account.
    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>>;
}

/// Devices, and what a device login reads and writes (credential, self-registration, status).
#[async_trait]
pub trait Devices: Send + Sync {
    /// `Conflict` if the device id is taken in the project.
    async fn insert_device(&self, device: &Device) -> Result<()>;
    async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Device>>;
    /// Ordered by device id; returns (total, page).
    async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>)>;
    async fn update_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        changes: &DeviceChanges,
        now: i64,
    ) -> Result<bool>;
    /// Deletes the devices that exist (and their policy entries); returns the ids that were deleted.
    async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        device_ids: &[String],
    ) -> Result<Vec<String>>;
    /// What a device credential names, in one read (one per request of the device API): the
    /// project by id alone and the device, if it is registered.
    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>>;
    /// Registers a device that logged in with the project key (`AutoRegister`); `Conflict` if taken.
    async fn insert_auto_device(&self, device: &Device) -> Result<()>;
    /// A heartbeat (`ready`) or a log-out (`offline`); returns the status after it, or `None` (and
    /// no change) if the account's project has no such device (deleted since it logged in).
    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
        now: i64,
    ) -> Result<Option<DeviceStatus>>;
}

/// Permission policies: per remote device and mode, a list of field devices.
#[async_trait]
pub trait Policies: Send + Sync {
    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_id: &str,
    ) -> Result<Vec<String>>;
    /// Applies one ModifyPolicy change to the list of one remote device in one mode, as one
    /// transaction: reading the list, checking that each id to add is a field device of the project,
    /// and writing. Concurrent changes therefore never lose each other's ids, and a device deleted
    /// meanwhile is never left listed. Ids added get `now` as their time. `None` (and no change) if
    /// `remote_device_id` is not a remote device of the project.
    async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        edit: &PolicyEdit,
        now: i64,
    ) -> Result<Option<PolicyChange>>;
    /// Entries grouped by remote device, ordered by remote id; returns (total remotes, page).
    async fn list_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> Result<(u64, Vec<PolicyEntry>)>;
    /// Deletes the lists of these remote devices in this mode; returns the remote ids that had one.
    async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_ids: &[String],
    ) -> Result<Vec<String>>;
}

/// Sessions and their samples: appends from reports and imports, reads, lists.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// What a metrics report needs before its append, in one read: the peer device, and whether
    /// `device_id` already has a part in the session.
    async fn report_context(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        peer_device_id: &str,
        session_id: &str,
    ) -> Result<ReportContext>;
    /// Appends one report atomically: creates or joins the session and the device's part, stores
    /// the samples not stored before, and updates the session and the device's status. Durable
    /// when it returns.
    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>>;
    /// A session with its parts and their samples whose absolute time lies in [from, to] (each
    /// bound optional), decoded in one call.
    async fn session_samples(
        &self,
        account: &AccountId,
        session_id: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Option<SessionSamples>>;
    /// Newest start first, ties by SessionId; returns (total, page).
    async fn list_sessions(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &SessionFilter,
        page: Page,
    ) -> Result<(u64, Vec<SessionRow>)>;
    /// The fleet overview of the sessions that start in [from, to), its lists at most `limit` long,
    /// read in one snapshot.
    async fn fleet_overview(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        limit: usize,
    ) -> Result<FleetOverviewRow>;
}

/// What statistics and usage read: session facts and the rollups of session starts.
#[async_trait]
pub trait Rollups: Send + Sync {
    /// The sessions that start in [from, to), for statistics and usage.
    async fn session_facts(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionFacts>>;

    /// Totals of the sessions starting in each range [from, to), from the day and quarter-hour
    /// sums; the ranges are sorted and disjoint.
    async fn session_totals(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>>;
    /// Distinct (field, remote) devices of the sessions starting in each range [from, to); the
    /// ranges are sorted and disjoint.
    async fn active_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<(i64, i64)>>;
    /// Where the project's sessions start: the spans [start, end) of the quarter hours
    /// ([`Grain::Quarter`]) or of the store's local days ([`Grain::Day`]) in which at least one
    /// session starts, that meet [from, to); ascending, at most `limit` (read on from the last
    /// span's end). Statistics by hour, day or month and usage by day visit only these, so their
    /// work follows the sessions, not the length of the window.
    async fn session_spans(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        grain: Grain,
        limit: usize,
    ) -> Result<Vec<(i64, i64)>>;
}

/// Upkeep, run by one task: idle timeouts, heartbeats, compaction, scoring; and retention.
#[async_trait]
pub trait Upkeep: Send + Sync {
    /// Ends parts without a report since `cutoff`; their devices become `ready` if they sent a
    /// heartbeat since `heartbeat_cutoff`, else `offline`. Returns how many parts ended.
    async fn end_idle_parts(&self, cutoff: i64, heartbeat_cutoff: i64, now: i64) -> Result<u64>;
    /// Ready devices without a heartbeat since `cutoff` go offline; returns how many.
    async fn expire_heartbeats(&self, cutoff: i64, now: i64) -> Result<u64>;
    /// Merges the chunks of parts that ended with more than one chunk, or that have gathered many
    /// (live devices report a few samples at a time); returns how many parts were compacted.
    async fn compact_parts(&self, limit: u32) -> Result<u64>;
    /// Sessions whose quality is stale (new samples, or ended but not finally scored).
    async fn sessions_to_score(&self, limit: u32) -> Result<Vec<i64>>;
    /// A session by its key with all its samples, for scoring.
    async fn session_to_score(&self, session_key: i64) -> Result<Option<SessionSamples>>;
    /// Stores a session's grade and reasons as of `scored_at` (its last update when scored); final
    /// only if the session is ended and had no report since.
    async fn save_quality(
        &self,
        session_key: i64,
        assessment: &Assessment,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()>;
    /// Retention: removes the samples of chunks whose time lies before `before`, a whole unit of
    /// the backend's storage at a time — on SQLite the chunks of the parts whose last sample lies
    /// before `before`, on PostgreSQL the weekly partitions of chunks whose week ends at or before
    /// it (a chunk lies in the week of its first sample). Sessions, parts and rollups stay:
    /// statistics and usage do not change, and an old session reads without samples. Returns how
    /// many chunks or partitions were dropped.
    async fn drop_samples_before(&self, before: i64) -> Result<u64>;
}

/// Request counts in one-second windows, for the rate limits: in the process on SQLite (one node
/// serves a file), in the database on PostgreSQL, so that a limit holds across every node.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Counts one request for `key` in the window of `second` (Unix time) and returns the window's
    /// count so far, this request included.
    async fn count_request(&self, key: &str, second: i64) -> Result<u64>;
}

/// Open the store a URL names: `sqlite://PATH`, optionally `?max_database_bytes=N`
/// ([`sqlite::Options`]), or `postgres://...` / `postgresql://...` ([`postgres::Options`]).
/// `day_offset`: the configured time zone's UTC offset in seconds (statistics count active
/// devices by its local days).
pub async fn open(url: &str, day_offset: i64) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let (path, options) = sqlite::Options::parse(rest)?;
        return Ok(Arc::new(sqlite::SqliteStore::open(
            path, day_offset, options,
        )?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open(url, day_offset).await?));
    }
    anyhow::bail!("unsupported database URL `{url}`: expected sqlite://PATH or postgres://...")
}
