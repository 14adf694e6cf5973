//! Permission policies: one row per (mode, remote device, field device).

use super::{db, SqliteStore};
use crate::model::{
    AccountId, DeviceType, ModifyMode, Page, PolicyChange, PolicyEdit, PolicyEntry, PolicyMode,
    PolicySearch,
};
use crate::store::sql::{contains_pattern, limit_offset};
use crate::store::{Policies, Result};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection};

/// Whether `device_id` is a device of this type in the project.
fn is_device_of_type(
    tx: &Connection,
    account_id: &str,
    project_id: &str,
    device_id: &str,
    device_type: DeviceType,
) -> Result<bool> {
    tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3
         AND device_type = ?4)",
    )
    .and_then(|mut s| {
        s.query_row(
            params![project_id, device_id, account_id, device_type.as_str()],
            |r| r.get(0),
        )
    })
    .map_err(db)
}

/// [`Store::modify_policy`] inside its transaction.
fn policy_edit(
    tx: &Connection,
    a: &str,
    p: &str,
    e: &PolicyEdit,
    now: i64,
) -> Result<Option<PolicyChange>> {
    let (mode, remote) = (e.mode.as_str(), e.remote_device_id.as_str());
    if !is_device_of_type(tx, a, p, remote, DeviceType::Remote)? {
        return Ok(None);
    }
    let current: Vec<String> = {
        let mut s = tx
            .prepare_cached(
                "SELECT field_device_id FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
                 AND remote_device_id = ?4",
            )
            .map_err(db)?;
        let rows = s
            .query_map(params![p, a, mode, remote], |row| row.get(0))
            .map_err(db)?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(db)?
    };
    let delete = |field: &str| {
        tx.execute(
            "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
             AND remote_device_id = ?4 AND field_device_id = ?5",
            params![p, a, mode, remote, field],
        )
        .map_err(db)
    };
    let mut change = PolicyChange::default();
    match e.how {
        ModifyMode::Remove => {
            for id in &e.field_device_ids {
                if current.contains(id) {
                    delete(id)?;
                } else if !change.failed_delete.contains(id) {
                    change.failed_delete.push(id.clone());
                }
            }
        }
        ModifyMode::Add | ModifyMode::Set => {
            let mut wanted: Vec<&String> = Vec::new();
            for id in &e.field_device_ids {
                if !is_device_of_type(tx, a, p, id, DeviceType::Field)? {
                    change.failed_insert.push(id.clone());
                } else if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            if e.how == ModifyMode::Set {
                for f in current.iter().filter(|f| !wanted.contains(f)) {
                    delete(f)?;
                }
            }
            // An id already listed keeps the time it was added.
            for f in wanted.into_iter().filter(|f| !current.contains(f)) {
                tx.execute(
                    "INSERT INTO policies (account_id, project_id, mode, remote_device_id, field_device_id, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![a, p, mode, remote, f, now],
                )
                .map_err(db)?;
            }
        }
    }
    Ok(Some(change))
}

#[async_trait]
impl Policies for SqliteStore {
    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote: &str,
    ) -> Result<Vec<String>> {
        let (a, p, r) = (account.0.clone(), project_id.to_owned(), remote.to_owned());
        self.run(move |c| {
            let mut s = c
                .prepare_cached(
                    "SELECT field_device_id FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3
                     AND remote_device_id = ?4 ORDER BY field_device_id",
                )
                .map_err(db)?;
            let rows = s.query_map(params![p, a, mode.as_str(), r], |r| r.get(0)).map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)
        })
        .await
    }

    async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        edit: &PolicyEdit,
        now: i64,
    ) -> Result<Option<PolicyChange>> {
        let (a, p, e) = (account.0.clone(), project_id.to_owned(), edit.clone());
        // One write transaction (BEGIN IMMEDIATE) from the read of the list to the last write: two
        // changes of one list used to read it in turn and then write, the later write dropping what
        // the earlier one had added.
        self.write(move |tx| policy_edit(tx, &a, &p, &e, now)).await
    }

    async fn list_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> Result<(u64, Vec<PolicyEntry>)> {
        let (a, p) = (account.0.clone(), project_id.to_owned());
        let search = search.map(|(m, w)| (m, contains_pattern(w)));
        self.run(move |c| {
            // The remote devices whose list matches, then their whole lists.
            let mut args: Vec<rusqlite::types::Value> = vec![p.clone().into(), a.clone().into(), mode.as_str().to_owned().into()];
            let mut cond = String::from("project_id = ?1 AND account_id = ?2 AND mode = ?3");
            if let Some((kind, pattern)) = &search {
                args.push(pattern.clone().into());
                let column = match kind {
                    PolicySearch::Remote => "remote_device_id",
                    PolicySearch::Field => "field_device_id",
                };
                cond.push_str(&format!(" AND {column} LIKE ?4 ESCAPE '\\'"));
            }
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(DISTINCT remote_device_id) FROM policies WHERE {cond}"),
                    rusqlite::params_from_iter(&args),
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let n = args.len();
            args.push(limit.into());
            args.push(offset.into());
            let remotes: Vec<String> = {
                let sql = format!(
                    "SELECT DISTINCT remote_device_id FROM policies WHERE {cond} ORDER BY remote_device_id LIMIT ?{} OFFSET ?{}",
                    n + 1,
                    n + 2
                );
                let mut s = c.prepare(&sql).map_err(db)?;
                let rows = s.query_map(rusqlite::params_from_iter(&args), |r| r.get(0)).map_err(db)?;
                rows.collect::<rusqlite::Result<Vec<String>>>().map_err(db)?
            };
            let mut entries = Vec::with_capacity(remotes.len());
            let mut s = c
                .prepare_cached(
                    "SELECT field_device_id, added_at FROM policies WHERE project_id = ?1 AND account_id = ?2
                     AND mode = ?3 AND remote_device_id = ?4 ORDER BY field_device_id",
                )
                .map_err(db)?;
            for remote in remotes {
                let rows = s
                    .query_map(params![p, a, mode.as_str(), remote], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db)?;
                let list = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?;
                let modify_time = list.iter().map(|(_, t)| *t).max().unwrap_or(0);
                entries.push(PolicyEntry {
                    remote_device_id: remote,
                    field_device_ids: list.into_iter().map(|(f, _)| f).collect(),
                    modify_time,
                });
            }
            Ok((total as u64, entries))
        })
        .await
    }

    async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remotes: &[String],
    ) -> Result<Vec<String>> {
        let (a, p, remotes) = (account.0.clone(), project_id.to_owned(), remotes.to_vec());
        self.write(move |tx| {
            let mut deleted = Vec::new();
            for r in remotes {
                let n = tx
                    .execute(
                        "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2 AND mode = ?3 AND remote_device_id = ?4",
                        params![p, a, mode.as_str(), r],
                    )
                    .map_err(db)?;
                if n > 0 {
                    deleted.push(r);
                }
            }
            Ok(deleted)
        })
        .await
    }
}
