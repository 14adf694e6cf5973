//! Quarter-hour sums of session totals (`session_quarters`), kept in step with the sessions in the
//! same transactions that change them, so that statistics and usage over a year read a few thousand
//! small rows instead of every session (docs/storage.md). A session counts in the quarter of its
//! start; a change of its start, span, resolution or grade moves its share (old out, new in).
//!
//! Quarter hours suit every time zone in use (offsets are multiples of 15 minutes), so day and month
//! buckets in the configured zone are sums of whole quarters; window edges inside a quarter are
//! added up from the sessions themselves.

use super::db;
use super::sessions::{facts_of_session, facts_where};
use crate::domain::usage::{Totals, Usage};
use crate::domain::AccountId;
use crate::store::Result;
use r2d2_sqlite::rusqlite::{params, Connection};

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

fn add(
    c: &Connection,
    project_id: &str,
    account_id: &str,
    start_time: i64,
    t: &Totals,
    sign: i64,
) -> Result<()> {
    let v = values(t).map(|x| x * sign);
    let set: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect();
    let placeholders: Vec<String> = (4..=20).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO session_quarters (project_id, account_id, quarter, {COLUMNS}) VALUES (?1, ?2, ?3, {})
         ON CONFLICT (project_id, quarter) DO UPDATE SET {}",
        placeholders.join(", "),
        set.join(", ")
    );
    let mut s = c.prepare_cached(&sql).map_err(db)?;
    let mut args: Vec<i64> = vec![start_time.div_euclid(QUARTER)];
    args.extend(v);
    s.execute(r2d2_sqlite::rusqlite::params_from_iter(
        [project_id.to_owned().into(), account_id.to_owned().into()]
            .into_iter()
            .chain(
                args.into_iter()
                    .map(r2d2_sqlite::rusqlite::types::Value::from),
            )
            .collect::<Vec<r2d2_sqlite::rusqlite::types::Value>>(),
    ))
    .map_err(db)?;
    Ok(())
}

/// Moves a session's share from what it was (`before`) to what it is now.
pub fn update(
    c: &Connection,
    session_key: i64,
    before: Option<(String, String, i64, Totals)>,
) -> Result<()> {
    let after = facts_of_session(c, session_key)?;
    if let Some((p, a, start, t)) = &before {
        if let Some((_, _, start2, t2)) = &after {
            if start == start2 && t == t2 {
                return Ok(());
            }
        }
        add(c, p, a, *start, t, -1)?;
    }
    if let Some((p, a, start, t)) = &after {
        add(c, p, a, *start, t, 1)?;
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

/// Distinct field and remote devices with a session starting in [from, to): one index probe per
/// device the project has had sessions with (`session_devices`).
pub fn active_devices(
    c: &Connection,
    account: &AccountId,
    project_id: &str,
    from: i64,
    to: i64,
) -> Result<(i64, i64)> {
    let count = |role: &str, column: &str| -> Result<i64> {
        c.prepare_cached(&format!(
            "SELECT COUNT(*) FROM session_devices d WHERE d.project_id = ?1 AND d.account_id = ?2 AND d.role = ?3
               AND EXISTS (SELECT 1 FROM sessions s WHERE s.project_id = d.project_id AND s.account_id = d.account_id
                           AND s.{column} = d.device_id
                           AND s.start_time >= ?4 AND s.start_time < ?5)"
        ))
        .and_then(|mut s| s.query_row(params![project_id, account.0, role, from, to], |r| r.get(0)))
        .map_err(db)
    };
    Ok((
        count("field", "field_device_id")?,
        count("remote", "remote_device_id")?,
    ))
}
