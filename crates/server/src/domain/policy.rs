//! Permission policies: for each remote device, in each mode (black/white), the list of field devices
//! it may not (black) or may only (white) control. The project's `PolicyMode` says which list is in
//! force; both are kept, as the vendor's DescribePolicy can show either.

use super::{rules, Domain};
use crate::errors::{DomainError, Resource};
use crate::model::{
    AccountId, DeviceType, ModifyMode, Page, PolicyChange, PolicyEdit, PolicyEntry, PolicyMode,
    PolicySearch,
};

/// `ModifyMode` as the vendor spells it.
pub fn modify_mode(v: &str) -> Result<ModifyMode, DomainError> {
    ModifyMode::parse(v)
        .ok_or_else(|| DomainError::invalid("ModifyMode", v, "`add`, `remove` or `set`"))
}

/// `PolicyMode` as the vendor spells it.
pub fn policy_mode(v: &str) -> Result<PolicyMode, DomainError> {
    PolicyMode::parse(v).ok_or_else(|| DomainError::invalid("PolicyMode", v, "`black` or `white`"))
}

/// A page of DescribePolicy.
pub struct PolicyPage {
    pub mode: PolicyMode,
    pub enabled: bool,
    pub total: u64,
    pub entries: Vec<PolicyEntry>,
}

impl Domain {
    pub async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        remote_device_id: &str,
        field_device_ids: &[String],
        pmode: PolicyMode,
        mmode: ModifyMode,
    ) -> Result<PolicyChange, DomainError> {
        rules::device_id("RemoteDeviceId", remote_device_id)?;
        let remote = self.device(account, project_id, remote_device_id).await?;
        if remote.device_type != DeviceType::Remote {
            return Err(DomainError::invalid(
                "RemoteDeviceId",
                remote_device_id,
                "the id of a remote device of the project",
            ));
        }
        // The list is read, checked and written in one store transaction (see `Store::modify_policy`).
        let edit = PolicyEdit {
            mode: pmode,
            remote_device_id: remote_device_id.to_owned(),
            how: mmode,
            field_device_ids: field_device_ids.to_vec(),
        };
        self.store
            .modify_policy(account, project_id, &edit, self.clock.now())
            .await?
            // Deleted since the check above.
            .ok_or_else(|| DomainError::not_found(Resource::Device, remote_device_id))
    }

    pub async fn describe_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        policy_mode: Option<&str>,
        search_mode: Option<&str>,
        search_words: Option<&str>,
        page: Page,
    ) -> Result<PolicyPage, DomainError> {
        let project = self.project(account, project_id).await?;
        // api.json DescribePolicy.PolicyMode: "不填默认为当前项目生效的权限模式".
        let pmode = policy_mode
            .map(self::policy_mode)
            .transpose()?
            .unwrap_or(project.policy_mode);
        // SearchMode: "不填默认为remoteMatch".
        let search_kind = match search_mode.unwrap_or("remoteMatch") {
            "remoteMatch" => PolicySearch::Remote,
            "fieldMatch" => PolicySearch::Field,
            other => {
                return Err(DomainError::invalid(
                    "SearchMode",
                    other,
                    "`remoteMatch` or `fieldMatch`",
                ))
            }
        };
        let search = search_words
            .filter(|w| !w.is_empty())
            .map(|w| rules::search_words(w).map(|()| (search_kind, w)))
            .transpose()?;
        let (total, entries) = self
            .store
            .list_policies(account, project_id, pmode, search, page)
            .await?;
        Ok(PolicyPage {
            mode: pmode,
            enabled: pmode == project.policy_mode,
            total,
            entries,
        })
    }

    /// Deletes the lists of these remote devices; returns the ids that had none (FailedRemoteDeviceIds).
    pub async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        remote_device_ids: &[String],
        pmode: PolicyMode,
    ) -> Result<Vec<String>, DomainError> {
        self.project(account, project_id).await?;
        let deleted = self
            .store
            .delete_policies(account, project_id, pmode, remote_device_ids)
            .await?;
        Ok(remote_device_ids
            .iter()
            .filter(|id| !deleted.contains(id))
            .cloned()
            .collect())
    }

    /// Whether `remote` may control `field` under the project's policy in force: in `black` mode
    /// every pair except the listed ones, in `white` mode only the listed ones (docs/api.md §4.4).
    pub async fn policy_allows(
        &self,
        account: &AccountId,
        project_id: &str,
        remote: &str,
        field: &str,
    ) -> Result<bool, DomainError> {
        let project = self.project(account, project_id).await?;
        let listed = self
            .store
            .policy_fields(account, project_id, project.policy_mode, remote)
            .await?;
        let in_list = listed.iter().any(|f| f == field);
        Ok(match project.policy_mode {
            PolicyMode::Black => !in_list,
            PolicyMode::White => in_list,
        })
    }
}
