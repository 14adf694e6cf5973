//! ModifyPolicy, DescribePolicy, BatchDeletePolicy.

use super::{page, Ctx, Handler};
use crate::domain::policy;
use crate::errors::DomainError;
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

#[async_trait]
impl Handler for ModifyPolicyRequest {
    type Response = ModifyPolicyResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let (pmode, mmode) = (
            policy::policy_mode(&self.PolicyMode)?,
            policy::modify_mode(&self.ModifyMode)?,
        );
        let change = ctx
            .domain
            .modify_policy(
                ctx.caller,
                &self.ProjectId,
                &self.RemoteDeviceId,
                &self.FieldDeviceIds,
                pmode,
                mmode,
            )
            .await?;
        Ok(ModifyPolicyResponse {
            FailedInsertIds: change.failed_insert,
            FailedDeleteIds: change.failed_delete,
        })
    }
}

#[async_trait]
impl Handler for DescribePolicyRequest {
    type Response = DescribePolicyResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(self.PageNumber, self.PageSize, "PageNumber")?;
        let result = ctx
            .domain
            .describe_policy(
                ctx.caller,
                &self.ProjectId,
                self.PolicyMode.as_deref().filter(|m| !m.is_empty()),
                self.SearchMode.as_deref().filter(|m| !m.is_empty()),
                self.SearchWords.as_deref(),
                page,
            )
            .await?;
        let info: Vec<PolicyInfo> = result
            .entries
            .into_iter()
            .map(|e| PolicyInfo {
                RemoteDeviceId: e.remote_device_id,
                FieldDeviceIds: e.field_device_ids,
                ModifyTime: ctx.iso(e.modify_time),
            })
            .collect();
        Ok(DescribePolicyResponse {
            PolicyMode: result.mode.as_str().to_owned(),
            PolicyEnabled: result.enabled,
            Num: info.len() as i64,
            Total: result.total as i64,
            PolicyInfo: info,
        })
    }
}

#[async_trait]
impl Handler for BatchDeletePolicyRequest {
    type Response = BatchDeletePolicyResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let pmode = policy::policy_mode(&self.PolicyMode)?;
        let failed = ctx
            .domain
            .delete_policies(ctx.caller, &self.ProjectId, &self.RemoteDeviceIds, pmode)
            .await?;
        Ok(BatchDeletePolicyResponse {
            FailedRemoteDeviceIds: failed,
        })
    }
}
