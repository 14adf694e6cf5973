//! Quarter-hour sums of session totals (`session_quarters`), kept in step with the sessions in the
//! same transactions that change them, so that statistics and usage over a year read a few thousand
//! small rows instead of every session (docs/storage.md). A session counts in the quarter of its
//! start; a change of its start, span, resolution or grade moves its share (old out, new in).
//!
//! Quarter hours suit every time zone in use (offsets are multiples of 15 minutes), so day and month
//! buckets in the configured zone are sums of whole quarters; window edges inside a quarter are
//! added up from the sessions themselves.
//!
//! Active devices are distinct counts, which do not add up: `device_days` keeps, per local day of
//! the configured time zone (`rollup_settings.day_offset`), the devices with a session starting
//! that day, so a year by day or by month reads one index range of at most devices x days small
//! rows. A change of the time zone counts them again at start-up ([`set_day_offset`]).

use super::db;
use super::sessions::{facts_where, share_of_session, Share};
use crate::domain::usage::{Totals, Usage};
use crate::domain::AccountId;
use crate::store::Result;
use r2d2_sqlite::rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

pub const QUARTER: i64 = 900;

const COLUMNS: &str = "sessions, minutes, not_bad, voice, sd, hd, fhd, two_k, four_k, online, \
     multi_voice, multi_sd, multi_hd, multi_fhd, multi_two_k, multi_four_k, multi_online";

fn values(t: &Totals) -> [i64; 17] {
    let u = t.usage.to_columns();
    let mut v = [0; 17];
    v[0] = t.sessions;
    v[1] = t.minutes;
    v[2] = t.not_bad;
    v[3..].copy_from_slice(&u);
    v
}

/// `INSERT ... ON CONFLICT DO UPDATE` adding a session's share to its quarter (built once).
static ADD_SQL: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    let placeholders: Vec<String> = (4..=20).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO session_quarters (project_id, account_id, quarter, {COLUMNS}) VALUES (?1, ?2, ?3, {})
         ON CONFLICT (project_id, quarter) DO UPDATE SET {}",
        placeholders.join(", "),
        set.join(", ")
    )
});

fn add(
    c: &Connection,
    project_id: &str,
    account_id: &str,
    start_time: i64,
    t: &Totals,
    sign: i64,
) -> Result<()> {
    let v = values(t).map(|x| x * sign);
    let mut s = c.prepare_cached(&ADD_SQL).map_err(db)?;
    s.raw_bind_parameter(1, project_id).map_err(db)?;
    s.raw_bind_parameter(2, account_id).map_err(db)?;
    s.raw_bind_parameter(3, start_time.div_euclid(QUARTER))
        .map_err(db)?;
    for (i, x) in v.iter().enumerate() {
        s.raw_bind_parameter(4 + i, x).map_err(db)?;
    }
    s.raw_execute().map_err(db)?;
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
        add(c, &b.project_id, &b.account_id, b.start_time, &b.totals, -1)?;
        if !same_days {
            count_days(c, b, offset, -1)?;
        }
    }
    if let Some(a) = &after {
        add(c, &a.project_id, &a.account_id, a.start_time, &a.totals, 1)?;
        if !same_days {
            count_days(c, a, offset, 1)?;
        }
    }
    Ok(())
}

