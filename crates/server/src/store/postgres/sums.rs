//! The write side of the rollups (`rollup.rs` reads them; `sqlite/rollup.rs` says what each
//! sums): `session_hours` (sessions per start hour, the pages of the session list),
//! `session_quarters` and `session_days` (session totals per quarter hour and local day of start),
//! `device_months` (each device's days with a session start, a bit per day), kept in step with the
//! sessions in the transactions that change them. A session counts where it starts; a change of
//! its start, span, resolution or grade moves its share (old out, new in).
//!
//! Several writers (and nodes) commit at once, and every session that starts today adds to the
//! same rows. So a transaction gathers its changes ([`Changes`]) and writes them at its end, each
//! row once, table by table in key order: a rollup row is locked only from there to the commit,
//! and every transaction locks rollup rows in the same order, so that they queue briefly instead of
//! deadlocking.

use super::db;
use super::rollup::{facts_row, FACTS_COLS};
use crate::model::usage::Totals;
use crate::store::calendar::{
    day_of, day_start, month_of, values, COLUMNS, FIELD, QUARTER, REMOTE,
};
use crate::store::Result;
use deadpool_postgres::GenericClient;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use tokio_postgres::types::ToSql;

/// One session's share of the rollups, with where it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Share {
    pub account_id: String,
    pub project_id: String,
    pub start_time: i64,
    pub field_device_id: String,
    pub remote_device_id: String,
    pub totals: Totals,
}

/// A session's share as stored now, `None` if there is no such session. Lock the session row
/// first (`SELECT ... FOR UPDATE`) when its share is to be moved: the share read before a change
/// must stay the session's until the change commits.
pub(super) async fn share_of_session(
    c: &impl GenericClient,
    account_id: &str,
    session_key: i64,
) -> Result<Option<Share>> {
    let st = c
        .prepare_cached(&format!(
            "SELECT s.project_id, {FACTS_COLS} FROM sessions s
             WHERE s.account_id = $1 AND s.session_key = $2"
        ))
        .await
        .map_err(db)?;
    let Some(r) = c
        .query_opt(&st, &[&account_id, &session_key])
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let f = facts_row(&r, 1)?;
    Ok(Some(Share {
        account_id: account_id.to_owned(),
        project_id: r.get(0),
        start_time: f.start_time,
        totals: Totals::of(&f),
        field_device_id: f.field_device_id,
        remote_device_id: f.remote_device_id,
    }))
}

/// Moves a session's share from what it was (`before`, read with [`share_of_session`] after
/// locking the session row) to what it is now, and writes it at once: for a transaction that
/// changes one session (upkeep's regrading). `offset`: the store's (`PgStore::day_offset`).
pub(super) async fn update(
    c: &impl GenericClient,
    account_id: &str,
    session_key: i64,
    before: Option<Share>,
    offset: i64,
) -> Result<()> {
    let mut changes = Changes::default();
    changes
        .update(c, account_id, session_key, before, offset)
        .await?;
    changes.write(c).await
}

/// A row of a rollup: account, project, bucket (hour, quarter or local day).
type Key = (String, String, i64);

/// A row of `device_months`: account, project, local month, role, device.
type DeviceMonth = (String, String, i64, i64, String);

/// The rollup changes of one transaction, gathered as it changes sessions and written by
/// [`Changes::write`] before it commits.
#[derive(Default)]
pub(super) struct Changes {
    hours: BTreeMap<Key, i64>,
    quarters: BTreeMap<Key, [i64; 17]>,
    days: BTreeMap<Key, [i64; 17]>,
    /// The bits of days to set, per device and month.
    marks: BTreeMap<DeviceMonth, i64>,
    /// The days to clear (bit, and the day's [start, end)), per device and month, unless a session
    /// of the device still starts on them when the changes are written.
    unmarks: BTreeMap<DeviceMonth, BTreeSet<(i64, i64, i64)>>,
}

impl Changes {
    /// Counts a session (`delta` 1) or takes it back (-1) in the hour of `start_time`.
    pub(super) fn count_hour(
        &mut self,
        account_id: &str,
        project_id: &str,
        start_time: i64,
        delta: i64,
    ) {
        let key = (
            account_id.to_owned(),
            project_id.to_owned(),
            start_time.div_euclid(3600),
        );
        *self.hours.entry(key).or_default() += delta;
    }

