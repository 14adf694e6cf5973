//! Devices: registration through the API, metadata changes, listing with the vendor's filters, and
//! batch deletion.

use super::{rules, Domain};
use crate::errors::{DomainError, Resource, StoreError};
use crate::model::DeviceChanges;
use crate::model::{AccountId, Device, DeviceFilter, DeviceStatus, DeviceType, Page};

pub struct NewDevice<'a> {
    pub device_id: &'a str,
    pub name: &'a str,
    pub device_type: &'a str,
    pub token: &'a str,
}

impl Domain {
    pub async fn create_device(
        &self,
        account: &AccountId,
        project_id: &str,
        new: NewDevice<'_>,
    ) -> Result<Device, DomainError> {
        rules::device_id("DeviceId", new.device_id)?;
        rules::device_name(new.name)?;
        let device_type = DeviceType::parse(new.device_type).ok_or_else(|| {
            DomainError::invalid("DeviceType", new.device_type, "`field` or `remote`")
        })?;
        rules::device_token(new.token)?;
        self.project(account, project_id).await?;
        let now = self.clock.now();
        let device = Device {
            account_id: account.clone(),
            project_id: project_id.to_owned(),
            device_id: new.device_id.to_owned(),
            name: new.name.to_owned(),
            device_type,
            token_sealed: self.sealer.seal(new.token),
            auto_registered: false,
            status: DeviceStatus::Offline,
            last_report_time: now,
            modify_time: now,
            created_at: now,
        };
        self.store
            .insert_device(&device)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => DomainError::AlreadyExists {
                    param: "DeviceId",
                    value: new.device_id.to_owned(),
                },
                other => other.into(),
            })?;
        Ok(device)
    }

    /// The device if it exists in the caller's project; `ResourceNotFound` otherwise.
    pub async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Device, DomainError> {
        self.project(account, project_id).await?;
        self.store
            .device(account, project_id, device_id)
            .await?
            .ok_or_else(|| DomainError::not_found(Resource::Device, device_id))
    }

    pub async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>), DomainError> {
        if let Some(words) = &filter.search {
            rules::search_words(words)?;
        }
        self.project(account, project_id).await?;
        Ok(self
            .store
            .list_devices(account, project_id, filter, page)
            .await?)
    }

    pub async fn modify_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        name: Option<&str>,
        token: Option<&str>,
    ) -> Result<(), DomainError> {
        if let Some(n) = name {
            rules::device_name(n)?;
        }
        if let Some(t) = token {
            rules::device_token(t)?;
        }
        self.project(account, project_id).await?;
        let changes = DeviceChanges {
            name: name.map(str::to_owned),
            token_sealed: token.map(|t| self.sealer.seal(t)),
        };
        let updated = self
            .store
            .update_device(account, project_id, device_id, &changes, self.clock.now())
            .await?;
        self.credentials.forget_all();
        if !updated {
            return Err(DomainError::not_found(Resource::Device, device_id));
        }
        Ok(())
    }

    /// Deletes the devices that exist; returns the ids that did not (the vendor's FailedDeviceIds).
    pub async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        device_ids: &[String],
    ) -> Result<Vec<String>, DomainError> {
        self.project(account, project_id).await?;
        let deleted = self
            .store
            .delete_devices(account, project_id, device_ids)
            .await?;
        self.credentials.forget_all();
        let mut failed: Vec<String> = device_ids
            .iter()
            .filter(|id| !deleted.contains(id))
            .cloned()
            .collect();
        failed.dedup();
        Ok(failed)
    }
}
