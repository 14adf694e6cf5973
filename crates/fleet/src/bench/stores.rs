//! The two baselines, as `Store` decorators over a real store, so that they run behind the very same
//! HTTP path, signature check, parameter decoding, validation and sample encoding as the server:
//!
//! - [`DecodeOnly`]: `append` answers "all accepted" without writing anything. What remains is the
//!   cost of everything but storage: the ceiling of ingest.
//! - [`Naive`]: `append` writes one row per sample into a plain table in its own SQLite file, with
//!   the server's durability (WAL, `synchronous=FULL`, one transaction per request): what a
//!   straightforward build does.
//!
//! Every other method goes to the real store underneath (device and project look-ups, upkeep).

use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection};
use std::path::Path;
use std::sync::{Arc, Mutex};
use teleoscope_server::errors::StoreError;
use teleoscope_server::model::quality::Assessment;
use teleoscope_server::model::samples::{Columns, Metric};
use teleoscope_server::model::sessions::{
    Append, AppendOutcome, AppendRejection, FleetOverviewRow, ReportContext, SessionFacts,
    SessionFilter, SessionRow, SessionSamples,
};
use teleoscope_server::model::usage::{Grain, Totals};
use teleoscope_server::model::{
    AccountId, ApiKey, Callback, ConsoleSession, Device, DeviceChanges, DeviceFilter, DeviceStatus,
    Page, PolicyChange, PolicyEdit, PolicyEntry, PolicyMode, PolicySearch, Project, ProjectChanges,
    SecMode,
};
use teleoscope_server::store::{Result, Store};

type AppendResult = Result<std::result::Result<AppendOutcome, AppendRejection>>;

