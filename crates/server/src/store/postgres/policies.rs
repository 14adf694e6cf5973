//! Permission policies: one row per (mode, remote device, field device).

use super::{db, PgStore};
use crate::model::{
    AccountId, ModifyMode, Page, PolicyChange, PolicyEdit, PolicyEntry, PolicyMode, PolicySearch,
};
use crate::store::sql::{contains_pattern, limit_offset};
use crate::store::{Policies, Result};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use std::collections::HashSet;
use tokio_postgres::types::ToSql;

/// Deletes these field devices from one list.
async fn delete_fields(
    tx: &impl GenericClient,
    a: &str,
    p: &str,
    e: &PolicyEdit,
    fields: &[&String],
) -> Result<()> {
    let s = tx
        .prepare_cached(
            "DELETE FROM policies WHERE account_id = $1 AND project_id = $2 AND mode = $3
             AND remote_device_id = $4 AND field_device_id = ANY($5)",
        )
        .await
        .map_err(db)?;
    tx.execute(
        &s,
        &[&a, &p, &e.mode.as_str(), &e.remote_device_id, &fields],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// [`Policies::modify_policy`] inside its transaction.
///
/// Locks: the remote device's row first (`FOR NO KEY UPDATE`: changes of one list take turns, and
/// the device cannot be deleted meanwhile), then the rows of the field devices to add, by id
/// (`FOR KEY SHARE`: they cannot be deleted before this commits, and a deletion that came first
/// has removed them from the answer). `delete_devices` locks remote devices before field devices,
/// each kind by id, so the two never wait on each other in a cycle; heartbeats and status changes,
/// which do not touch a key, never wait on a field device's lock.
async fn policy_edit(
    tx: &impl GenericClient,
    a: &str,
    p: &str,
    e: &PolicyEdit,
    now: i64,
) -> Result<Option<PolicyChange>> {
    let (mode, remote) = (e.mode.as_str(), e.remote_device_id.as_str());
    let lock_remote = tx
        .prepare_cached(
            "SELECT 1 FROM devices WHERE account_id = $1 AND project_id = $2 AND device_id = $3
             AND device_type = 'remote' FOR NO KEY UPDATE",
        )
        .await
        .map_err(db)?;
    if tx
        .query_opt(&lock_remote, &[&a, &p, &remote])
        .await
        .map_err(db)?
        .is_none()
    {
        return Ok(None);
    }
    let list = tx
        .prepare_cached(
            "SELECT field_device_id FROM policies WHERE account_id = $1 AND project_id = $2 AND mode = $3
             AND remote_device_id = $4",
        )
        .await
        .map_err(db)?;
    let current: Vec<String> = tx
        .query(&list, &[&a, &p, &mode, &remote])
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut change = PolicyChange::default();
    match e.how {
        ModifyMode::Remove => {
            let mut listed: Vec<&String> = Vec::new();
            for id in &e.field_device_ids {
                if current.contains(id) {
                    listed.push(id);
                } else if !change.failed_delete.contains(id) {
                    change.failed_delete.push(id.clone());
                }
            }
            delete_fields(tx, a, p, e, &listed).await?;
        }
        ModifyMode::Add | ModifyMode::Set => {
            let lock_fields = tx
                .prepare_cached(
                    "SELECT device_id FROM devices WHERE account_id = $1 AND project_id = $2
                     AND device_id = ANY($3) AND device_type = 'field'
                     ORDER BY device_id FOR KEY SHARE",
                )
                .await
                .map_err(db)?;
            let fields: Vec<String> = tx
                .query(&lock_fields, &[&a, &p, &e.field_device_ids])
                .await
                .map_err(db)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut wanted: Vec<&String> = Vec::new();
            for id in &e.field_device_ids {
                if !fields.contains(id) {
                    change.failed_insert.push(id.clone());
                } else if !wanted.contains(&id) {
                    wanted.push(id);
                }
            }
            if e.how == ModifyMode::Set {
                let unwanted: Vec<&String> =
                    current.iter().filter(|f| !wanted.contains(f)).collect();
                delete_fields(tx, a, p, e, &unwanted).await?;
            }
            // An id already listed keeps the time it was added.
            let new: Vec<&String> = wanted
                .into_iter()
                .filter(|f| !current.contains(f))
                .collect();
            let insert = tx
                .prepare_cached(
                    "INSERT INTO policies (account_id, project_id, mode, remote_device_id, field_device_id, added_at)
                     SELECT $1, $2, $3, $4, f, $6 FROM unnest($5::text[]) AS f",
                )
                .await
                .map_err(db)?;
            tx.execute(&insert, &[&a, &p, &mode, &remote, &new, &now])
                .await
                .map_err(db)?;
        }
    }
    Ok(Some(change))
}

#[async_trait]
impl Policies for PgStore {
    async fn policy_fields(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remote: &str,
    ) -> Result<Vec<String>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(
                "SELECT field_device_id FROM policies WHERE account_id = $1 AND project_id = $2 AND mode = $3
                 AND remote_device_id = $4 ORDER BY field_device_id",
            )
            .await
            .map_err(db)?;
        let rows = c
            .query(&s, &[&account.0, &project_id, &mode.as_str(), &remote])
            .await
            .map_err(db)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn modify_policy(
        &self,
        account: &AccountId,
        project_id: &str,
        edit: &PolicyEdit,
        now: i64,
    ) -> Result<Option<PolicyChange>> {
        // One transaction from the read of the list to the last write, holding the locks that
        // `policy_edit` describes: two changes of one list used to read it in turn and then write,
        // the later write dropping what the earlier one had added.
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        let change = policy_edit(&tx, &account.0, project_id, edit, now).await?;
        tx.commit().await.map_err(db)?;
        Ok(change)
    }

    async fn list_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        search: Option<(PolicySearch, &str)>,
        page: Page,
    ) -> Result<(u64, Vec<PolicyEntry>)> {
        // The remote devices whose list matches, then their whole lists.
        let mode = mode.as_str();
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&account.0, &project_id, &mode];
        let mut cond = String::from("account_id = $1 AND project_id = $2 AND mode = $3");
        let pattern = search.map(|(kind, words)| (kind, contains_pattern(words)));
        if let Some((kind, pattern)) = &pattern {
            args.push(pattern);
            let column = match kind {
                PolicySearch::Remote => "remote_device_id",
                PolicySearch::Field => "field_device_id",
            };
            cond.push_str(&format!(" AND {column} ILIKE $4"));
        }
        let c = self.conn().await?;
        let count = c
            .prepare_cached(&format!(
                "SELECT COUNT(DISTINCT remote_device_id) FROM policies WHERE {cond}"
            ))
            .await
            .map_err(db)?;
        let total: i64 = c.query_one(&count, &args).await.map_err(db)?.get(0);
        let (limit, offset) = limit_offset(page);
        let n = args.len();
        args.push(&limit);
        args.push(&offset);
        let s = c
            .prepare_cached(&format!(
                "WITH page AS (SELECT DISTINCT remote_device_id FROM policies WHERE {cond}
                   ORDER BY remote_device_id LIMIT ${} OFFSET ${})
                 SELECT remote_device_id, field_device_id, added_at FROM policies
                 WHERE account_id = $1 AND project_id = $2 AND mode = $3
                   AND remote_device_id IN (SELECT remote_device_id FROM page)
                 ORDER BY remote_device_id, field_device_id",
                n + 1,
                n + 2
            ))
            .await
            .map_err(db)?;
        let mut entries: Vec<PolicyEntry> = Vec::new();
        for r in c.query(&s, &args).await.map_err(db)? {
            let (remote, field, added_at): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
            match entries.last_mut() {
                Some(e) if e.remote_device_id == remote => {
                    e.field_device_ids.push(field);
                    e.modify_time = e.modify_time.max(added_at);
                }
                _ => entries.push(PolicyEntry {
                    remote_device_id: remote,
                    field_device_ids: vec![field],
                    modify_time: added_at,
                }),
            }
        }
        Ok((total as u64, entries))
    }

    async fn delete_policies(
        &self,
        account: &AccountId,
        project_id: &str,
        mode: PolicyMode,
        remotes: &[String],
    ) -> Result<Vec<String>> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(
                "DELETE FROM policies WHERE account_id = $1 AND project_id = $2 AND mode = $3
                 AND remote_device_id = ANY($4) RETURNING remote_device_id",
            )
            .await
            .map_err(db)?;
        let mut had: HashSet<String> = c
            .query(&s, &[&account.0, &project_id, &mode.as_str(), &remotes])
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // In the order asked, once each.
        Ok(remotes.iter().filter(|r| had.remove(*r)).cloned().collect())
    }
}
