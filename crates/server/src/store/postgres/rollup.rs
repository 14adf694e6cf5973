//! What statistics and usage read: the facts of the sessions starting in a window, and the
//! rollups kept in step with the sessions (`sums.rs` writes them) — per local day of the configured
//! time zone (`session_days`, at `rollup_settings.day_offset`), per quarter hour
//! (`session_quarters`), and each device's days with a session start as a bit set per local month
//! (`device_months`). How they add up is the shared calendar's (`store/calendar.rs`), the same as
//! on SQLite (`sqlite/rollup.rs` says why they are shaped so): a year by day or by month reads a
//! few hundred small rows, and only the parts of quarters or days at a window's edges read the
//! sessions themselves.

use super::{corrupt, db, PgStore};
use crate::model::quality::Grade;
use crate::model::sessions::SessionFacts;
use crate::model::usage::{Grain, Totals, Usage};
use crate::model::AccountId;
use crate::store::calendar::{
    month_of, ActivePlan, TotalsPlan, COLUMNS, DAY, FIELD, QUARTER, REMOTE,
};
use crate::store::{Result, Rollups, StoreError};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use std::sync::LazyLock;
use tokio_postgres::{Client, Row};

/// The advisory lock held while the day rollups are counted again (nodes that start together with
/// a new time zone count once).
const DAY_OFFSET_LOCK: i64 = 0x7465_6c65_0002;

/// The columns of [`facts_row`] over `sessions s`: the session, and the seconds of each of its
/// parts (start to last sample) from `parts`.
macro_rules! facts_cols {
    () => {
        "s.field_device_id, s.remote_device_id, s.start_time, s.end_time, s.config_width,
         s.config_height, s.width, s.height, s.multi_mode, s.quality,
         ARRAY(SELECT GREATEST(p.last_offset, 0) FROM parts p
               WHERE p.account_id = s.account_id AND p.session_key = s.session_key)"
    };
}

/// [`facts_cols!`] as a constant.
pub(super) const FACTS_COLS: &str = facts_cols!();

/// The facts of the sessions of a project starting in [$3, $4): an index range of
/// `sessions_by_start`.
const FACTS: &str = concat!(
    "SELECT ",
    facts_cols!(),
    " FROM sessions s
     WHERE s.account_id = $1 AND s.project_id = $2 AND s.start_time >= $3 AND s.start_time < $4"
);

/// The same of the sessions of which the device $5 is either end: two index ranges
/// (`sessions_by_field`, `sessions_by_remote`), never the whole window.
const FACTS_OF_DEVICE: &str = concat!(
    "SELECT ",
    facts_cols!(),
    " FROM sessions s
     WHERE s.account_id = $1 AND s.project_id = $2 AND s.start_time >= $3 AND s.start_time < $4
       AND (s.field_device_id = $5 OR s.remote_device_id = $5)"
);

/// A session's facts from the columns of `facts_cols!`, starting at column `at`.
pub(super) fn facts_row(r: &Row, at: usize) -> Result<SessionFacts> {
    let quality: &str = r.get(at + 9);
    Ok(SessionFacts {
        field_device_id: r.get(at),
        remote_device_id: r.get(at + 1),
        start_time: r.get(at + 2),
        end_time: r.get(at + 3),
        config_width: r.get(at + 4),
        config_height: r.get(at + 5),
        width: r.get(at + 6),
        height: r.get(at + 7),
        multi_mode: r.get(at + 8),
        quality: Grade::parse(quality).ok_or_else(|| corrupt("quality", quality))?,
        part_seconds: r.get(at + 10),
    })
}

/// The sessions of a project starting in [from, to), of which `device_id` (if any) is either end.
pub async fn facts_where(
    c: &impl GenericClient,
    account: &AccountId,
    project_id: &str,
    device_id: Option<&str>,
    from: i64,
    to: i64,
) -> Result<Vec<SessionFacts>> {
    let rows = match device_id {
        None => {
            let st = c.prepare_cached(FACTS).await.map_err(db)?;
            c.query(&st, &[&account.0, &project_id, &from, &to]).await
        }
        Some(device) => {
            let st = c.prepare_cached(FACTS_OF_DEVICE).await.map_err(db)?;
            c.query(&st, &[&account.0, &project_id, &from, &to, &device])
                .await
        }
    }
    .map_err(db)?;
    rows.iter().map(|r| facts_row(r, 0)).collect()
}

/// The sums of a rollup row of `table` over [$3, $4) of its `bucket`, the bucket first.
fn sums_sql(table: &str, bucket: &str) -> String {
    format!(
        "SELECT {bucket}, {COLUMNS} FROM {table}
         WHERE account_id = $1 AND project_id = $2 AND {bucket} >= $3 AND {bucket} < $4"
    )
}

static DAY_SUMS: LazyLock<String> = LazyLock::new(|| sums_sql("session_days", "day"));
static QUARTER_SUMS: LazyLock<String> = LazyLock::new(|| sums_sql("session_quarters", "quarter"));

