//! Projects and their settings.

use super::{conflict_or_db, corrupt, db, SqliteStore};
use crate::model::{
    AccountId, AutoRegister, Callback, Page, PolicyMode, Project, ProjectChanges, SecMode,
};
use crate::store::sql::limit_offset;
use crate::store::{Projects, Result};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension, Row};

pub(super) const PROJECT_COLS: &str =
    "project_id, account_id, name, description, policy_mode, modify_time, created_at, \
     sec_enabled, sec_key, auto_register, field_list_enable, callback_url, callback_sign_key";

pub(super) fn project_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    let mode: String = r.get(4)?;
    let callback_url: Option<String> = r.get(11)?;
    Ok(Project {
        project_id: r.get(0)?,
        account_id: AccountId(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        policy_mode: PolicyMode::parse(&mode).ok_or_else(|| corrupt("policy_mode", &mode))?,
        modify_time: r.get(5)?,
        created_at: r.get(6)?,
        sec_mode: SecMode {
            enabled: r.get(7)?,
            key_sealed: r.get(8)?,
            auto_register: {
                let code: i64 = r.get(9)?;
                AutoRegister::from_code(code)
                    .ok_or_else(|| corrupt("auto_register", &code.to_string()))?
            },
            field_list_enable: r.get(10)?,
        },
        callback: callback_url
            .map(|url| -> rusqlite::Result<Callback> {
                Ok(Callback {
                    url,
                    sign_key_sealed: r.get(12)?,
                })
            })
            .transpose()?,
    })
}

pub(super) fn project_by_id(c: &Connection, project_id: &str) -> Result<Option<Project>> {
    c.prepare_cached(&format!(
        "SELECT {PROJECT_COLS} FROM projects WHERE project_id = ?1"
    ))
    .and_then(|mut s| s.query_row([project_id], project_row).optional())
    .map_err(db)
}

#[async_trait]
impl Projects for SqliteStore {
    async fn insert_project(&self, p: &Project) -> Result<()> {
        let p = p.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO projects (project_id, account_id, name, description, policy_mode, modify_time, created_at,
                 sec_enabled, sec_key, auto_register, field_list_enable, callback_url, callback_sign_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    p.project_id,
                    p.account_id.0,
                    p.name,
                    p.description,
                    p.policy_mode.as_str(),
                    p.modify_time,
                    p.created_at,
                    p.sec_mode.enabled,
                    p.sec_mode.key_sealed,
                    p.sec_mode.auto_register.code(),
                    p.sec_mode.field_list_enable,
                    p.callback.as_ref().map(|c| &c.url),
                    p.callback.as_ref().and_then(|c| c.sign_key_sealed.as_ref()),
                ],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn project(&self, account: &AccountId, project_id: &str) -> Result<Option<Project>> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        self.run(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE project_id = ?1 AND account_id = ?2"
            ))
            .and_then(|mut s| s.query_row([p, a], project_row).optional())
            .map_err(db)
        })
        .await
    }

    async fn list_projects(&self, account: &AccountId, page: Page) -> Result<(u64, Vec<Project>)> {
        let a = account.0.clone();
        self.run(move |c| {
            let total: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM projects WHERE account_id = ?1",
                    [&a],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let mut s = c
                .prepare_cached(&format!(
                    "SELECT {PROJECT_COLS} FROM projects WHERE account_id = ?1
                     ORDER BY created_at, project_id LIMIT ?2 OFFSET ?3"
                ))
                .map_err(db)?;
            let rows = s
                .query_map(params![a, limit, offset], project_row)
                .map_err(db)?;
            Ok((
                total as u64,
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?,
            ))
        })
        .await
    }

    async fn update_project(
        &self,
        account: &AccountId,
        project_id: &str,
        ch: &ProjectChanges,
        now: i64,
    ) -> Result<bool> {
        let (a, p, ch) = (account.0.clone(), project_id.to_owned(), ch.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET name = COALESCE(?3, name), description = COALESCE(?4, description),
                     policy_mode = COALESCE(?5, policy_mode), modify_time = ?6
                     WHERE project_id = ?1 AND account_id = ?2",
                    params![
                        p,
                        a,
                        ch.name,
                        ch.description,
                        ch.policy_mode.map(PolicyMode::as_str),
                        now
                    ],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_sec_mode(
        &self,
        account: &AccountId,
        project_id: &str,
        m: &SecMode,
        now: i64,
    ) -> Result<bool> {
        let (a, p, m) = (account.0.clone(), project_id.to_owned(), m.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET sec_enabled = ?3, sec_key = ?4, auto_register = ?5, field_list_enable = ?6,
                     modify_time = ?7 WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a, m.enabled, m.key_sealed, m.auto_register.code(), m.field_list_enable, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn set_callback(
        &self,
        account: &AccountId,
        project_id: &str,
        cb: &Callback,
        now: i64,
    ) -> Result<bool> {
        let (a, p, cb) = (account.0.clone(), project_id.to_owned(), cb.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE projects SET callback_url = ?3, callback_sign_key = ?4, modify_time = ?5
                     WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a, cb.url, cb.sign_key_sealed, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        self.write(move |tx| {
            // Devices and policies go with the project (ON DELETE CASCADE); say it explicitly too,
            // scoped by account, so the intent is visible here.
            tx.execute(
                "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2",
                params![p, a],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM devices WHERE project_id = ?1 AND account_id = ?2",
                params![p, a],
            )
            .map_err(db)?;
            let n = tx
                .execute(
                    "DELETE FROM projects WHERE project_id = ?1 AND account_id = ?2",
                    params![p, a],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>> {
        let p = project_id.to_owned();
        self.run(move |c| project_by_id(c, &p)).await
    }
}
