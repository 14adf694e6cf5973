//! Projects: a tenant's unit of devices, policies and sessions, with its shared-key mode and callback.

use super::{AccountId, DeviceType, PolicyMode};

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

/// Project shared-key mode (`ModifyProjectSecMode`, docs/api.md §4.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecMode {
    pub enabled: bool,
    pub key_sealed: Option<String>,
    pub auto_register: AutoRegister,
    pub field_list_enable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub url: String,
    pub sign_key_sealed: Option<String>,
}

/// Changes to a project's metadata (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub policy_mode: Option<PolicyMode>,
}

/// Which unknown devices may register themselves at their first login with the project key
/// (`AutoRegister` of ModifyProjectSecMode: 0 none, 1 field devices, 2 remote devices, 3 both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoRegister {
    #[default]
    Off,
    Field,
    Remote,
    Both,
}

impl AutoRegister {
    /// The vendor's number; `None` outside 0..=3.
    pub fn from_code(code: i64) -> Option<AutoRegister> {
        Some(match code {
            0 => AutoRegister::Off,
            1 => AutoRegister::Field,
            2 => AutoRegister::Remote,
            3 => AutoRegister::Both,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        match self {
            AutoRegister::Off => 0,
            AutoRegister::Field => 1,
            AutoRegister::Remote => 2,
            AutoRegister::Both => 3,
        }
    }

    /// The device types that may register themselves.
    pub fn allows(self) -> &'static [DeviceType] {
        match self {
            AutoRegister::Off => &[],
            AutoRegister::Field => &[DeviceType::Field],
            AutoRegister::Remote => &[DeviceType::Remote],
            AutoRegister::Both => &[DeviceType::Field, DeviceType::Remote],
        }
    }
}
