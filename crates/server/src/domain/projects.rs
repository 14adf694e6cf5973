//! Projects: create, read, modify, delete, shared-key mode and callback settings.

use super::{ids, rules, Domain};
use crate::errors::{DomainError, Resource, StoreError};
use crate::model::{
    AccountId, AutoRegister, Callback, Page, PolicyMode, Project, ProjectChanges, SecMode,
};

fn policy_mode(v: &str) -> Result<PolicyMode, DomainError> {
    PolicyMode::parse(v).ok_or_else(|| DomainError::invalid("PolicyMode", v, "`black` or `white`"))
}

/// What ModifyProjectSecMode asks for.
pub struct SecModeRequest<'a> {
    pub mode: i64,
    pub key: Option<&'a str>,
    pub auto_register: Option<i64>,
    pub field_list_enable: Option<i64>,
}

impl Domain {
    pub async fn create_project(
        &self,
        account: &AccountId,
        name: &str,
        description: Option<&str>,
        mode: Option<&str>,
    ) -> Result<Project, DomainError> {
        rules::project_name(name)?;
        let description = description.unwrap_or("");
        rules::project_description(description)?;
        // api.json CreateProject.PolicyMode: "不填默认为black".
        let policy_mode = mode
            .map(policy_mode)
            .transpose()?
            .unwrap_or(PolicyMode::Black);
        let now = self.clock.now();
        loop {
            let project = Project {
                account_id: account.clone(),
                project_id: ids::project_id(),
                name: name.to_owned(),
                description: description.to_owned(),
                policy_mode,
                modify_time: now,
                created_at: now,
                sec_mode: SecMode::default(),
                callback: None,
            };
            match self.store.insert_project(&project).await {
                Ok(()) => return Ok(project),
                // A random 16-character id collided: draw again.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The project if it exists and belongs to `account`; `ResourceNotFound` otherwise, the same
    /// answer for both cases.
    pub async fn project(
        &self,
        account: &AccountId,
        project_id: &str,
    ) -> Result<Project, DomainError> {
        self.store
            .project(account, project_id)
            .await?
            .ok_or_else(|| DomainError::not_found(Resource::Project, project_id))
    }

    pub async fn list_projects(
        &self,
        account: &AccountId,
        page: Page,
    ) -> Result<(u64, Vec<Project>), DomainError> {
        Ok(self.store.list_projects(account, page).await?)
    }

    pub async fn modify_project(
        &self,
        account: &AccountId,
        project_id: &str,
        name: Option<&str>,
        description: Option<&str>,
        mode: Option<&str>,
    ) -> Result<(), DomainError> {
        if let Some(n) = name {
            rules::project_name(n)?;
        }
        if let Some(d) = description {
            rules::project_description(d)?;
        }
        let changes = ProjectChanges {
            name: name.map(str::to_owned),
            description: description.map(str::to_owned),
            policy_mode: mode.map(policy_mode).transpose()?,
        };
        if !self
            .store
            .update_project(account, project_id, &changes, self.clock.now())
            .await?
        {
            return Err(DomainError::not_found(Resource::Project, project_id));
        }
        Ok(())
    }

    /// Deletes the project with its devices, policies and sessions.
    pub async fn delete_project(
        &self,
        account: &AccountId,
        project_id: &str,
    ) -> Result<(), DomainError> {
        let deleted = self.store.delete_project(account, project_id).await?;
        self.credentials.forget_all();
        if !deleted {
            return Err(DomainError::not_found(Resource::Project, project_id));
        }
        Ok(())
    }

    pub async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        req: SecModeRequest<'_>,
    ) -> Result<(), DomainError> {
        rules::in_range("Mode", req.mode, 0, 1)?;
        if let Some(k) = req.key {
            rules::project_key(k)?;
        }
        let auto_register = match req.auto_register {
            None => None,
            Some(a) => {
                rules::in_range("AutoRegister", a, 0, 3)?;
                AutoRegister::from_code(a)
            }
        };
        if let Some(f) = req.field_list_enable {
            rules::in_range("FieldListEnable", f, 0, 1)?;
        }
        let current = self.project(account, project_id).await?;
        let enabled = req.mode == 1;
        // api.json ModifyProjectSecMode.Key: "项目密钥模式必填" (required when the mode is on); a
        // project that already has a key keeps it when none is given.
        let key_sealed = match req.key {
            Some(k) => Some(self.sealer.seal(k)),
            None => current.sec_mode.key_sealed.clone(),
        };
        if enabled && key_sealed.is_none() {
            return Err(DomainError::invalid(
                "Key",
                "",
                "required when Mode is 1: 32 lowercase English letters or digits",
            ));
        }
        let mode = SecMode {
            enabled,
            key_sealed,
            auto_register: auto_register.unwrap_or(current.sec_mode.auto_register),
            field_list_enable: req
                .field_list_enable
                .map(|f| f == 1)
                .unwrap_or(current.sec_mode.field_list_enable),
        };
        let set = self
            .store
            .set_sec_mode(account, project_id, &mode, self.clock.now())
            .await?;
        self.credentials.forget_all();
        if !set {
            return Err(DomainError::not_found(Resource::Project, project_id));
        }
        Ok(())
    }

    /// Stores the callback URL; delivery comes with the events that use it (docs/api.md §2.12: the vendor
    /// only calls back for cloud recording and relay events).
    pub async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        url: &str,
        sign_key: Option<&str>,
    ) -> Result<(), DomainError> {
        rules::callback_url(url)?;
        if let Some(k) = sign_key {
            rules::sign_key(k)?;
        }
        let callback = Callback {
            url: url.to_owned(),
            sign_key_sealed: sign_key.map(|k| self.sealer.seal(k)),
        };
        if !self
            .store
            .set_callback(account, project_id, &callback, self.clock.now())
            .await?
        {
            return Err(DomainError::not_found(Resource::Project, project_id));
        }
        Ok(())
    }
}
