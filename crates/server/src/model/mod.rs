//! The model: the product's values and the pure rules over them, shared by every layer above.
//! Accounts, projects, devices, policies, sessions and their samples, quality grades, usage totals,
//! list filters and pages. No I/O and no imports from other modules of the crate: `store` persists
//! these values, `domain` applies the product's rules to them, `actions` turn them into the wire.

pub mod accounts;
pub mod devices;
pub mod policies;
pub mod projects;
pub mod quality;
pub mod samples;
pub mod sessions;
pub mod usage;

pub use accounts::{AccountId, ApiKey, ConsoleSession};
pub use devices::{Device, DeviceChanges, DeviceFilter, DeviceStatus, DeviceType, StatusFilter};
pub use policies::{ModifyMode, PolicyChange, PolicyEdit, PolicyEntry, PolicyMode, PolicySearch};
pub use projects::{AutoRegister, Callback, Project, ProjectChanges, SecMode};

/// The last second a time parameter may name: 9999-12-31T23:59:59Z. The vendor's model types every
/// time as a plain `int` of seconds with no documented bound (api.json, StartTime/EndTime of the
/// session and statistics actions), so the bound is ours: the four-digit years of the ISO-8601
/// times we write (ModifyTime, LastReportTime) and of SQLite's date functions (which count the
/// local days of the rollups), with room for any `EndTime` a client sends to mean "open"
/// (`9999999999`, year 2286). Beyond it the calendar code would have to fail somewhere.
pub const LATEST: i64 = 253_402_300_799;

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
