//! Devices: the field devices and remote consoles of a project, their status and how lists filter them.

use super::AccountId;
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// Ordered field before remote, as lists show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// The type at the other end of a session.
    pub fn other(self) -> DeviceType {
        match self {
            DeviceType::Field => DeviceType::Remote,
            DeviceType::Remote => DeviceType::Field,
        }
    }
}

impl fmt::Display for DeviceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// Changes to a device's metadata (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct DeviceChanges {
    pub name: Option<String>,
    pub token_sealed: Option<String>,
}
