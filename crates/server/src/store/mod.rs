//! The storage trait: domain-level operations, each backend writing the best SQL for its dialect.
//! Nothing above this module sees SQL or a connection. Every method that reads or writes a tenant's
//! data takes the account, and every query filters by it (docs/api.md §2.9: a foreign id is a missing id).
//!
//! Backends: `sqlite` (embedded, the default). PostgreSQL comes later behind the same trait.

pub mod sqlite;

use crate::domain::console_sessions::ConsoleSession;
use crate::domain::policy::{ModifyMode, PolicyChange};
use crate::domain::quality::Grade;
use crate::domain::samples::Columns;
use crate::domain::usage::Totals;
use crate::domain::{
    AccountId, ApiKey, Callback, Device, DeviceFilter, DeviceStatus, DeviceType, Page, PolicyEntry,
    PolicyMode, PolicySearch, Project, SecMode,
};
use crate::errors::StoreError;
use async_trait::async_trait;
use std::sync::Arc;

pub type Result<T> = std::result::Result<T, StoreError>;

/// Changes to a device's metadata (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct DeviceChanges {
    pub name: Option<String>,
    pub token_sealed: Option<String>,
}

/// One ModifyPolicy change: the list of `remote_device_id` in `mode`, changed by `how` with
/// `field_device_ids`.
#[derive(Debug, Clone)]
pub struct PolicyEdit {
    pub mode: PolicyMode,
    pub remote_device_id: String,
    pub how: ModifyMode,
    pub field_device_ids: Vec<String>,
}

/// Changes to a project's metadata (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub policy_mode: Option<PolicyMode>,
}

/// The video and SDK facts a device states about its part of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartMeta {
    pub ver: String,
    pub sdk_mode: String,
    pub width: i64,
    pub height: i64,
    pub config_width: i64,
    pub config_height: i64,
    pub multi_mode: i64,
}

/// One device's report of samples, as the store appends it atomically.
#[derive(Debug, Clone)]
pub struct Append {
    pub account: AccountId,
    pub project_id: String,
    pub session_id: String,
    pub device_id: String,
    pub device_type: DeviceType,
    pub peer_device_id: String,
    pub start_time: i64,
    pub meta: PartMeta,
    /// The samples, ordered by offset, and their encoding (codec), made off the writer's thread.
    pub columns: Columns,
    pub encoded: Vec<u8>,
    /// Which metrics and links the samples carry (`Columns::schema`); fixed per part.
    pub schema: String,
    pub last: bool,
    pub now: i64,
    /// A live report from the device (updates its status); false for imported history.
    pub from_device: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendOutcome {
    pub accepted: u64,
    pub duplicates: u64,
}

/// Why the store refused an append: the session's invariants, checked atomically with the write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendRejection {
    /// The SessionId is in use in another project of the account.
    SessionInOtherProject,
    /// The session already has another device of this type.
    OtherDevice {
        device_type: DeviceType,
        existing: String,
    },
    /// PeerDeviceId is not the session's device of the other type.
    PeerMismatch { expected: String },
    /// The samples carry other metrics or links than this device's earlier samples of the session.
    SchemaMismatch { expected: String, got: String },
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session_key: i64,
    pub project_id: String,
    pub session_id: String,
    pub field_device_id: String,
    pub remote_device_id: String,
    pub start_time: i64,
    pub end_time: i64,
    /// The field device's video (`Resolution`) and configured size (billing class).
    pub width: i64,
    pub height: i64,
    pub config_width: i64,
    pub config_height: i64,
    pub multi_mode: i64,
    pub has_field_part: bool,
    pub quality: String,
    pub quality_final: bool,
    pub reasons: String,
    pub live: bool,
    pub last_update: i64,
}

#[derive(Debug, Clone)]
pub struct PartRow {
    pub part_key: i64,
    pub device_id: String,
    pub device_type: DeviceType,
    pub start_time: i64,
    pub meta: PartMeta,
    pub last_offset: i64,
    pub samples: i64,
    pub last_report: i64,
    pub ended: bool,
}

/// Which sessions a list shows (DescribeDeviceSessionList, DescribeRecentSessionList,
/// DescribeSessions).
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Either end of the session.
    pub device_id: Option<String>,
    /// The session's span [start, end] overlaps [from, to] (either bound optional); with `by_start`,
    /// its start lies in [from, to].
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Last report at or after this time.
    pub updated_since: Option<i64>,
    /// The session's stored grade (provisional while it is live).
    pub quality: Option<Grade>,
    /// A stored reason with this metric (`Reason::metric`, one of `quality::REASON_METRICS`).
    pub reason: Option<String>,
    /// Live (a part is open) or ended.
    pub live: Option<bool>,
    /// `from` and `to` bound the session's start, not its span.
    pub by_start: bool,
}