/// The sums of a rollup row whose first column is its bucket.
fn totals_at(r: &Row) -> Totals {
    let v: Vec<i64> = (1..=17).map(|i| r.get(i)).collect();
    let mut u = [0; Usage::COLUMNS];
    u.copy_from_slice(&v[3..]);
    Totals {
        sessions: v[0],
        minutes: v[1],
        not_bad: v[2],
        usage: Usage::from_columns(u),
    }
}

/// Totals of the sessions starting in each of `ranges` (sorted and disjoint): whole local days
/// from `session_days` (one index range for all of them), whole quarters of the rest from
/// `session_quarters`, the parts of quarters at the edges from the sessions themselves.
pub async fn totals(
    c: &impl GenericClient,
    account: &AccountId,
    project_id: &str,
    ranges: &[(i64, i64)],
    offset: i64,
) -> Result<Vec<Totals>> {
    let mut plan = TotalsPlan::new(ranges, offset);
    if let Some((lo, hi)) = plan.day_span {
        let st = c.prepare_cached(&DAY_SUMS).await.map_err(db)?;
        for r in c
            .query(&st, &[&account.0, &project_id, &lo, &hi])
            .await
            .map_err(db)?
        {
            plan.add_day(r.get(0), &totals_at(&r));
        }
    }
    let st = c.prepare_cached(&QUARTER_SUMS).await.map_err(db)?;
    for (lo, hi) in std::mem::take(&mut plan.quarters) {
        for r in c
            .query(&st, &[&account.0, &project_id, &lo, &hi])
            .await
            .map_err(db)?
        {
            plan.add_quarter(r.get(0), &totals_at(&r));
        }
    }
    for (from, to) in std::mem::take(&mut plan.edges) {
        for f in facts_where(c, account, project_id, None, from, to).await? {
            plan.add_at(f.start_time, &Totals::of(&f));
        }
    }
    Ok(plan.totals())
}

/// The spans [start, end) of the quarters or local days that meet `window` and in which sessions
/// start, ascending, at most `limit`: an index range of the rollup's primary key, so a window of
/// centuries costs what its sessions cost.
pub async fn spans(
    c: &impl GenericClient,
    account: &AccountId,
    project_id: &str,
    (from, to): (i64, i64),
    grain: Grain,
    limit: usize,
    day_offset: i64,
) -> Result<Vec<(i64, i64)>> {
    if from >= to {
        return Ok(Vec::new());
    }
    // Quarter q is [q * 900, (q + 1) * 900); local day d is [d * DAY - offset, (d + 1) * DAY - offset).
    let (sql, width, offset) = match grain {
        Grain::Quarter => (&*QUARTER_SPANS, QUARTER, 0),
        Grain::Day => (&*DAY_SPANS, DAY, day_offset),
    };
    let of = |t: i64| t.saturating_add(offset).div_euclid(width);
    let (lo, hi) = (of(from), of(to.saturating_sub(1)).saturating_add(1));
    let start = |n: i64| n.saturating_mul(width).saturating_sub(offset);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let st = c.prepare_cached(sql).await.map_err(db)?;
    let rows = c
        .query(&st, &[&account.0, &project_id, &lo, &hi, &limit])
        .await
        .map_err(db)?;
    Ok(rows
        .iter()
        .map(|r| {
            let n: i64 = r.get(0);
            (start(n), start(n + 1))
        })
        .collect())
}

/// The buckets of `table` in [$3, $4) with a session start, ascending, at most $5.
fn spans_sql(table: &str, bucket: &str) -> String {
    format!(
        "SELECT {bucket} FROM {table}
         WHERE account_id = $1 AND project_id = $2 AND {bucket} >= $3 AND {bucket} < $4
           AND sessions > 0
         ORDER BY {bucket} LIMIT $5"
    )
}

static QUARTER_SPANS: LazyLock<String> = LazyLock::new(|| spans_sql("session_quarters", "quarter"));
static DAY_SPANS: LazyLock<String> = LazyLock::new(|| spans_sql("session_days", "day"));

/// Distinct field and remote devices with a session starting in each of `ranges` (sorted and
/// disjoint): the whole local days inside a range from `device_months` (one index range for all of
/// them), the parts of days at its edges from the sessions themselves.
pub async fn active_devices(
    c: &impl GenericClient,
    account: &AccountId,
    project_id: &str,
    ranges: &[(i64, i64)],
    offset: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut plan = ActivePlan::new(ranges, offset)?;
    if let Some((first, last)) = plan.months {
        let st = c
            .prepare_cached(
                "SELECT month, role, device_id, days FROM device_months
                 WHERE account_id = $1 AND project_id = $2 AND month >= $3 AND month <= $4",
            )
            .await
            .map_err(db)?;
        for r in c
            .query(&st, &[&account.0, &project_id, &first, &last])
            .await
            .map_err(db)?
        {
            plan.add_month(r.get(0), r.get(1), r.get(3), r.get(2))?;
        }
    }
    let st = c
        .prepare_cached(
            "SELECT start_time, field_device_id, remote_device_id FROM sessions
             WHERE account_id = $1 AND project_id = $2 AND start_time >= $3 AND start_time < $4",
        )
        .await
        .map_err(db)?;
    for (from, to) in std::mem::take(&mut plan.pieces) {
        for r in c
            .query(&st, &[&account.0, &project_id, &from, &to])
            .await
            .map_err(db)?
        {
            plan.add_session(r.get(0), r.get(1), r.get(2));
        }
    }
    Ok(plan.counts())
}

