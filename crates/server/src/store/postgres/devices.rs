//! Devices: the lists and edits of the device actions, and what a device login reads and writes
//! (its credential, self-registration and status).

use super::projects::{project_row, BY_ID, PROJECT_COLS};
use super::{conflict_or_db, corrupt, db, PgStore};
use crate::model::{
    AccountId, Device, DeviceChanges, DeviceFilter, DeviceStatus, DeviceType, Page, Project,
    StatusFilter,
};
use crate::store::sql::{contains_pattern, limit_offset};
use crate::store::{Devices, Result};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use std::collections::HashSet;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub(super) const DEVICE_COLS: &str =
    "account_id, project_id, device_id, name, device_type, token, auto_registered, status, \
     last_report_time, modify_time, created_at";

/// A device from the columns of `r` from `at` on, in the order of [`DEVICE_COLS`].
pub(super) fn device_row(r: &Row, at: usize) -> Result<Device> {
    let ty: &str = r.get(at + 4);
    Ok(Device {
        account_id: AccountId(r.get(at)),
        project_id: r.get(at + 1),
        device_id: r.get(at + 2),
        name: r.get(at + 3),
        device_type: DeviceType::parse(ty).ok_or_else(|| corrupt("device_type", ty))?,
        token_sealed: r.get(at + 5),
        auto_registered: r.get(at + 6),
        status: status(r.get(at + 7))?,
        last_report_time: r.get(at + 8),
        modify_time: r.get(at + 9),
        created_at: r.get(at + 10),
    })
}

fn status(s: &str) -> Result<DeviceStatus> {
    DeviceStatus::parse(s).ok_or_else(|| corrupt("status", s))
}

pub(super) async fn device_by(
    c: &impl GenericClient,
    account_id: &str,
    project_id: &str,
    device_id: &str,
) -> Result<Option<Device>> {
    let s = c
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLS} FROM devices WHERE account_id = $1 AND project_id = $2 AND device_id = $3"
        ))
        .await
        .map_err(db)?;
    c.query_opt(&s, &[&account_id, &project_id, &device_id])
        .await
        .map_err(db)?
        .map(|r| device_row(&r, 0))
        .transpose()
}

