//! TODO(pg): implement.
#![allow(unused_variables, unused_imports)]
use super::PgStore;
use crate::model::policies::{PolicyChange, PolicyEdit};
use crate::model::quality::Assessment;
use crate::model::sessions::*;
use crate::model::*;
use crate::store::Devices;
use crate::store::Result;
use async_trait::async_trait;

#[async_trait]
impl Devices for PgStore {
    async fn insert_device(&self, device: &Device) -> Result<()> {
        todo!("postgres")
    }
    async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Device>> {
        todo!("postgres")
    }
    async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>)> {
        todo!("postgres")
    }
    async fn update_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        changes: &DeviceChanges,
        now: i64,
    ) -> Result<bool> {
        todo!("postgres")
    }
    async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        device_ids: &[String],
    ) -> Result<Vec<String>> {
        todo!("postgres")
    }
    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>> {
        todo!("postgres")
    }
    async fn insert_auto_device(&self, device: &Device) -> Result<()> {
        todo!("postgres")
    }
    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
        now: i64,
    ) -> Result<Option<DeviceStatus>> {
        todo!("postgres")
    }
}
