//! ModifyCallbackUrl: stored now; delivery comes with the events that use it.

use super::{Ctx, Handler};
use crate::errors::DomainError;
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

#[async_trait]
impl Handler for ModifyCallbackUrlRequest {
    type Response = ModifyCallbackUrlResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        ctx.domain
            .set_callback(
                ctx.caller,
                &self.ProjectId,
                &self.CallbackUrl,
                self.SignKey.as_deref(),
            )
            .await?;
        // The vendor's example answer: {"Code": 0, "Msg": "ok"}.
        Ok(ModifyCallbackUrlResponse {
            Code: 0,
            Msg: "ok".to_owned(),
        })
    }
}
