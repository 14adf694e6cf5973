//! Devices: the lists and edits of the device actions, and what a device login reads and writes
//! (its credential, self-registration and status).

use super::projects::project_by_id;
use super::{conflict_or_db, corrupt, db, SqliteStore};
use crate::errors::StoreError;
use crate::model::{
    AccountId, Device, DeviceChanges, DeviceFilter, DeviceStatus, DeviceType, Page, Project,
    StatusFilter,
};
use crate::store::sql::{contains_pattern, limit_offset};
use crate::store::{Devices, Result};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension, Row};

/// SQL shared by the device-status updates.
pub(super) mod device_status_sql {
    /// Whether the `devices` row in scope has a part that has not ended.
    pub const HAS_OPEN_PART: &str = "EXISTS (SELECT 1 FROM parts p JOIN sessions s ON s.session_key = p.session_key
         WHERE p.ended = 0 AND p.device_id = devices.device_id AND s.project_id = devices.project_id)";
}

pub(super) const DEVICE_COLS: &str =
    "account_id, project_id, device_id, name, device_type, token, auto_registered, status, \
     last_report_time, modify_time, created_at";

pub(super) fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let ty: String = r.get(4)?;
    let status: String = r.get(7)?;
    Ok(Device {
        account_id: AccountId(r.get(0)?),
        project_id: r.get(1)?,
        device_id: r.get(2)?,
        name: r.get(3)?,
        device_type: DeviceType::parse(&ty).ok_or_else(|| corrupt("device_type", &ty))?,
        token_sealed: r.get(5)?,
        auto_registered: r.get(6)?,
        status: DeviceStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        last_report_time: r.get(8)?,
        modify_time: r.get(9)?,
        created_at: r.get(10)?,
    })
}

pub(super) fn device_by(
    c: &Connection,
    account_id: &str,
    project_id: &str,
    device_id: &str,
) -> Result<Option<Device>> {
    c.prepare_cached(&format!(
        "SELECT {DEVICE_COLS} FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3"
    ))
    .and_then(|mut s| s.query_row([project_id, device_id, account_id], device_row).optional())
    .map_err(db)
}

