//! Sessions as stored: a session has one field and one remote device; each device's samples form its
//! *part*. What an append hands the store, what a read gives back, and how lists filter sessions.

use super::quality::{Grade, Reason};
use super::samples::Columns;
use super::{AccountId, Device, DeviceType};

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
    /// The samples, ordered by offset; the store chooses how to encode them.
    pub columns: Columns,
    pub last: bool,
    pub now: i64,
    /// A live report from the device (updates its status); false for imported history.
    pub from_device: bool,
    /// Store it only if the device has joined this session before, with this peer, and the peer
    /// is still a device of the other type in the project; else refuse it as
    /// [`AppendRejection::NotJoined`], changing nothing. The quick path of a live device's reports:
    /// its checks run inside the write instead of in reads before it.
    pub joined_only: bool,
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
    /// A `joined_only` append whose device has not joined the session with this peer (or the peer
    /// is gone): the caller takes the full path.
    NotJoined,
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
    /// Provisional while the session is live (`good` until first scored).
    pub quality: Grade,
    pub quality_final: bool,
    pub reasons: Vec<Reason>,
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
    pub quality: Grade,
    /// Seconds each part was in the session (start to last sample).
    pub part_seconds: Vec<i64>,
}

/// What a metrics report needs to know before its append (`Store::report_context`).
#[derive(Debug, Clone)]
pub struct ReportContext {
    pub peer: Option<Device>,
    pub joined: bool,
}

/// One device's part of a session with its samples (possibly cut to a time window).
#[derive(Debug, Clone)]
pub struct PartSamples {
    pub part: PartRow,
    pub columns: Columns,
}

/// A session with its parts and their samples, as one read gives them.
#[derive(Debug, Clone)]
pub struct SessionSamples {
    pub session: SessionRow,
    pub parts: Vec<PartSamples>,
}
