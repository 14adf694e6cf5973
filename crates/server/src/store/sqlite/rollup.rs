//! Sums of session totals kept in step with the sessions, in the same transactions that change
//! them, so that statistics and usage over a year read a few hundred small rows instead of every
//! session (docs/storage.md): per local day of the configured time zone (`session_days`, at
//! `rollup_settings.day_offset`) and per quarter hour (`session_quarters`, for hour buckets and the
//! parts of days at a window's edges). A session counts in the day and quarter of its start; a
//! change of its start, span, resolution or grade moves its share (old out, new in).
//!
//! Configured time zones are whole quarter hours (as every zone in use), so each quarter lies in
//! one local day and hour, day and month buckets are sums of whole days and quarters; window edges
//! inside a quarter are added up from the sessions themselves.
//!
//! Active devices are distinct counts, which do not add up: `device_months` keeps, per local month,
//! each device with sessions in it and the set of days they started on (one bit per day), so a
//! year by day or by month reads at most devices x 13 small rows. A change of the time zone
//! counts days again at start-up ([`set_day_offset`]).

use super::sessions::{facts_where, share_of_session, Share};
use super::{db, SqliteStore};
use crate::model::sessions::SessionFacts;
use crate::model::usage::Grain;
use crate::model::usage::{Totals, Usage};
use crate::model::AccountId;
use crate::store::calendar::{
    day_of, day_start, month_of, values, ActivePlan, TotalsPlan, COLUMNS, DAY, FIELD, QUARTER,
    REMOTE,
};
use crate::store::Rollups;
use crate::store::{Result, StoreError};
use async_trait::async_trait;
use r2d2_sqlite::rusqlite::{self, params, Connection, OptionalExtension};
use std::sync::LazyLock;

/// `INSERT ... ON CONFLICT DO UPDATE` adding a session's share to its row of `table`, keyed by
/// `bucket`.
fn add_sql(table: &str, bucket: &str) -> String {
    let set: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    let placeholders: Vec<String> = (4..=20).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {table} (project_id, account_id, {bucket}, {COLUMNS}) VALUES (?1, ?2, ?3, {})
         ON CONFLICT (project_id, {bucket}) DO UPDATE SET {}",
        placeholders.join(", "),
        set.join(", ")
    )
}

static ADD_QUARTER_SQL: LazyLock<String> = LazyLock::new(|| add_sql("session_quarters", "quarter"));
static ADD_DAY_SQL: LazyLock<String> = LazyLock::new(|| add_sql("session_days", "day"));

/// Adds `sign` times a session's share to its quarter and its local day.
fn add(c: &Connection, s: &Share, offset: i64, sign: i64) -> Result<()> {
    let v = values(&s.totals).map(|x| x * sign);
    for (sql, bucket) in [
        (&*ADD_QUARTER_SQL, s.start_time.div_euclid(QUARTER)),
        (&*ADD_DAY_SQL, day_of(s.start_time, offset)),
    ] {
        let mut st = c.prepare_cached(sql).map_err(db)?;
        st.raw_bind_parameter(1, &s.project_id).map_err(db)?;
        st.raw_bind_parameter(2, &s.account_id).map_err(db)?;
        st.raw_bind_parameter(3, bucket).map_err(db)?;
        for (i, x) in v.iter().enumerate() {
            st.raw_bind_parameter(4 + i, x).map_err(db)?;
        }
        st.raw_execute().map_err(db)?;
    }
    Ok(())
}

/// Moves a session's share from what it was (`before`) to what it is now.
pub fn update(c: &Connection, session_key: i64, before: Option<Share>) -> Result<()> {
    let after = share_of_session(c, session_key)?;
    if before == after {
        return Ok(());
    }
    let offset = day_offset(c)?;
    let days = |s: &Share| {
        (
            day_of(s.start_time, offset),
            s.field_device_id.clone(),
            s.remote_device_id.clone(),
        )
    };
    let same_days = matches!((&before, &after), (Some(b), Some(a)) if days(b) == days(a));
    if let Some(b) = &before {
        add(c, b, offset, -1)?;
        if !same_days {
            unmark_day(c, b, offset)?;
        }
    }
    if let Some(a) = &after {
        add(c, a, offset, 1)?;
        if !same_days {
            mark_day(c, a, offset)?;
        }
    }
    Ok(())
}