#[async_trait]
impl Devices for SqliteStore {
    async fn insert_device(&self, d: &Device) -> Result<()> {
        let d = d.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO devices ({DEVICE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    d.account_id.0,
                    d.project_id,
                    d.device_id,
                    d.name,
                    d.device_type.as_str(),
                    d.token_sealed,
                    d.auto_registered,
                    d.status.as_str(),
                    d.last_report_time,
                    d.modify_time,
                    d.created_at
                ],
            )
            .map_err(conflict_or_db)?;
            Ok(())
        })
        .await
    }

    async fn device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<Device>> {
        let (a, p, d) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
        );
        self.run(move |c| device_by(c, &a, &p, &d)).await
    }

    async fn list_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        filter: &DeviceFilter,
        page: Page,
    ) -> Result<(u64, Vec<Device>)> {
        let (a, p, f) = (account.0.clone(), project_id.to_owned(), filter.clone());
        self.run(move |c| {
            let mut cond = String::from("project_id = ?1 AND account_id = ?2");
            let mut args: Vec<rusqlite::types::Value> = vec![p.into(), a.into()];
            if let Some(t) = f.device_type {
                args.push(t.as_str().to_owned().into());
                cond.push_str(&format!(" AND device_type = ?{}", args.len()));
            }
            if let Some(words) = &f.search {
                args.push(contains_pattern(words).into());
                let n = args.len();
                cond.push_str(&format!(
                    " AND (device_id LIKE ?{n} ESCAPE '\\' OR name LIKE ?{n} ESCAPE '\\')"
                ));
            }
            match f.status {
                Some(StatusFilter::Is(s)) => {
                    args.push(s.as_str().to_owned().into());
                    cond.push_str(&format!(" AND status = ?{}", args.len()));
                }
                Some(StatusFilter::Online) => cond.push_str(" AND status IN ('ready', 'connected')"),
                None => {}
            }
            if !f.include_auto_registered {
                cond.push_str(" AND auto_registered = 0");
            }
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM devices WHERE {cond}"),
                    rusqlite::params_from_iter(&args),
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (limit, offset) = limit_offset(page);
            let n = args.len();
            args.push(limit.into());
            args.push(offset.into());
            let sql = format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE {cond} ORDER BY device_id LIMIT ?{} OFFSET ?{}",
                n + 1,
                n + 2
            );
            let mut s = c.prepare(&sql).map_err(db)?;
            let rows = s.query_map(rusqlite::params_from_iter(&args), device_row).map_err(db)?;
            Ok((total as u64, rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)?))
        })
        .await
    }

    async fn update_device(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        ch: &DeviceChanges,
        now: i64,
    ) -> Result<bool> {
        let (a, p, d, ch) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
            ch.clone(),
        );
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE devices SET name = COALESCE(?4, name), token = COALESCE(?5, token), modify_time = ?6
                     WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                    params![p, d, a, ch.name, ch.token_sealed, now],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn delete_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>> {
        let (a, p, ids) = (account.0.clone(), project_id.to_owned(), ids.to_vec());
        self.write(move |tx| {
            let mut deleted = Vec::new();
            for id in ids {
                let n = tx
                    .execute(
                        "DELETE FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
                        params![p, id, a],
                    )
                    .map_err(db)?;
                if n > 0 {
                    tx.execute(
                        "DELETE FROM policies WHERE project_id = ?1 AND account_id = ?2
                         AND (remote_device_id = ?3 OR field_device_id = ?3)",
                        params![p, a, id],
                    )
                    .map_err(db)?;
                    deleted.push(id);
                }
            }
            Ok(deleted)
        })
        .await
    }

    async fn device_credential(
        &self,
        project_id: &str,
        device_id: &str,
    ) -> Result<Option<(Project, Option<Device>)>> {
        let (p, d) = (project_id.to_owned(), device_id.to_owned());
        self.run(move |c| {
            let Some(project) = project_by_id(c, &p)? else {
                return Ok(None);
            };
            let device = device_by(c, &project.account_id.0, &p, &d)?;
            Ok(Some((project, device)))
        })
        .await
    }

    async fn insert_auto_device(&self, d: &Device) -> Result<()> {
        self.insert_device(d).await
    }

    async fn report_status(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
        now: i64,
    ) -> Result<Option<DeviceStatus>> {
        let (a, p, d) = (
            account.0.clone(),
            project_id.to_owned(),
            device_id.to_owned(),
        );
        self.write(move |c| apply_status(c, (&a, &p, &d), status, now))
            .await
    }
}

/// A status report of device (account, project, device): `offline` ends the device's open parts;
/// the device's status after it, None if there is no such device.
fn apply_status(
    c: &Connection,
    (a, p, d): (&str, &str, &str),
    status: DeviceStatus,
    now: i64,
) -> Result<Option<DeviceStatus>> {
    match status {
        DeviceStatus::Offline => {
            super::sessions::end_parts_of_device(c, p, d, now)?;
            c.prepare_cached(
                "UPDATE devices SET status = 'offline', last_report_time = ?4
                 WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3 AND status != 'offline'",
            )
            .and_then(|mut s| s.execute(params![p, d, a, now]))
            .map_err(db)?;
        }
        DeviceStatus::Ready | DeviceStatus::Connected => {
            c.prepare_cached(
                "UPDATE devices SET heartbeat_at = ?4,
                   last_report_time = CASE WHEN status = 'offline' THEN ?4 ELSE last_report_time END,
                   status = CASE WHEN status = 'offline' THEN 'ready' ELSE status END
                 WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
            )
            .and_then(|mut s| s.execute(params![p, d, a, now]))
            .map_err(db)?;
        }
    }
    let s: Option<String> = c
        .prepare_cached(
            "SELECT status FROM devices WHERE project_id = ?1 AND device_id = ?2 AND account_id = ?3",
        )
        .and_then(|mut s| s.query_row(params![p, d, a], |r| r.get(0)).optional())
        .map_err(db)?;
    s.map(|s| {
        DeviceStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("device status {s}")))
    })
    .transpose()
}
