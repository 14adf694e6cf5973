//! CreateDevice, DescribeDeviceList, DescribeDeviceInfo, ModifyDevice, BatchDeleteDevices.

use super::{page, Ctx, Handler};
use crate::domain::devices::NewDevice;
use crate::errors::DomainError;
use crate::model::{DeviceFilter, DeviceStatus, DeviceType, StatusFilter};
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

#[async_trait]
impl Handler for CreateDeviceRequest {
    type Response = CreateDeviceResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let new = NewDevice {
            device_id: &self.DeviceId,
            name: &self.DeviceName,
            device_type: &self.DeviceType,
            token: &self.DeviceToken,
        };
        ctx.domain
            .create_device(ctx.caller, &self.ProjectId, new)
            .await?;
        Ok(CreateDeviceResponse {})
    }
}

#[async_trait]
impl Handler for DescribeDeviceListRequest {
    type Response = DescribeDeviceListResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(self.PageNumber, self.PageSize, "PageNumber")?;
        // Empty strings mean "no filter": the SDKs send "" for unset strings in some languages.
        let device_type = match self.DeviceType.as_deref() {
            None | Some("") => None,
            Some(t) => Some(
                DeviceType::parse(t)
                    .ok_or_else(|| DomainError::invalid("DeviceType", t, "`field` or `remote`"))?,
            ),
        };
        // api.json DescribeDeviceList.DeviceStatus: ["ready","connected","online"], online = ready or
        // connected; `offline` is accepted too (the vendor's own example filters on it).
        let status = match self.DeviceStatus.as_deref() {
            None | Some("") => None,
            Some("online") => Some(StatusFilter::Online),
            Some(s) => Some(StatusFilter::Is(DeviceStatus::parse(s).ok_or_else(
                || {
                    DomainError::invalid(
                        "DeviceStatus",
                        s,
                        "`offline`, `ready`, `connected` or `online`",
                    )
                },
            )?)),
        };
        // RegisterType: 0 (default) leaves out devices that registered themselves, 1 includes them.
        let include_auto_registered = match self.RegisterType.unwrap_or(0) {
            0 => false,
            1 => true,
            r => {
                return Err(DomainError::invalid(
                    "RegisterType",
                    r.to_string(),
                    "0 or 1",
                ))
            }
        };
        let filter = DeviceFilter {
            device_type,
            search: self.SearchWords.filter(|w| !w.is_empty()),
            status,
            include_auto_registered,
        };
        let (total, devices) = ctx
            .domain
            .list_devices(ctx.caller, &self.ProjectId, &filter, page)
            .await?;
        let devices: Vec<DeviceInfo> = devices
            .into_iter()
            .map(|d| DeviceInfo {
                DeviceId: d.device_id,
                DeviceName: d.name,
                DeviceStatus: d.status.as_str().to_owned(),
                DeviceType: d.device_type.as_str().to_owned(),
                ModifyTime: ctx.iso(d.modify_time),
                LastReportTime: ctx.iso(d.last_report_time),
                ProjectId: d.project_id,
            })
            .collect();
        Ok(DescribeDeviceListResponse {
            Num: devices.len() as i64,
            Total: total as i64,
            Devices: devices,
        })
    }
}

#[async_trait]
impl Handler for DescribeDeviceInfoRequest {
    type Response = DescribeDeviceInfoResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let d = ctx
            .domain
            .device(ctx.caller, &self.ProjectId, &self.DeviceId)
            .await?;
        Ok(DescribeDeviceInfoResponse {
            DeviceName: d.name,
            DeviceType: d.device_type.as_str().to_owned(),
            DeviceStatus: d.status.as_str().to_owned(),
            LastReportTime: ctx.iso(d.last_report_time),
            ModifyTime: ctx.iso(d.modify_time),
        })
    }
}

#[async_trait]
impl Handler for ModifyDeviceRequest {
    type Response = ModifyDeviceResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        ctx.domain
            .modify_device(
                ctx.caller,
                &self.ProjectId,
                &self.DeviceId,
                self.DeviceName.as_deref(),
                self.DeviceToken.as_deref(),
            )
            .await?;
        Ok(ModifyDeviceResponse {})
    }
}

#[async_trait]
impl Handler for BatchDeleteDevicesRequest {
    type Response = BatchDeleteDevicesResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let failed = ctx
            .domain
            .delete_devices(ctx.caller, &self.ProjectId, &self.DeviceIds)
            .await?;
        Ok(BatchDeleteDevicesResponse {
            FailedDeviceIds: failed,
        })
    }
}