    /// Moves a session's share from `before` (read with [`share_of_session`] after locking the
    /// session row) to what it is now, at the local days of `offset`.
    pub(super) async fn update(
        &mut self,
        c: &impl GenericClient,
        account_id: &str,
        session_key: i64,
        before: Option<Share>,
        offset: i64,
    ) -> Result<()> {
        let after = share_of_session(c, account_id, session_key).await?;
        if before == after {
            return Ok(());
        }
        let days = |s: &Share| {
            (
                day_of(s.start_time, offset),
                s.field_device_id.clone(),
                s.remote_device_id.clone(),
            )
        };
        let same_days = matches!((&before, &after), (Some(b), Some(a)) if days(b) == days(a));
        if let Some(b) = &before {
            self.add(b, offset, -1);
            if !same_days {
                self.unmark_day(b, offset)?;
            }
        }
        if let Some(a) = &after {
            self.add(a, offset, 1);
            if !same_days {
                self.mark_day(a, offset)?;
            }
        }
        Ok(())
    }

    /// Adds `sign` times a session's share to its quarter and its local day.
    fn add(&mut self, s: &Share, offset: i64, sign: i64) {
        let v = values(&s.totals);
        for (rows, bucket) in [
            (&mut self.quarters, s.start_time.div_euclid(QUARTER)),
            (&mut self.days, day_of(s.start_time, offset)),
        ] {
            let key = (s.account_id.clone(), s.project_id.clone(), bucket);
            let sums = rows.entry(key).or_default();
            for (sum, x) in sums.iter_mut().zip(v) {
                *sum += sign * x;
            }
        }
    }

    /// Sets the start day's bit of both devices of a session.
    fn mark_day(&mut self, s: &Share, offset: i64) -> Result<()> {
        let (month, bit) = month_of(day_of(s.start_time, offset))?;
        for (role, device) in roles(s) {
            let key = (
                s.account_id.clone(),
                s.project_id.clone(),
                month,
                role,
                device.to_owned(),
            );
            *self.marks.entry(key).or_default() |= bit;
        }
        Ok(())
    }

    /// Clears, when written, the start day's bit of each device of a session that then no longer
    /// has a session starting that day.
    fn unmark_day(&mut self, s: &Share, offset: i64) -> Result<()> {
        let day = day_of(s.start_time, offset);
        let (month, bit) = month_of(day)?;
        let span = (bit, day_start(day, offset), day_start(day + 1, offset));
        for (role, device) in roles(s) {
            let key = (
                s.account_id.clone(),
                s.project_id.clone(),
                month,
                role,
                device.to_owned(),
            );
            self.unmarks.entry(key).or_default().insert(span);
        }
        Ok(())
    }

    /// Writes the changes: the sums, each row once (one statement per table, rows in key order;
    /// rows whose changes cancel out are left alone), then the days of devices.
    pub(super) async fn write(self, c: &impl GenericClient) -> Result<()> {
        let hours: Vec<(&Key, i64)> = self
            .hours
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(k, n)| (k, *n))
            .collect();
        if !hours.is_empty() {
            let (accounts, projects, buckets) = key_columns(hours.iter().map(|(k, _)| *k));
            let n: Vec<i64> = hours.iter().map(|(_, n)| *n).collect();
            let st = c.prepare_cached(ADD_HOURS_SQL).await.map_err(db)?;
            c.execute(&st, &[&accounts, &projects, &buckets, &n])
                .await
                .map_err(db)?;
        }
        add_sums(c, &ADD_QUARTERS_SQL, &self.quarters).await?;
        add_sums(c, &ADD_DAYS_SQL, &self.days).await?;
        if !self.marks.is_empty() {
            let keys = &self.marks;
            let accounts: Vec<&str> = keys.keys().map(|k| k.0.as_str()).collect();
            let projects: Vec<&str> = keys.keys().map(|k| k.1.as_str()).collect();
            let months: Vec<i64> = keys.keys().map(|k| k.2).collect();
            let roles: Vec<i64> = keys.keys().map(|k| k.3).collect();
            let devices: Vec<&str> = keys.keys().map(|k| k.4.as_str()).collect();
            let bits: Vec<i64> = keys.values().copied().collect();
            let st = c.prepare_cached(MARK_DAYS_SQL).await.map_err(db)?;
            c.execute(
                &st,
                &[&accounts, &projects, &months, &roles, &devices, &bits],
            )
            .await
            .map_err(db)?;
        }
        for (key, days) in &self.unmarks {
            let marked = self.marks.get(key).copied().unwrap_or(0);
            unmark_days(c, key, days, marked).await?;
        }
        Ok(())
    }
}

/// The devices of a session: (role, device id).
fn roles(s: &Share) -> [(i64, &str); 2] {
    [(FIELD, &s.field_device_id), (REMOTE, &s.remote_device_id)]
}

/// The `sessions` column holding the device of a role.
fn role_column(role: i64) -> &'static str {
    if role == FIELD {
        "field_device_id"
    } else {
        "remote_device_id"
    }
}

/// The key columns of rollup rows, as the arrays a statement unnests.
fn key_columns<'a>(keys: impl Iterator<Item = &'a Key>) -> (Vec<&'a str>, Vec<&'a str>, Vec<i64>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for (account, project, bucket) in keys {
        columns.0.push(account.as_str());
        columns.1.push(project.as_str());
        columns.2.push(*bucket);
    }
    columns
}

