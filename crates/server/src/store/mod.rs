//! The storage trait: domain-level operations, each backend writing the best SQL for its dialect.
//! Nothing above this module sees SQL or a connection. Every method that reads or writes a tenant's
//! data takes the account, and every query filters by it (PRODUCT.md §2: a foreign id is a missing id).
//!
//! Backends: `sqlite` (embedded, the default). PostgreSQL comes later behind the same trait.

pub mod sqlite;

use crate::domain::{
    AccountId, ApiKey, Callback, Device, DeviceFilter, Page, PolicyEntry, PolicyMode, PolicySearch,
    Project, SecMode,
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

/// The new list of one remote device: the ids kept from before, and the ids added now.
#[derive(Debug, Clone, Default)]
pub struct PolicyUpdate {
    pub keep: Vec<String>,
    pub added: Vec<String>,
}

/// Changes to a project's metadata (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub policy_mode: Option<PolicyMode>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Whether the store answers (for `/readyz`).
    async fn ping(&self) -> Result<()>;

    // --- accounts and keys ---
    async fn create_account(&self, account: &AccountId, now: i64) -> Result<()>;
    async fn account_exists(&self, account: &AccountId) -> Result<bool>;
    /// `Conflict` if the secret id is taken.
    async fn insert_key(&self, key: &ApiKey) -> Result<()>;
    async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>>;
    async fn list_keys(&self) -> Result<Vec<ApiKey>>;
    async fn delete_key(&self, secret_id: &str) -> Result<bool>;

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

    // --- policies ---
    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_id: &str,
    ) -> Result<Vec<String>>;
    /// Replaces the list of one remote device in one mode; `added` ids get `now` as their time.
    async fn write_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote_device_id: &str,
        update: &PolicyUpdate,
        now: i64,
    ) -> Result<()>;
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

/// Open the store a URL names: `sqlite://PATH` (or a bare path).
pub fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(path)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!("PostgreSQL is not available in this build yet; use sqlite://PATH");
    }
    anyhow::bail!("unsupported database URL `{url}`: expected sqlite://PATH")
}