/// The local day (days since the epoch at the UTC offset `$1`) of the time `t`, in SQL: a floor
/// division, as `calendar::day_of` (`/` and `%` truncate toward zero).
fn local_day_sql(t: &str) -> String {
    format!("(({t} + $1) - ((({t} + $1) % {DAY}) + {DAY}) % {DAY}) / {DAY}")
}

/// Counts the day and month rollups again for the local days of `offset` (the configured time
/// zone), when it differs from the one they were counted for; true if it did. `session_days` are
/// sums of quarters (each lies in one local day, the offset being whole quarter hours);
/// `device_months` come from one pass over the sessions, each local day's month and bit given by
/// the calendar ([`month_of`]) for the days that have sessions. Several nodes starting together
/// count once: the first, under [`DAY_OFFSET_LOCK`]; the others then find the offset recorded.
pub async fn set_day_offset(c: &mut Client, offset: i64) -> Result<bool> {
    if offset % QUARTER != 0 {
        return Err(StoreError::Database(format!(
            "day offset {offset} s is not a whole number of quarter hours"
        )));
    }
    let tx = c.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DAY_OFFSET_LOCK])
        .await
        .map_err(db)?;
    let current: Option<i64> = tx
        .query_opt("SELECT day_offset FROM rollup_settings", &[])
        .await
        .map_err(db)?
        .map(|r| r.get(0));
    if current == Some(offset) {
        return Ok(false);
    }
    tx.batch_execute(
        "DELETE FROM device_months; DELETE FROM session_days; DELETE FROM rollup_settings;",
    )
    .await
    .map_err(db)?;
    let sums: Vec<String> = COLUMNS.split(", ").map(|c| format!("SUM({c})")).collect();
    let quarter_day = local_day_sql(&format!("quarter * {QUARTER}"));
    tx.execute(
        &format!(
            "INSERT INTO session_days (account_id, project_id, day, {COLUMNS})
             SELECT account_id, project_id, {quarter_day}, {} FROM session_quarters
             GROUP BY account_id, project_id, {quarter_day}",
            sums.join(", ")
        ),
        &[&offset],
    )
    .await
    .map_err(db)?;
    let session_day = local_day_sql("start_time");
    let days: Vec<i64> = tx
        .query(
            &format!("SELECT DISTINCT {session_day} FROM sessions"),
            &[&offset],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (mut months, mut bits) = (
        Vec::with_capacity(days.len()),
        Vec::with_capacity(days.len()),
    );
    for &day in &days {
        let (month, bit) = month_of(day)?;
        months.push(month);
        bits.push(bit);
    }
    // A device's days of a month: the union of the bits of its sessions' days.
    for (role, column) in [(FIELD, "field_device_id"), (REMOTE, "remote_device_id")] {
        tx.execute(
            &format!(
                "INSERT INTO device_months (account_id, project_id, month, role, device_id, days)
                 SELECT s.account_id, s.project_id, d.month, $2, s.{column}, bit_or(d.bit)
                 FROM sessions s
                 JOIN unnest($3::BIGINT[], $4::BIGINT[], $5::BIGINT[]) AS d (day, month, bit)
                   ON d.day = {session_day}
                 GROUP BY s.account_id, s.project_id, d.month, s.{column}"
            ),
            &[&offset, &role, &days, &months, &bits],
        )
        .await
        .map_err(db)?;
    }
    tx.execute(
        "INSERT INTO rollup_settings (day_offset) VALUES ($1)",
        &[&offset],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}

#[async_trait]
impl Rollups for PgStore {
    async fn session_facts(
        &self,
        account: &AccountId,
        project_id: &str,
        device_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<SessionFacts>> {
        let c = self.conn().await?;
        facts_where(&c, account, project_id, device_id, from, to).await
    }

    async fn session_totals(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>> {
        let c = self.conn().await?;
        totals(&c, account, project_id, ranges, self.day_offset).await
    }

    async fn active_devices(
        &self,
        account: &AccountId,
        project_id: &str,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<(i64, i64)>> {
        let c = self.conn().await?;
        active_devices(&c, account, project_id, ranges, self.day_offset).await
    }

    async fn session_spans(
        &self,
        account: &AccountId,
        project_id: &str,
        window: (i64, i64),
        grain: Grain,
        limit: usize,
    ) -> Result<Vec<(i64, i64)>> {
        let c = self.conn().await?;
        spans(
            &c,
            account,
            project_id,
            window,
            grain,
            limit,
            self.day_offset,
        )
        .await
    }
}