/// Totals of the sessions starting in each of `ranges` (sorted and disjoint): whole local days
/// from `session_days` (one index range for all of them), whole quarters of the rest from
/// `session_quarters`, the parts of quarters at the edges from the sessions themselves.
pub fn totals(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    ranges: &[(i64, i64)],
) -> Result<Vec<Totals>> {
    let mut plan = TotalsPlan::new(ranges, day_offset(c)?);
    if let Some((lo, hi)) = plan.day_span {
        let mut s = c
            .prepare_cached(&format!(
                "SELECT day, {COLUMNS} FROM session_days
                 WHERE project_id = ?1 AND account_id = ?2 AND day >= ?3 AND day < ?4"
            ))
            .map_err(db)?;
        let mut rows = s
            .query(params![project_id, account.0, lo, hi])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            plan.add_day(r.get(0).map_err(db)?, &totals_at(r).map_err(db)?);
        }
    }
    let mut s = c
        .prepare_cached(&format!(
            "SELECT quarter, {COLUMNS} FROM session_quarters
             WHERE project_id = ?1 AND account_id = ?2 AND quarter >= ?3 AND quarter < ?4"
        ))
        .map_err(db)?;
    for (lo, hi) in std::mem::take(&mut plan.quarters) {
        let mut rows = s
            .query(params![project_id, account.0, lo, hi])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            plan.add_quarter(r.get(0).map_err(db)?, &totals_at(r).map_err(db)?);
        }
    }
    for (from, to) in std::mem::take(&mut plan.edges) {
        for f in facts_where(c, account, project_id, None, from, to)? {
            plan.add_at(f.start_time, &Totals::of(&f));
        }
    }
    Ok(plan.totals())
}

/// The spans [start, end) of the quarters or local days that meet `window` and in which sessions
/// start, ascending, at most `limit`: the index range of the rollup's primary key, so a window of
/// centuries costs what its sessions cost.
pub fn spans(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    (from, to): (i64, i64),
    grain: Grain,
    limit: usize,
) -> Result<Vec<(i64, i64)>> {
    if from >= to {
        return Ok(Vec::new());
    }
    // Quarter q is [q * 900, (q + 1) * 900); local day d is [d * DAY - offset, (d + 1) * DAY - offset).
    let (table, bucket, width, offset) = match grain {
        Grain::Quarter => ("session_quarters", "quarter", QUARTER, 0),
        Grain::Day => ("session_days", "day", DAY, day_offset(c)?),
    };
    let of = |t: i64| t.saturating_add(offset).div_euclid(width);
    let (lo, hi) = (of(from), of(to.saturating_sub(1)).saturating_add(1));
    let start = |n: i64| n.saturating_mul(width).saturating_sub(offset);
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {bucket} FROM {table}
             WHERE project_id = ?1 AND account_id = ?2 AND {bucket} >= ?3 AND {bucket} < ?4
               AND sessions > 0
             ORDER BY {bucket} LIMIT ?5"
        ))
        .map_err(db)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = s
        .query_map(params![project_id, account.0, lo, hi, limit], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db)?;
    rows.map(|r| r.map(|n| (start(n), start(n + 1))).map_err(db))
        .collect()
}

/// The sums of a rollup row whose first column is its bucket.
fn totals_at(r: &rusqlite::Row<'_>) -> rusqlite::Result<Totals> {
    let mut v = [0i64; 17];
    for (i, x) in v.iter_mut().enumerate() {
        *x = r.get(1 + i)?;
    }
    let mut u = [0; Usage::COLUMNS];
    u.copy_from_slice(&v[3..]);
    Ok(Totals {
        sessions: v[0],
        minutes: v[1],
        not_bad: v[2],
        usage: Usage::from_columns(u),
    })
}