#[async_trait]
impl Devices for PgStore {
    async fn insert_device(&self, d: &Device) -> Result<()> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(&format!(
                "INSERT INTO devices ({DEVICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .await
            .map_err(db)?;
        c.execute(
            &s,
            &[
                &d.account_id.0,
                &d.project_id,
                &d.device_id,
                &d.name,
                &d.device_type.as_str(),
                &d.token_sealed,
                &d.auto_registered,
                &d.status.as_str(),
                &d.last_report_time,
                &d.modify_time,
                &d.created_at,
            ],
        )
        .await
        .map_err(conflict_or_db)?;
        Ok(())
    }

    async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Device>> {
        device_by(&self.conn().await?, &account.0, project_id, device_id).await
    }

    async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        f: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>)> {
        let device_type = f.device_type.map(DeviceType::as_str);
        let pattern = f.search.as_deref().map(contains_pattern);
        let status = match f.status {
            Some(StatusFilter::Is(s)) => Some(s.as_str()),
            _ => None,
        };
        let mut cond = String::from("account_id = $1 AND project_id = $2");
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&account.0, &project_id];
        if let Some(t) = &device_type {
            args.push(t);
            cond.push_str(&format!(" AND device_type = ${}", args.len()));
        }
        if let Some(pattern) = &pattern {
            args.push(pattern);
            let n = args.len();
            cond.push_str(&format!(" AND (device_id ILIKE ${n} OR name ILIKE ${n})"));
        }
        if let Some(s) = &status {
            args.push(s);
            cond.push_str(&format!(" AND status = ${}", args.len()));
        }
        if f.status == Some(StatusFilter::Online) {
            cond.push_str(" AND status IN ('ready', 'connected')");
        }
        if !f.include_auto_registered {
            cond.push_str(" AND NOT auto_registered");
        }
        let c = self.conn().await?;
        let count = c
            .prepare_cached(&format!("SELECT COUNT(*) FROM devices WHERE {cond}"))
            .await
            .map_err(db)?;
        let total: i64 = c.query_one(&count, &args).await.map_err(db)?.get(0);
        let (limit, offset) = limit_offset(page);
        let n = args.len();
        args.push(&limit);
        args.push(&offset);
        let s = c
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE {cond} ORDER BY device_id LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ))
            .await
            .map_err(db)?;
        let rows = c.query(&s, &args).await.map_err(db)?;
        Ok((
            total as u64,
            rows.iter()
                .map(|r| device_row(r, 0))
                .collect::<Result<_>>()?,
        ))
    }

    async fn update_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        ch: &DeviceChanges,
        now: i64,
    ) -> Result<bool> {
        let c = self.conn().await?;
        let s = c
            .prepare_cached(
                "UPDATE devices SET name = COALESCE($4, name), token = COALESCE($5, token), modify_time = $6
                 WHERE account_id = $1 AND project_id = $2 AND device_id = $3",
            )
            .await
            .map_err(db)?;
        let n = c
            .execute(
                &s,
                &[
                    &account.0,
                    &project_id,
                    &device_id,
                    &ch.name,
                    &ch.token_sealed,
                    &now,
                ],
            )
            .await
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.map_err(db)?;
        // The rows first, remote devices before field devices and each kind by id: the order in
        // which `modify_policy` locks the devices of a change, so that the two never deadlock.
        let lock = tx
            .prepare_cached(
                "SELECT device_id FROM devices WHERE account_id = $1 AND project_id = $2
                 AND device_id = ANY($3) ORDER BY device_type DESC, device_id FOR UPDATE",
            )
            .await
            .map_err(db)?;
        let found: Vec<String> = tx
            .query(&lock, &[&account.0, &project_id, &ids])
            .await
            .map_err(db)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let delete = tx
            .prepare_cached(
                "DELETE FROM devices WHERE account_id = $1 AND project_id = $2 AND device_id = ANY($3)",
            )
            .await
            .map_err(db)?;
        tx.execute(&delete, &[&account.0, &project_id, &found])
            .await
            .map_err(db)?;
        let policies = tx
            .prepare_cached(
                "DELETE FROM policies WHERE account_id = $1 AND project_id = $2
                 AND (remote_device_id = ANY($3) OR field_device_id = ANY($3))",
            )
            .await
            .map_err(db)?;
        tx.execute(&policies, &[&account.0, &project_id, &found])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        // In the order asked, once each.
        let mut found: HashSet<String> = found.into_iter().collect();
        Ok(ids.iter().filter(|id| found.remove(*id)).cloned().collect())
    }

    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>> {
        let c = self.conn().await?;
        // One round trip: the project by id alone, and beside it the device if it is registered.
        let s = c
            .prepare_cached(&format!(
                "SELECT pr.*, dv.* FROM (SELECT {PROJECT_COLS} FROM projects WHERE {BY_ID}) pr
                 LEFT JOIN LATERAL (SELECT {DEVICE_COLS} FROM devices
                   WHERE account_id = pr.account_id AND project_id = $1 AND device_id = $2) dv ON TRUE"
            ))
            .await
            .map_err(db)?;
        let Some(r) = c
            .query_opt(&s, &[&project_id, &device_id])
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        // The device's columns follow the project's; its id is NULL when it is not registered.
        let device_at = PROJECT_COLS.split(',').count();
        let device = match r.get::<_, Option<&str>>(device_at) {
            Some(_) => Some(device_row(&r, device_at)?),
            None => None,
        };
        Ok(Some((project_row(&r)?, device)))
    }

    async fn insert_auto_device(&self, d: &Device) -> Result<()> {
        self.insert_device(d).await
    }

    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status_now: DeviceStatus,
        now: i64,
    ) -> Result<Option<DeviceStatus>> {
        let mut c = self.conn().await?;
        let after: Option<Row> = match status_now {
            DeviceStatus::Offline => {
                let tx = c.transaction().await.map_err(db)?;
                super::parts::end_parts_of_device(&tx, &account.0, project_id, device_id, now)
                    .await?;
                let offline = tx
                    .prepare_cached(
                        "UPDATE devices SET status = 'offline', last_report_time = $4
                         WHERE account_id = $1 AND project_id = $2 AND device_id = $3 AND status <> 'offline'",
                    )
                    .await
                    .map_err(db)?;
                tx.execute(&offline, &[&account.0, &project_id, &device_id, &now])
                    .await
                    .map_err(db)?;
                let read = tx
                    .prepare_cached(
                        "SELECT status FROM devices WHERE account_id = $1 AND project_id = $2 AND device_id = $3",
                    )
                    .await
                    .map_err(db)?;
                let row = tx
                    .query_opt(&read, &[&account.0, &project_id, &device_id])
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                row
            }
            // A heartbeat: one statement, which answers the status after it.
            DeviceStatus::Ready | DeviceStatus::Connected => {
                let beat = c
                    .prepare_cached(
                        "UPDATE devices SET heartbeat_at = $4,
                           last_report_time = CASE WHEN status = 'offline' THEN $4 ELSE last_report_time END,
                           status = CASE WHEN status = 'offline' THEN 'ready' ELSE status END
                         WHERE account_id = $1 AND project_id = $2 AND device_id = $3
                         RETURNING status",
                    )
                    .await
                    .map_err(db)?;
                c.query_opt(&beat, &[&account.0, &project_id, &device_id, &now])
                    .await
                    .map_err(db)?
            }
        };
        after.map(|r| status(r.get(0))).transpose()
    }
}
