//! What follows a part's end, shared by the append that ends it (`sessions.rs`), a device's log-out
//! (`devices.rs`) and the idle timeout (`upkeep.rs`).

use super::db;
use crate::store::Result;
use deadpool_postgres::GenericClient;

/// Whether the `devices` row in scope has a part that has not ended.
pub const HAS_OPEN_PART: &str = "EXISTS (SELECT 1 FROM parts p JOIN sessions s
         ON s.account_id = p.account_id AND s.session_key = p.session_key
         WHERE NOT p.ended AND p.account_id = devices.account_id AND p.device_id = devices.device_id
           AND s.project_id = devices.project_id)";

/// After a part ended: the session is live while any part is open; a device with no open part is
/// `ready` if its heartbeat is fresh (at or after `heartbeat_cutoff`), else `offline`.
pub async fn after_part_end(
    c: &impl GenericClient,
    account_id: &str,
    session_key: i64,
    device_id: &str,
    heartbeat_cutoff: i64,
    now: i64,
) -> Result<()> {
    let live = c
        .prepare_cached(
            "UPDATE sessions SET live = EXISTS (SELECT 1 FROM parts
               WHERE account_id = $1 AND session_key = $2 AND NOT ended)
             WHERE account_id = $1 AND session_key = $2",
        )
        .await
        .map_err(db)?;
    c.execute(&live, &[&account_id, &session_key])
        .await
        .map_err(db)?;
    let status = c
        .prepare_cached(&format!(
            "UPDATE devices SET status = CASE WHEN heartbeat_at >= $4 THEN 'ready' ELSE 'offline' END,
               last_report_time = $5
             WHERE account_id = $1
               AND project_id = (SELECT project_id FROM sessions WHERE account_id = $1 AND session_key = $2)
               AND device_id = $3 AND status = 'connected' AND NOT {HAS_OPEN_PART}"
        ))
        .await
        .map_err(db)?;
    c.execute(
        &status,
        &[
            &account_id,
            &session_key,
            &device_id,
            &heartbeat_cutoff,
            &now,
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

/// Ends the open parts of one device (it logged out).
pub async fn end_parts_of_device(
    c: &impl GenericClient,
    account_id: &str,
    project_id: &str,
    device_id: &str,
    now: i64,
) -> Result<()> {
    let open = c
        .prepare_cached(
            "UPDATE parts p SET ended = TRUE FROM sessions s
             WHERE s.account_id = p.account_id AND s.session_key = p.session_key
               AND p.account_id = $1 AND s.project_id = $2 AND p.device_id = $3 AND NOT p.ended
             RETURNING p.session_key",
        )
        .await
        .map_err(db)?;
    let ended = c
        .query(&open, &[&account_id, &project_id, &device_id])
        .await
        .map_err(db)?;
    for row in ended {
        after_part_end(c, account_id, row.get(0), device_id, now, now).await?;
    }
    Ok(())
}