/// The UTC offset (seconds) whose local days the day and month rollups count.
fn day_offset(c: &Connection) -> Result<i64> {
    c.prepare_cached("SELECT day_offset FROM rollup_settings")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db)
}

/// The devices of a session: (role, device id, the `sessions` column holding it).
fn roles(s: &Share) -> [(i64, &str, &str); 2] {
    [
        (FIELD, &s.field_device_id, "field_device_id"),
        (REMOTE, &s.remote_device_id, "remote_device_id"),
    ]
}

/// Sets the start day's bit of both devices of a session.
fn mark_day(c: &Connection, s: &Share, offset: i64) -> Result<()> {
    let (month, bit) = month_of(day_of(s.start_time, offset))?;
    for (role, device, _) in roles(s) {
        c.prepare_cached(
            "INSERT INTO device_months (project_id, account_id, month, role, device_id, days)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (project_id, month, role, device_id) DO UPDATE SET days = days | excluded.days",
        )
        .and_then(|mut st| st.execute(params![s.project_id, s.account_id, month, role, device, bit]))
        .map_err(db)?;
    }
    Ok(())
}

/// Clears the start day's bit of each device of a session that no longer has a session starting
/// that day (the sessions table already holds the change); a month with no day left goes.
fn unmark_day(c: &Connection, s: &Share, offset: i64) -> Result<()> {
    let day = day_of(s.start_time, offset);
    let (month, bit) = month_of(day)?;
    let (from, to) = (day_start(day, offset), day_start(day + 1, offset));
    for (role, device, column) in roles(s) {
        let still: bool = c
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM sessions WHERE project_id = ?1 AND account_id = ?2
                 AND {column} = ?3 AND start_time >= ?4 AND start_time < ?5)"
            ))
            .and_then(|mut st| {
                st.query_row(params![s.project_id, s.account_id, device, from, to], |r| {
                    r.get(0)
                })
            })
            .map_err(db)?;
        if still {
            continue;
        }
        c.prepare_cached(
            "UPDATE device_months SET days = days & ~?5
             WHERE project_id = ?1 AND month = ?2 AND role = ?3 AND device_id = ?4",
        )
        .and_then(|mut st| st.execute(params![s.project_id, month, role, device, bit]))
        .map_err(db)?;
        c.prepare_cached(
            "DELETE FROM device_months WHERE project_id = ?1 AND month = ?2 AND days = 0",
        )
        .and_then(|mut st| st.execute(params![s.project_id, month]))
        .map_err(db)?;
    }
    Ok(())
}

/// Counts the day and month rollups again for the local days of `offset` (the configured time
/// zone), when it differs from the one they were counted for: `session_days` from the quarters,
/// `device_months` in one pass over the sessions.
pub fn set_day_offset(c: &Connection, offset: i64) -> Result<bool> {
    let current: Option<i64> = c
        .query_row("SELECT day_offset FROM rollup_settings", [], |r| r.get(0))
        .optional()
        .map_err(db)?;
    if current == Some(offset) {
        return Ok(false);
    }
    if offset % QUARTER != 0 {
        return Err(StoreError::Database(format!(
            "day offset {offset} s is not a whole number of quarter hours"
        )));
    }
    c.execute_batch(
        "DELETE FROM device_months; DELETE FROM session_days; DELETE FROM rollup_settings;",
    )
    .map_err(db)?;
    // Each quarter lies in one local day: the days are sums of quarters.
    let sums: Vec<String> = COLUMNS.split(", ").map(|c| format!("SUM({c})")).collect();
    let quarter_day =
        "(quarter * 900 + ?1 - (((quarter * 900 + ?1) % 86400) + 86400) % 86400) / 86400";
    c.execute(
        &format!(
            "INSERT INTO session_days (project_id, account_id, day, {COLUMNS})
             SELECT project_id, account_id, {quarter_day}, {} FROM session_quarters
             GROUP BY project_id, account_id, {quarter_day}",
            sums.join(", ")
        ),
        [offset],
    )
    .map_err(db)?;
    // The local month and the day's bit; a sum of distinct powers of two is their union.
    let local = |f: &str| format!("CAST(strftime('{f}', start_time + ?1, 'unixepoch') AS INTEGER)");
    let month = format!("{} * 12 + {} - 1", local("%Y"), local("%m"));
    let bit = format!("1 << ({} - 1)", local("%d"));
    for (role, column) in [(FIELD, "field_device_id"), (REMOTE, "remote_device_id")] {
        c.execute(
            &format!(
                "INSERT INTO device_months (project_id, account_id, month, role, device_id, days)
                 SELECT project_id, account_id, month, ?2, device, SUM(DISTINCT bit) FROM
                   (SELECT project_id, account_id, {month} AS month, {bit} AS bit, {column} AS device
                    FROM sessions)
                 GROUP BY project_id, account_id, month, device"
            ),
            params![offset, role],
        )
        .map_err(db)?;
    }
    c.execute(
        "INSERT INTO rollup_settings (day_offset) VALUES (?1)",
        [offset],
    )
    .map_err(db)?;
    Ok(true)
}

