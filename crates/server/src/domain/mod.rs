//! The product's concepts and rules, independent of the wire and of the database: accounts and keys,
//! projects, devices, policies. Sits between `actions` (which speak the vendor's wire types) and
//! `store` (which persists). Every operation takes the caller's account and scopes by it.

pub mod accounts;
pub mod clock;
pub mod codec;
pub mod console_sessions;
pub mod device_login;
pub mod devices;
pub mod ids;
pub mod incidents;
pub mod policy;
pub mod projects;
pub mod quality;
pub mod rules;
pub mod samples;
pub mod secrets;
pub mod sessions;
pub mod usage;

use crate::store::Store;
use std::sync::Arc;

pub use clock::Clock;
pub use secrets::Sealer;

/// The entry point of the domain layer: the store, the secret sealer and the clock.
#[derive(Clone)]
pub struct Domain {
    pub store: Arc<dyn Store>,
    pub sealer: Sealer,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
}

/// The product's tunables that the domain applies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Seconds without a report after which a device's part of a session ends (docs/api.md §4.6: 60).
    pub idle_timeout: i64,
    /// Seconds a `ready` heartbeat lasts (docs/api.md §4.6: 30).
    pub heartbeat_timeout: i64,
    pub quality: quality::QualityConfig,
    /// The glass-to-glass latency target the console draws, ms (`latency_budget_ms`, default 150).
    pub latency_budget_ms: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            idle_timeout: 60,
            heartbeat_timeout: 30,
            quality: quality::QualityConfig::default(),
            latency_budget_ms: 150,
        }
    }
}

/// A tenant. Every project belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// The controlled device (vehicle, crane).
    Field,
    /// The operator's console.
    Remote,
}

impl DeviceType {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceType::Field => "field",
            DeviceType::Remote => "remote",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceType> {
        match s {
            "field" => Some(DeviceType::Field),
            "remote" => Some(DeviceType::Remote),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyMode {
    /// Every remote may control every field device except those listed for it (the default).
    Black,
    /// A remote may control only the field devices listed for it.
    White,
}

impl PolicyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyMode::Black => "black",
            PolicyMode::White => "white",
        }
    }
    pub fn parse(s: &str) -> Option<PolicyMode> {
        match s {
            "black" => Some(PolicyMode::Black),
            "white" => Some(PolicyMode::White),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Not logged in.
    Offline,
    /// Logged in, idle.
    Ready,
    /// In a session.
    Connected,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Offline => "offline",
            DeviceStatus::Ready => "ready",
            DeviceStatus::Connected => "connected",
        }
    }
    pub fn parse(s: &str) -> Option<DeviceStatus> {
        match s {
            "offline" => Some(DeviceStatus::Offline),
            "ready" => Some(DeviceStatus::Ready),
            "connected" => Some(DeviceStatus::Connected),
            _ => None,
        }
    }
}

/// An API key pair. The secret key is kept sealed (see `secrets`).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub secret_id: String,
    pub account_id: AccountId,
    pub secret_key_sealed: String,
    pub created_at: i64,
}

/// Project shared-key mode (`ModifyProjectSecMode`, docs/api.md §4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecMode {
    pub enabled: bool,
    pub key_sealed: Option<String>,
    /// 0 off, 1 field only, 2 remote only, 3 both.
    pub auto_register: i64,
    pub field_list_enable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub url: String,
    pub sign_key_sealed: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub account_id: AccountId,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub policy_mode: PolicyMode,
    pub modify_time: i64,
    pub created_at: i64,
    pub sec_mode: SecMode,
    pub callback: Option<Callback>,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub account_id: AccountId,
    pub project_id: String,
    pub device_id: String,
    pub name: String,
    pub device_type: DeviceType,
    pub token_sealed: String,
    /// Created by a device's first login under `AutoRegister`, not through `CreateDevice`.
    pub auto_registered: bool,
    pub status: DeviceStatus,
    /// The last status change (`LastReportTime`, docs/api.md §4.6).
    pub last_report_time: i64,
    /// The last metadata edit.
    pub modify_time: i64,
    pub created_at: i64,
}

/// One page of a list: `number` from 1, `size` 1..=100 (docs/api.md §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u64,
    pub size: u64,
}

impl Page {
    /// Rows before the page, at most `i64::MAX` (SQL's OFFSET): a page beyond every row is
    /// simply empty, whatever its number.
    pub fn offset(self) -> u64 {
        (self.number - 1)
            .saturating_mul(self.size)
            .min(i64::MAX as u64)
    }
}

/// `DeviceStatus` filter of DescribeDeviceList; `online` means ready or connected (api.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(DeviceStatus),
    Online,
}

#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub device_type: Option<DeviceType>,
    /// Substring of the id or the name.
    pub search: Option<String>,
    pub status: Option<StatusFilter>,
    /// `RegisterType` 1: include devices that registered themselves.
    pub include_auto_registered: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySearch {
    Remote,
    Field,
}

/// The field devices listed for one remote device in one policy mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub remote_device_id: String,
    pub field_device_ids: Vec<String>,
    /// The latest time a field device was added to this list.
    pub modify_time: i64,
}