/// The store's traits for a decorator with an `inner: Arc<dyn Store>` and an inherent `append_here`:
/// every method but `append` goes to `inner`.
macro_rules! delegate_store {
    ($t:ty) => {
        #[async_trait]
        impl teleoscope_server::store::Store for $t {
            async fn ping(&self) -> Result<()> {
                self.inner.ping().await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Accounts for $t {
            async fn create_account(&self, account: &AccountId, now: i64) -> Result<()> {
                self.inner.create_account(account, now).await
            }
            async fn account_exists(&self, account: &AccountId) -> Result<bool> {
                self.inner.account_exists(account).await
            }
            async fn insert_key(&self, key: &ApiKey) -> Result<()> {
                self.inner.insert_key(key).await
            }
            async fn find_key(&self, secret_id: &str) -> Result<Option<ApiKey>> {
                self.inner.find_key(secret_id).await
            }
            async fn list_keys(&self) -> Result<Vec<ApiKey>> {
                self.inner.list_keys().await
            }
            async fn delete_key(&self, secret_id: &str) -> Result<bool> {
                self.inner.delete_key(secret_id).await
            }
            async fn insert_console_session(
                &self,
                session: &ConsoleSession,
                now: i64,
            ) -> Result<()> {
                self.inner.insert_console_session(session, now).await
            }
            async fn console_session(&self, token_hash: &str) -> Result<Option<ConsoleSession>> {
                self.inner.console_session(token_hash).await
            }
            async fn delete_console_session(&self, token_hash: &str) -> Result<bool> {
                self.inner.delete_console_session(token_hash).await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Projects for $t {
            async fn insert_project(&self, project: &Project) -> Result<()> {
                self.inner.insert_project(project).await
            }
            async fn project(
                &self,
                account: &AccountId,
                project_id: &str,
            ) -> Result<Option<Project>> {
                self.inner.project(account, project_id).await
            }
            async fn list_projects(
                &self,
                account: &AccountId,
                page: Page,
            ) -> Result<(u64, Vec<Project>)> {
                self.inner.list_projects(account, page).await
            }
            async fn update_project(
                &self,
                account: &AccountId,
                project_id: &str,
                changes: &ProjectChanges,
                now: i64,
            ) -> Result<bool> {
                self.inner
                    .update_project(account, project_id, changes, now)
                    .await
            }
            async fn set_sec_mode(
                &self,
                account: &AccountId,
                project_id: &str,
                mode: &SecMode,
                now: i64,
            ) -> Result<bool> {
                self.inner
                    .set_sec_mode(account, project_id, mode, now)
                    .await
            }
            async fn set_callback(
                &self,
                account: &AccountId,
                project_id: &str,
                callback: &Callback,
                now: i64,
            ) -> Result<bool> {
                self.inner
                    .set_callback(account, project_id, callback, now)
                    .await
            }
            async fn delete_project(&self, account: &AccountId, project_id: &str) -> Result<bool> {
                self.inner.delete_project(account, project_id).await
            }
            async fn project_by_id(&self, project_id: &str) -> Result<Option<Project>> {
                self.inner.project_by_id(project_id).await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Devices for $t {
            async fn insert_device(&self, device: &Device) -> Result<()> {
                self.inner.insert_device(device).await
            }
            async fn device(
                &self,
                account: &AccountId,
                project_id: &str,
                device_id: &str,
            ) -> Result<Option<Device>> {
                self.inner.device(account, project_id, device_id).await
            }
            async fn list_devices(
                &self,
                account: &AccountId,
                project_id: &str,
                filter: &DeviceFilter,
                page: Page,
            ) -> Result<(u64, Vec<Device>)> {
                self.inner
                    .list_devices(account, project_id, filter, page)
                    .await
            }
            async fn update_device(
                &self,
                account: &AccountId,
                project_id: &str,
                device_id: &str,
                changes: &DeviceChanges,
                now: i64,
            ) -> Result<bool> {
                self.inner
                    .update_device(account, project_id, device_id, changes, now)
                    .await
            }
            async fn delete_devices(
                &self,
                account: &AccountId,
                project_id: &str,
                device_ids: &[String],
            ) -> Result<Vec<String>> {
                self.inner
                    .delete_devices(account, project_id, device_ids)
                    .await
            }
            async fn device_credential(
                &self,
                project_id: &str,
                device_id: &str,
            ) -> Result<Option<(Project, Option<Device>)>> {
                self.inner.device_credential(project_id, device_id).await
            }
            async fn insert_auto_device(&self, device: &Device) -> Result<()> {
                self.inner.insert_auto_device(device).await
            }
            async fn report_status(
                &self,
                account: &AccountId,
                project_id: &str,
                device_id: &str,
                status: DeviceStatus,
                now: i64,
            ) -> Result<Option<DeviceStatus>> {
                self.inner
                    .report_status(account, project_id, device_id, status, now)
                    .await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Policies for $t {
            async fn policy_fields(
                &self,
                account: &AccountId,
                project_id: &str,
                mode: PolicyMode,
                remote_device_id: &str,
            ) -> Result<Vec<String>> {
                self.inner
                    .policy_fields(account, project_id, mode, remote_device_id)
                    .await
            }
            async fn modify_policy(
                &self,
                account: &AccountId,
                project_id: &str,
                edit: &PolicyEdit,
                now: i64,
            ) -> Result<Option<PolicyChange>> {
                self.inner
                    .modify_policy(account, project_id, edit, now)
                    .await
            }
            async fn list_policies(
                &self,
                account: &AccountId,
                project_id: &str,
                mode: PolicyMode,
                search: Option<(PolicySearch, &str)>,
                page: Page,
            ) -> Result<(u64, Vec<PolicyEntry>)> {
                self.inner
                    .list_policies(account, project_id, mode, search, page)
                    .await
            }
            async fn delete_policies(
                &self,
                account: &AccountId,
                project_id: &str,
                mode: PolicyMode,
                remote_device_ids: &[String],
            ) -> Result<Vec<String>> {
                self.inner
                    .delete_policies(account, project_id, mode, remote_device_ids)
                    .await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Sessions for $t {
            async fn report_context(
                &self,
                account: &AccountId,
                project_id: &str,
                device_id: &str,
                peer_device_id: &str,
                session_id: &str,
            ) -> Result<ReportContext> {
                self.inner
                    .report_context(account, project_id, device_id, peer_device_id, session_id)
                    .await
            }
            async fn append(
                &self,
                append: Append,
            ) -> Result<std::result::Result<AppendOutcome, AppendRejection>> {
                self.append_here(append).await
            }
            async fn session_samples(
                &self,
                account: &AccountId,
                session_id: &str,
                from: Option<i64>,
                to: Option<i64>,
            ) -> Result<Option<SessionSamples>> {
                self.inner
                    .session_samples(account, session_id, from, to)
                    .await
            }
            async fn list_sessions(
                &self,
                account: &AccountId,
                project_id: &str,
                filter: &SessionFilter,
                page: Page,
            ) -> Result<(u64, Vec<SessionRow>)> {
                self.inner
                    .list_sessions(account, project_id, filter, page)
                    .await
            }
            async fn fleet_overview(
                &self,
                account: &AccountId,
                project_id: &str,
                window: (i64, i64),
                limit: usize,
            ) -> Result<FleetOverviewRow> {
                self.inner
                    .fleet_overview(account, project_id, window, limit)
                    .await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Rollups for $t {
            async fn session_facts(
                &self,
                account: &AccountId,
                project_id: &str,
                device_id: Option<&str>,
                from: i64,
                to: i64,
            ) -> Result<Vec<SessionFacts>> {
                self.inner
                    .session_facts(account, project_id, device_id, from, to)
                    .await
            }
            async fn session_totals(
                &self,
                account: &AccountId,
                project_id: &str,
                ranges: &[(i64, i64)],
            ) -> Result<Vec<Totals>> {
                self.inner.session_totals(account, project_id, ranges).await
            }
            async fn active_devices(
                &self,
                account: &AccountId,
                project_id: &str,
                ranges: &[(i64, i64)],
            ) -> Result<Vec<(i64, i64)>> {
                self.inner.active_devices(account, project_id, ranges).await
            }
            async fn session_spans(
                &self,
                account: &AccountId,
                project_id: &str,
                window: (i64, i64),
                grain: Grain,
                limit: usize,
            ) -> Result<Vec<(i64, i64)>> {
                self.inner
                    .session_spans(account, project_id, window, grain, limit)
                    .await
            }
        }
        #[async_trait]
        impl teleoscope_server::store::Upkeep for $t {
            async fn end_idle_parts(
                &self,
                cutoff: i64,
                heartbeat_cutoff: i64,
                now: i64,
            ) -> Result<u64> {
                self.inner
                    .end_idle_parts(cutoff, heartbeat_cutoff, now)
                    .await
            }
            async fn expire_heartbeats(&self, cutoff: i64, now: i64) -> Result<u64> {
                self.inner.expire_heartbeats(cutoff, now).await
            }
            async fn compact_parts(&self, limit: u32) -> Result<u64> {
                self.inner.compact_parts(limit).await
            }
            async fn sessions_to_score(&self, limit: u32) -> Result<Vec<i64>> {
                self.inner.sessions_to_score(limit).await
            }
            async fn session_to_score(&self, session_key: i64) -> Result<Option<SessionSamples>> {
                self.inner.session_to_score(session_key).await
            }
            async fn save_quality(
                &self,
                session_key: i64,
                assessment: &Assessment,
                is_final: bool,
                scored_at: i64,
            ) -> Result<()> {
                self.inner
                    .save_quality(session_key, assessment, is_final, scored_at)
                    .await
            }
            async fn drop_samples_before(&self, before: i64) -> Result<u64> {
                self.inner.drop_samples_before(before).await
            }
        }

        #[async_trait]
        impl teleoscope_server::store::Counters for $t {
            async fn count_request(&self, key: &str, second: i64) -> Result<u64> {
                self.inner.count_request(key, second).await
            }
        }
    };
}

/// Accepts every sample and stores none.
pub struct DecodeOnly {
    pub inner: Arc<dyn Store>,
}

impl DecodeOnly {
    async fn append_here(&self, append: Append) -> AppendResult {
        Ok(Ok(AppendOutcome {
            accepted: append.columns.len() as u64,
            duplicates: 0,
        }))
    }
}

delegate_store!(DecodeOnly);

/// One row per sample, in its own SQLite file.
pub struct Naive {
    pub inner: Arc<dyn Store>,
    conn: Arc<Mutex<Connection>>,
}

fn db<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Database(e.to_string())
}

/// The metric columns, named as the vendor names the metrics.
fn metric_columns() -> String {
    Metric::ALL
        .iter()
        .map(|m| format!("\"{}\"", m.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Naive {
    pub fn open(path: &Path, inner: Arc<dyn Store>) -> anyhow::Result<Naive> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;",
        )?;
        let metrics = Metric::ALL
            .iter()
            .map(|m| format!("\"{}\" REAL", m.name()))
            .collect::<Vec<_>>()
            .join(", ");
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS naive_samples (session_id TEXT NOT NULL, device_id TEXT NOT NULL,
             time_offset INTEGER NOT NULL, {metrics}, multinet TEXT,
             PRIMARY KEY (session_id, device_id, time_offset))"
        ))?;
        Ok(Naive {
            inner,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn append_here(&self, a: Append) -> AppendResult {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction().map_err(db)?;
            let mut accepted = 0u64;
            {
                let placeholders = (4..4 + Metric::ALL.len() + 1)
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut insert = tx
                    .prepare_cached(&format!(
                        "INSERT OR IGNORE INTO naive_samples (session_id, device_id, time_offset, {}, multinet)
                         VALUES (?1, ?2, ?3, {placeholders})",
                        metric_columns()
                    ))
                    .map_err(db)?;
                let c = &a.columns;
                for i in 0..c.len() {
                    let mut values: Vec<rusqlite::types::Value> = vec![
                        a.session_id.clone().into(),
                        a.device_id.clone().into(),
                        c.time_offset[i].into(),
                    ];
                    for m in Metric::ALL {
                        values.push(match c.metric(m) {
                            Some(v) => v[i].into(),
                            None => rusqlite::types::Value::Null,
                        });
                    }
                    let nets: Vec<serde_json::Value> = c
                        .nets
                        .iter()
                        .map(|n| {
                            serde_json::json!({
                                "NetId": n.net_id, "NetIp": n.net_ip, "Rtt": n.rtt[i] as i64,
                                "Lost": n.lost[i] as i64, "SendBps": n.send_bps[i] as i64,
                                "RecvBps": n.recv_bps[i] as i64,
                            })
                        })
                        .collect();
                    values.push(serde_json::to_string(&nets).map_err(db)?.into());
                    accepted += insert
                        .execute(rusqlite::params_from_iter(values))
                        .map_err(db)? as u64;
                }
            }
            tx.commit().map_err(db)?;
            Ok(Ok(AppendOutcome {
                accepted,
                duplicates: a.columns.len() as u64 - accepted,
            }))
        })
        .await
        .map_err(db)?
    }

    /// The read of `DescribeDeviceSessionDetails` on this layout: every row of one device's part of
    /// a session, turned into the same arrays the store's decoder gives.
    pub fn read_part(&self, session_id: &str, device_id: &str) -> anyhow::Result<Columns> {
        #[derive(serde::Deserialize)]
        #[allow(non_snake_case)]
        struct Net {
            NetId: i64,
            NetIp: String,
            Rtt: i64,
            Lost: i64,
            SendBps: i64,
            RecvBps: i64,
        }
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = conn.prepare_cached(&format!(
            "SELECT time_offset, {}, multinet FROM naive_samples WHERE session_id = ?1 AND device_id = ?2
             ORDER BY time_offset",
            metric_columns()
        ))?;
        let mut c = Columns {
            metrics: Metric::ALL.iter().map(|m| (*m, Vec::new())).collect(),
            ..Columns::default()
        };
        let mut rows = s.query(params![session_id, device_id])?;
        while let Some(row) = rows.next()? {
            c.time_offset.push(row.get(0)?);
            for (k, (_, column)) in c.metrics.iter_mut().enumerate() {
                column.push(row.get::<_, Option<f64>>(k + 1)?.unwrap_or(0.0));
            }
            let nets: Vec<Net> =
                serde_json::from_str(&row.get::<_, String>(Metric::ALL.len() + 1)?)?;
            if c.nets.is_empty() {
                c.nets = nets
                    .iter()
                    .map(|n| teleoscope_server::model::samples::NetColumns {
                        net_id: n.NetId,
                        net_ip: n.NetIp.clone(),
                        ..Default::default()
                    })
                    .collect();
            }
            for (col, n) in c.nets.iter_mut().zip(&nets) {
                col.rtt.push(n.Rtt as f64);
                col.lost.push(n.Lost as f64);
                col.send_bps.push(n.SendBps as f64);
                col.recv_bps.push(n.RecvBps as f64);
            }
        }
        Ok(c)
    }
}

delegate_store!(Naive);