/// Totals of one range: whole quarters from the sums, the parts of quarters at its edges directly.
pub fn totals(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    from: i64,
    to: i64,
) -> Result<Totals> {
    let q_lo = from.div_euclid(QUARTER) + i64::from(from.rem_euclid(QUARTER) != 0);
    let q_hi = to.div_euclid(QUARTER);
    if q_lo >= q_hi {
        return direct(c, account, project_id, from, to);
    }
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {} FROM session_quarters WHERE project_id = ?1 AND account_id = ?2 AND quarter >= ?3 AND quarter < ?4",
            COLUMNS.split(", ").map(|c| format!("TOTAL({c})")).collect::<Vec<_>>().join(", ")
        ))
        .map_err(db)?;
    let v: [i64; 17] = s
        .query_row(params![project_id, account.0, q_lo, q_hi], |r| {
            let mut v = [0i64; 17];
            for (i, x) in v.iter_mut().enumerate() {
                *x = r.get::<_, f64>(i)? as i64;
            }
            Ok(v)
        })
        .map_err(db)?;
    let mut u = [0; Usage::COLUMNS];
    u.copy_from_slice(&v[3..]);
    let middle = Totals {
        sessions: v[0],
        minutes: v[1],
        not_bad: v[2],
        usage: Usage::from_columns(u),
    };
    let head = direct(c, account, project_id, from, q_lo * QUARTER)?;
    let tail = direct(c, account, project_id, q_hi * QUARTER, to)?;
    Ok(middle.plus(&head).plus(&tail))
}

fn direct(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    from: i64,
    to: i64,
) -> Result<Totals> {
    if from >= to {
        return Ok(Totals::default());
    }
    let facts = facts_where(c, account, project_id, None, from, to)?;
    Ok(facts
        .iter()
        .fold(Totals::default(), |t, f| t.plus(&Totals::of(f))))
}

/// The local day (days since the epoch at the store's `day_offset`) holding `t`.
fn day_of(t: i64, offset: i64) -> i64 {
    (t + offset).div_euclid(DAY)
}

fn day_start(day: i64, offset: i64) -> i64 {
    day * DAY - offset
}

pub const DAY: i64 = 86_400;

/// The UTC offset (seconds) whose local days `device_days` counts.
fn day_offset(c: &Connection) -> Result<i64> {
    c.prepare_cached("SELECT day_offset FROM rollup_settings")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db)
}

/// Adds `delta` to the session count of both devices of a session on its start day; a count that
/// reaches zero removes its row.
fn count_days(c: &Connection, s: &Share, offset: i64, delta: i64) -> Result<()> {
    let day = day_of(s.start_time, offset);
    for (role, device) in [(FIELD, &s.field_device_id), (REMOTE, &s.remote_device_id)] {
        c.prepare_cached(
            "INSERT INTO device_days (project_id, account_id, day, role, device_id, sessions)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (project_id, day, role, device_id) DO UPDATE SET sessions = sessions + excluded.sessions",
        )
        .and_then(|mut st| st.execute(params![s.project_id, s.account_id, day, role, device, delta]))
        .map_err(db)?;
    }
    if delta < 0 {
        c.prepare_cached(
            "DELETE FROM device_days WHERE project_id = ?1 AND day = ?2 AND sessions <= 0",
        )
        .and_then(|mut st| st.execute(params![s.project_id, day]))
        .map_err(db)?;
    }
    Ok(())
}

const FIELD: i64 = 0;
const REMOTE: i64 = 1;