/// What the fleet overview lists about the sessions that start in a window.
#[derive(Debug, Clone, Default)]
pub struct FleetOverviewRow {
    /// Sessions by stored grade.
    pub good: u64,
    pub normal: u64,
    pub bad: u64,
    /// The worst sessions: bad before normal before good, then most reasons, newest, SessionId.
    pub worst: Vec<SessionRow>,
    /// The devices with the most bad sessions, most first, then field before remote, then by id.
    pub devices: Vec<DeviceBadSessionsRow>,
}

/// One device's bad sessions and all its sessions in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceBadSessionsRow {
    pub device_id: String,
    pub device_type: DeviceType,
    pub bad_sessions: u64,
    pub sessions: u64,
}

/// One session's contribution to statistics and usage.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub field_device_id: String,
    pub remote_device_id: String,
    pub start_time: i64,
    pub end_time: i64,
    pub config_width: i64,
    pub config_height: i64,
    pub width: i64,
    pub height: i64,
    pub multi_mode: i64,
    pub quality: String,
    /// Seconds each part was in the session (start to last sample).
    pub part_seconds: Vec<i64>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Whether the store answers and can write (for `/readyz`): `Full` while writes fail for lack of
    /// space.
    async fn ping(&self) -> Result<()>;

    // --- accounts and keys ---
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()>;
    async fn account_exists(&self, account: &AccountId) -> Result<bool>;
    /// `Conflict` if the secret id is taken.
    async fn insert_key(&self, key: &ApiKey) -> Result<()>;
    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>>;
    async fn delete_key(&self, secret_id: &str) -> Result<bool>;

    // --- console sessions (deleting a key deletes its sessions) ---
    /// Store a session; sessions expired at `now` are removed on the way.
    async fn insert_console_session(&self, session: &ConsoleSession, now: i64) -> Result<()>;
    async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>>;
    async fn delete_console_session(&self, token_hash: &str) -> Result<bool>;

    // --- projects ---
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

    // --- devices ---
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

    /// A project by id alone: device credentials name the project, not the account.
    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>>;
    /// What a device credential names, in one read (one per request of the device API): the
    /// project by id alone and the device, if it is registered.
    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>>;
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
    /// Registers a device that logged in with the project key (`AutoRegister`); `Conflict` if taken.
    async fn insert_auto_device(&self, device: &Device) -> Result<()>;
    /// A heartbeat (`ready`) or a log-out (`offline`); returns the status after it.
    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
        now: i64,
    ) -> Result<DeviceStatus>;

    // --- sessions and samples ---
    /// Appends one report atomically: creates or joins the session and the device's part, stores
    /// the samples not stored before, and updates the session and the device's status. Durable
    /// when it returns.
    async fn append(
        &self,
        append: Append,
    ) -> Result<std::result::Result<AppendOutcome, AppendRejection>>;
    async fn session(
        &self,
        account: &AccountId,
        session_id: &str,
    ) -> Result<Option<(SessionRow, Vec<PartRow>)>>;
    async fn session_by_key(&self, session_key: i64) -> Result<Option<(SessionRow, Vec<PartRow>)>>;
    /// The encoded chunks of a part, in append order.
    async fn part_chunks(&self, part_key: i64) -> Result<Vec<Vec<u8>>>;
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

    // --- upkeep (idle timeouts, heartbeats, scoring) ---
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
    async fn save_quality(
        &self,
        session_key: i64,
        grade: &str,
        reasons: &str,
        is_final: bool,
        scored_at: i64,
    ) -> Result<()>;

    // --- policies ---
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

/// See [`Store::report_context`].
#[derive(Debug, Clone)]
pub struct ReportContext {
    pub peer: Option<Device>,
    pub joined: bool,
}

/// The spans [`Store::session_spans`] answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Quarter,
    Day,
}

/// Open the store a URL names: `sqlite://PATH`, optionally `?max_database_bytes=N`
/// ([`sqlite::Options`]). `day_offset`: the configured time zone's UTC offset
/// in seconds (statistics count active devices by its local days).
pub fn open(url: &str, day_offset: i64) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let (path, options) = sqlite::Options::parse(rest)?;
        return Ok(Arc::new(sqlite::SqliteStore::open(
            path, day_offset, options,
        )?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!("PostgreSQL is not available in this build yet; use sqlite://PATH");
    }
    anyhow::bail!("unsupported database URL `{url}`: expected sqlite://PATH")
}