const ADD_HOURS_SQL: &str = "INSERT INTO session_hours AS t (account_id, project_id, hour, n)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
     ON CONFLICT (account_id, project_id, hour) DO UPDATE SET n = t.n + excluded.n";

const MARK_DAYS_SQL: &str =
    "INSERT INTO device_months AS t (account_id, project_id, month, role, device_id, days)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
     ON CONFLICT (account_id, project_id, month, role, device_id) DO UPDATE SET days = t.days | excluded.days";

/// `INSERT ... ON CONFLICT DO UPDATE` adding rows of sums (arrays: accounts, projects, buckets,
/// then one per column of [`COLUMNS`]) to `table`, keyed by `bucket`.
fn add_sql(table: &str, bucket: &str) -> String {
    let set: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("{c} = t.{c} + excluded.{c}"))
        .collect();
    let arrays: Vec<String> = (4..=20).map(|i| format!("${i}::bigint[]")).collect();
    format!(
        "INSERT INTO {table} AS t (account_id, project_id, {bucket}, {COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], {})
         ON CONFLICT (account_id, project_id, {bucket}) DO UPDATE SET {}",
        arrays.join(", "),
        set.join(", ")
    )
}

static ADD_QUARTERS_SQL: LazyLock<String> =
    LazyLock::new(|| add_sql("session_quarters", "quarter"));
static ADD_DAYS_SQL: LazyLock<String> = LazyLock::new(|| add_sql("session_days", "day"));

/// Adds the rows of sums that changed, in one statement.
async fn add_sums(
    c: &impl GenericClient,
    sql: &str,
    rows: &BTreeMap<Key, [i64; 17]>,
) -> Result<()> {
    let rows: Vec<(&Key, &[i64; 17])> = rows.iter().filter(|(_, v)| **v != [0; 17]).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let (accounts, projects, buckets) = key_columns(rows.iter().map(|(k, _)| *k));
    let sums: Vec<Vec<i64>> = (0..17)
        .map(|i| rows.iter().map(|(_, v)| v[i]).collect())
        .collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&accounts, &projects, &buckets];
    params.extend(sums.iter().map(|v| v as &(dyn ToSql + Sync)));
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.execute(&st, &params).await.map_err(db)?;
    Ok(())
}

/// Clears the bits of `days` (of the key's month: bit, and the day's [start, end)) whose device no
/// longer has a session starting on them, but not those set in this transaction (`marked`); a
/// month with no day left goes. The row is locked before the sessions are looked at: a transaction
/// that starts a session of the device on one of these days marks the day (and holds the row)
/// until it commits, so its session is seen here once the lock is had.
async fn unmark_days(
    c: &impl GenericClient,
    (account_id, project_id, month, role, device): &DeviceMonth,
    days: &BTreeSet<(i64, i64, i64)>,
    marked: i64,
) -> Result<()> {
    let key: [&(dyn ToSql + Sync); 5] = [account_id, project_id, month, role, device];
    let lock = c
        .prepare_cached(
            "SELECT days FROM device_months
             WHERE account_id = $1 AND project_id = $2 AND month = $3 AND role = $4 AND device_id = $5
             FOR UPDATE",
        )
        .await
        .map_err(db)?;
    let Some(row) = c.query_opt(&lock, &key).await.map_err(db)? else {
        return Ok(());
    };
    let stored: i64 = row.get(0);
    let still = c
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE account_id = $1 AND project_id = $2
               AND {} = $3 AND start_time >= $4 AND start_time < $5)",
            role_column(*role)
        ))
        .await
        .map_err(db)?;
    let mut clear = 0i64;
    for &(bit, from, to) in days {
        if marked & bit != 0 || stored & bit == 0 {
            continue;
        }
        let row = c
            .query_one(&still, &[account_id, project_id, device, &from, &to])
            .await
            .map_err(db)?;
        if !row.get::<_, bool>(0) {
            clear |= bit;
        }
    }
    if clear == 0 {
        return Ok(());
    }
    let left = stored & !clear;
    let (sql, params): (&str, Vec<&(dyn ToSql + Sync)>) = if left == 0 {
        (
            "DELETE FROM device_months
             WHERE account_id = $1 AND project_id = $2 AND month = $3 AND role = $4 AND device_id = $5",
            key.to_vec(),
        )
    } else {
        let mut params = key.to_vec();
        params.push(&left);
        (
            "UPDATE device_months SET days = $6
             WHERE account_id = $1 AND project_id = $2 AND month = $3 AND role = $4 AND device_id = $5",
            params,
        )
    };
    let st = c.prepare_cached(sql).await.map_err(db)?;
    c.execute(&st, &params).await.map_err(db)?;
    Ok(())
}
