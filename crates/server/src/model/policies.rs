//! Permission policies: for each remote device, in each mode, the field devices it may not (black) or
//! may only (white) control.

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

/// How ModifyPolicy changes a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModifyMode {
    Add,
    Remove,
    Set,
}

impl ModifyMode {
    pub fn parse(v: &str) -> Option<ModifyMode> {
        match v {
            "add" => Some(ModifyMode::Add),
            "remove" => Some(ModifyMode::Remove),
            "set" => Some(ModifyMode::Set),
            _ => None,
        }
    }
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

/// The outcome of ModifyPolicy, in the vendor's terms.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PolicyChange {
    /// Ids that could not be added: not a field device of the project.
    pub failed_insert: Vec<String>,
    /// Ids that could not be removed: not in the list.
    pub failed_delete: Vec<String>,
}
