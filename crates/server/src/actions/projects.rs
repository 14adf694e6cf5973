//! CreateProject, DescribeProjectList, DescribeProjectInfo, ModifyProject, DeleteProject,
//! ModifyProjectSecMode.

use super::{page, Ctx, Handler};
use crate::domain::projects::SecModeRequest;
use crate::errors::DomainError;
use crate::model::Project;
use async_trait::async_trait;
use teleoscope_protocol::wire::*;

fn info(ctx: &Ctx<'_>, p: Project) -> ProjectInfo {
    ProjectInfo {
        ModifyTime: ctx.iso(p.modify_time),
        ProjectId: p.project_id,
        ProjectName: p.name,
        ProjectDescription: p.description,
        PolicyMode: p.policy_mode.as_str().to_owned(),
    }
}

#[async_trait]
impl Handler for CreateProjectRequest {
    type Response = CreateProjectResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let p = ctx
            .domain
            .create_project(
                ctx.caller,
                &self.ProjectName,
                self.ProjectDescription.as_deref(),
                self.PolicyMode.as_deref(),
            )
            .await?;
        Ok(CreateProjectResponse {
            ProjectId: p.project_id,
        })
    }
}

#[async_trait]
impl Handler for DescribeProjectListRequest {
    type Response = DescribeProjectListResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let page = page(self.PageNumber, self.PageSize, "PageNumber")?;
        let (total, projects) = ctx.domain.list_projects(ctx.caller, page).await?;
        let projects: Vec<ProjectInfo> = projects.into_iter().map(|p| info(ctx, p)).collect();
        Ok(DescribeProjectListResponse {
            Num: projects.len() as i64,
            Total: total as i64,
            Projects: projects,
        })
    }
}

#[async_trait]
impl Handler for DescribeProjectInfoRequest {
    type Response = DescribeProjectInfoResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let p = ctx.domain.project(ctx.caller, &self.ProjectId).await?;
        Ok(DescribeProjectInfoResponse {
            ModifyTime: ctx.iso(p.modify_time),
            ProjectName: p.name,
            ProjectDescription: p.description,
            PolicyMode: p.policy_mode.as_str().to_owned(),
        })
    }
}

#[async_trait]
impl Handler for ModifyProjectRequest {
    type Response = ModifyProjectResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        ctx.domain
            .modify_project(
                ctx.caller,
                &self.ProjectId,
                self.ProjectName.as_deref(),
                self.ProjectDescription.as_deref(),
                self.PolicyMode.as_deref(),
            )
            .await?;
        Ok(ModifyProjectResponse {})
    }
}

#[async_trait]
impl Handler for DeleteProjectRequest {
    type Response = DeleteProjectResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        ctx.domain
            .delete_project(ctx.caller, &self.ProjectId)
            .await?;
        Ok(DeleteProjectResponse {})
    }
}

#[async_trait]
impl Handler for ModifyProjectSecModeRequest {
    type Response = ModifyProjectSecModeResponse;
    async fn handle(self, ctx: &Ctx<'_>) -> Result<Self::Response, DomainError> {
        let req = SecModeRequest {
            mode: self.Mode,
            key: self.Key.as_deref(),
            auto_register: self.AutoRegister,
            field_list_enable: self.FieldListEnable,
        };
        ctx.domain
            .set_sec_mode(ctx.caller, &self.ProjectId, req)
            .await?;
        Ok(ModifyProjectSecModeResponse {})
    }
}