/// Counts `device_days` again for the local days of `offset` (the configured time zone), when it
/// differs from the one they were counted for: one pass over the sessions.
pub fn set_day_offset(c: &Connection, offset: i64) -> Result<bool> {
    let current: Option<i64> = c
        .query_row("SELECT day_offset FROM rollup_settings", [], |r| r.get(0))
        .optional()
        .map_err(db)?;
    if current == Some(offset) {
        return Ok(false);
    }
    // Floor division, exact for starts before the offset's first midnight too.
    let day = "((start_time + ?1) - (((start_time + ?1) % 86400) + 86400) % 86400) / 86400";
    c.execute_batch("DELETE FROM device_days; DELETE FROM rollup_settings;")
        .map_err(db)?;
    for (role, column) in [(FIELD, "field_device_id"), (REMOTE, "remote_device_id")] {
        c.execute(
            &format!(
                "INSERT INTO device_days (project_id, account_id, day, role, device_id, sessions)
                 SELECT project_id, account_id, {day}, ?2, {column}, COUNT(*) FROM sessions
                 GROUP BY project_id, account_id, {day}, {column}"
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
/// disjoint): the whole local days inside a range from `device_days` (one index range for all of
/// them), the parts of days at its edges from the sessions themselves.
pub fn active_devices(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    ranges: &[(i64, i64)],
) -> Result<Vec<(i64, i64)>> {
    debug_assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0));
    let offset = day_offset(c)?;
    // Device ids are numbered as they come, so that the sets hold numbers, not strings.
    let mut numbers: HashMap<String, usize> = HashMap::new();
    let mut number = |id: &str| match numbers.get(id) {
        Some(&n) => n,
        None => {
            numbers.insert(id.to_owned(), numbers.len());
            numbers.len() - 1
        }
    };
    let mut seen: Vec<[HashSet<usize>; 2]> = vec![Default::default(); ranges.len()];
    // Per range, its whole days [first, last) (empty when none) and the pieces outside them.
    let mut whole = Vec::with_capacity(ranges.len());
    let mut pieces: Vec<(i64, i64)> = Vec::new();
    let mut piece = |from: i64, to: i64| {
        if from < to {
            match pieces.last_mut() {
                Some(last) if last.1 == from => last.1 = to,
                _ => pieces.push((from, to)),
            }
        }
    };
    for &(from, to) in ranges {
        let first = day_of(from - 1, offset) + 1;
        let last = day_of(to, offset);
        if first < last {
            piece(from, day_start(first, offset));
            piece(day_start(last, offset), to);
            whole.push((first, last));
        } else {
            piece(from, to);
            whole.push((0, 0));
        }
    }
    let spanned: Vec<&(i64, i64)> = whole.iter().filter(|(f, l)| f < l).collect();
    if let (Some(lo), Some(hi)) = (spanned.first(), spanned.last()) {
        let mut s = c
            .prepare_cached(
                "SELECT day, role, device_id FROM device_days
                 WHERE project_id = ?1 AND account_id = ?2 AND day >= ?3 AND day < ?4",
            )
            .map_err(db)?;
        let mut rows = s
            .query(params![project_id, account.0, lo.0, hi.1])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let day: i64 = r.get(0).map_err(db)?;
            let at = day_start(day, offset);
            let i = ranges.partition_point(|(_, to)| *to <= at);
            if i < ranges.len() && (whole[i].0..whole[i].1).contains(&day) {
                let role: i64 = r.get(1).map_err(db)?;
                let id = r.get_ref(2).and_then(|v| Ok(v.as_str()?)).map_err(db)?;
                seen[i][usize::from(role == REMOTE)].insert(number(id));
            }
        }
    }
    let mut s = c
        .prepare_cached(
            "SELECT start_time, field_device_id, remote_device_id FROM sessions
             WHERE project_id = ?1 AND account_id = ?2 AND start_time >= ?3 AND start_time < ?4",
        )
        .map_err(db)?;
    for (from, to) in pieces {
        let mut rows = s
            .query(params![project_id, account.0, from, to])
            .map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            let start: i64 = r.get(0).map_err(db)?;
            let i = ranges.partition_point(|(_, to)| *to <= start);
            if i < ranges.len() && ranges[i].0 <= start {
                for role in [0, 1] {
                    let id = r
                        .get_ref(1 + role)
                        .and_then(|v| Ok(v.as_str()?))
                        .map_err(db)?;
                    seen[i][role].insert(number(id));
                }
            }
        }
    }
    Ok(seen
        .iter()
        .map(|[f, r]| (f.len() as i64, r.len() as i64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_floor_before_the_epoch_too() {
        let east8 = 8 * 3600;
        // 1970-01-01T16:00:00Z is midnight of day 1 at +08:00.
        assert_eq!(day_of(16 * 3600, east8), 1);
        assert_eq!(day_of(16 * 3600 - 1, east8), 0);
        assert_eq!(day_start(1, east8), 16 * 3600);
        // 1970-01-01T05:00:00Z is still 1969-12-31 at -08:00.
        assert_eq!(day_of(5 * 3600, -east8), -1);
    }
}