/// Distinct field and remote devices with a session starting in each of `ranges` (sorted and
/// disjoint): the whole local days inside a range from `device_months` (one index range for all of
/// them), the parts of days at its edges from the sessions themselves.
pub fn active_devices(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    ranges: &[(i64, i64)],
) -> Result<Vec<(i64, i64)>> {
    let mut plan = ActivePlan::new(ranges, day_offset(c)?)?;
    let text =
        |r: &rusqlite::Row<'_>, i: usize| -> Result<String> { r.get::<_, String>(i).map_err(db) };
    if let Some((first, last)) = plan.months {
        let mut s = c
            .prepare_cached(
                "SELECT month, role, device_id, days FROM device_months
                 WHERE project_id = ?1 AND account_id = ?2 AND month >= ?3 AND month <= ?4",
            )
            .map_err(db)?;
        let mut rows = s
            .query(params![project_id, account.0, first, last])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let (month, role, days) = (
                r.get(0).map_err(db)?,
                r.get(1).map_err(db)?,
                r.get(3).map_err(db)?,
            );
            plan.add_month(month, role, days, &text(r, 2)?)?;
        }
    }
    let mut s = c
        .prepare_cached(
            "SELECT start_time, field_device_id, remote_device_id FROM sessions
             WHERE project_id = ?1 AND account_id = ?2 AND start_time >= ?3 AND start_time < ?4",
        )
        .map_err(db)?;
    for (from, to) in std::mem::take(&mut plan.pieces) {
        let mut rows = s
            .query(params![project_id, account.0, from, to])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            plan.add_session(r.get(0).map_err(db)?, &text(r, 1)?, &text(r, 2)?);
        }
    }
    Ok(plan.counts())
}

#[async_trait]
impl Rollups for SqliteStore {
    async fn session_facts(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionFacts>> {
        let (a, p, d) = (
            account.clone(),
            project_id.to_owned(),
            device_id.map(str::to_owned),
        );
        self.run(move |c| facts_where(c, &a, &p, d.as_deref(), from, to))
            .await
    }

    async fn session_totals(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>> {
        let (a, p, ranges) = (account.clone(), project_id.to_owned(), ranges.to_vec());
        self.run(move |c| totals(c, &a, &p, &ranges)).await
    }

    async fn active_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<(i64, i64)>> {
        let (a, p, ranges) = (account.clone(), project_id.to_owned(), ranges.to_vec());
        self.run(move |c| active_devices(c, &a, &p, &ranges)).await
    }

    async fn session_spans(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        grain: Grain,
        limit: usize,
    ) -> Result<Vec<(i64, i64)>> {
        let (a, p) = (account.clone(), project_id.to_owned());
        self.run(move |c| spans(c, &a, &p, window, grain, limit))
            .await
    }
}
