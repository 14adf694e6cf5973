//! Projects and their settings. A project id is unique across accounts (a device credential names
//! the project alone): `project_owners` holds each id once, with its account, and changes with
//! `projects` in the same transaction.

use super::{conflict_or_db, corrupt, db, PgStore};
use crate::model::{
    AccountId, AutoRegister, Callback, Page, PolicyMode, Project, ProjectChanges, SecMode,
};
use crate::store::sql::limit_offset;
use crate::store::{Projects, Result};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

pub(super) const PROJECT_COLS: &str =
    "project_id, account_id, name, description, policy_mode, modify_time, created_at, \
     sec_enabled, sec_key, auto_register, field_list_enable, callback_url, callback_sign_key";

/// The condition on `projects` that finds the project `$1` by id alone, through its owner.
pub(super) const BY_ID: &str =
    "account_id = (SELECT account_id FROM project_owners WHERE project_id = $1) AND project_id = $1";

/// A project from the first columns of `r`, in the order of [`PROJECT_COLS`].
pub(super) fn project_row(r: &Row) -> Result<Project> {
    let mode: &str = r.get(4);
    let code: i64 = r.get(9);
    let callback_url: Option<String> = r.get(11);
    Ok(Project {
        project_id: r.get(0),
        account_id: AccountId(r.get(1)),
        name: r.get(2),
        description: r.get(3),
        policy_mode: PolicyMode::parse(mode).ok_or_else(|| corrupt("policy_mode", mode))?,
        modify_time: r.get(5),
        created_at: r.get(6),
        sec_mode: SecMode {
            enabled: r.get(7),
            key_sealed: r.get(8),
            auto_register: AutoRegister::from_code(code)
                .ok_or_else(|| corrupt("auto_register", &code.to_string()))?,
            field_list_enable: r.get(10),
        },
        callback: callback_url.map(|url| Callback {
            url,
            sign_key_sealed: r.get(12),
        }),
    })
}

/// `UPDATE projects SET {set}` of one account's project: `$1` the project, `$2` the account, the
/// values from `$3`; true if it exists.
async fn update(
    c: &impl GenericClient,
    set: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<bool> {
    let s = c
        .prepare_cached(&format!(
            "UPDATE projects SET {set} WHERE project_id = $1 AND account_id = $2"
        ))
        .await
        .map_err(db)?;
    Ok(c.execute(&s, params).await.map_err(db)? > 0)
}

#[async_trait]
impl Projects for PgStore {
    async fn insert_project(&self, p: &Project) -> Result<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The owner first: an id taken in any account is a `Conflict`.
        let owner = tx
            .prepare_cached("INSERT INTO project_owners (project_id, account_id) VALUES ($1, $2)")
            .await
            .map_err(db)?;
        tx.execute(&owner, &[&p.project_id, &p.account_id.0])
            .await
            .map_err(conflict_or_db)?;
        let insert = tx
            .prepare_cached(&format!(
                "INSERT INTO projects ({PROJECT_COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ))
            .await
            .map_err(db)?;
        tx.execute(
            &insert,
            &[
                &p.project_id,
                &p.account_id.0,
                &p.name,
                &p.description,
                &p.policy_mode.as_str(),
                &p.modify_time,
                &p.created_at,
                &p.sec_mode.enabled,
                &p.sec_mode.key_sealed,
                &p.sec_mode.auto_register.code(),
                &p.sec_mode.field_list_enable,
                &p.callback.as_ref().map(|c| &c.url),
                &p.callback.as_ref().and_then(|c| c.sign_key_sealed.as_ref()),
            ],
        )
        .await
        .map_err(conflict_or_db)?;
        tx.commit().await.map_err(db)
    }

    async fn project(&self, account: &AccountId, project_id: &str) -> Result<Option<Project>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE project_id = $1 AND account_id = $2"
            ))
            .await
            .map_err(db)?;
        c.query_opt(&s, &[&project_id, &account.0])
            .await
            .map_err(db)?
            .as_ref()
            .map(project_row)
            .transpose()
    }

    async fn list_projects(&self, account: &AccountId, page: Page) -> Result<(u64, Vec<Project>)> {
        let c = self.conn().await?;
        let count = c
            .prepare_cached("SELECT COUNT(*) FROM projects WHERE account_id = $1")
            .await
            .map_err(db)?;
        let total: i64 = c.query_one(&count, &[&account.0]).await.map_err(db)?.get(0);
        let (limit, offset) = limit_offset(page);
        let s = c
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE account_id = $1
                 ORDER BY created_at, project_id LIMIT $2 OFFSET $3"
            ))
            .await
            .map_err(db)?;
        let rows = c
            .query(&s, &[&account.0, &limit, &offset])
            .await
            .map_err(db)?;
        Ok((
            total as u64,
            rows.iter().map(project_row).collect::<Result<_>>()?,
        ))
    }

    async fn update_project(
        &self,
        account: &AccountId,
        project_id: &str,
        ch: &ProjectChanges,
        now: i64,
    ) -> Result<bool> {
        update(
            &self.conn().await?,
            "name = COALESCE($3, name), description = COALESCE($4, description),
             policy_mode = COALESCE($5, policy_mode), modify_time = $6",
            &[
                &project_id,
                &account.0,
                &ch.name,
                &ch.description,
                &ch.policy_mode.map(PolicyMode::as_str),
                &now,
            ],
        )
        .await
    }

    async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        m: &SecMode,
        now: i64,
    ) -> Result<bool> {
        update(
            &self.conn().await?,
            "sec_enabled = $3, sec_key = $4, auto_register = $5, field_list_enable = $6,
             modify_time = $7",
            &[
                &project_id,
                &account.0,
                &m.enabled,
                &m.key_sealed,
                &m.auto_register.code(),
                &m.field_list_enable,
                &now,
            ],
        )
        .await
    }

    async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        cb: &Callback,
        now: i64,
    ) -> Result<bool> {
        update(
            &self.conn().await?,
            "callback_url = $3, callback_sign_key = $4, modify_time = $5",
            &[&project_id, &account.0, &cb.url, &cb.sign_key_sealed, &now],
        )
        .await
    }

    async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        // Devices, policies, sessions and rollups go with the project (ON DELETE CASCADE); say
        // devices and policies explicitly too, scoped by account, so the intent is visible here.
        for sql in [
            "DELETE FROM policies WHERE project_id = $1 AND account_id = $2",
            "DELETE FROM devices WHERE project_id = $1 AND account_id = $2",
        ] {
            let s = tx.prepare_cached(sql).await.map_err(db)?;
            tx.execute(&s, &[&project_id, &account.0])
                .await
                .map_err(db)?;
        }
        let project = tx
            .prepare_cached("DELETE FROM projects WHERE project_id = $1 AND account_id = $2")
            .await
            .map_err(db)?;
        let deleted = tx
            .execute(&project, &[&project_id, &account.0])
            .await
            .map_err(db)?
            > 0;
        // The id is free again once its project is gone (never when it is another account's).
        let owner = tx
            .prepare_cached("DELETE FROM project_owners WHERE project_id = $1 AND account_id = $2")
            .await
            .map_err(db)?;
        tx.execute(&owner, &[&project_id, &account.0])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(deleted)
    }

    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE {BY_ID}"
            ))
            .await
            .map_err(db)?;
        c.query_opt(&s, &[&project_id])
            .await
            .map_err(db)?
            .as_ref()
            .map(project_row)
            .transpose()
    }
}
