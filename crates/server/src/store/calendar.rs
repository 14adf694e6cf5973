//! The calendar of the rollups, the same on every backend: quarter hours, local days at the
//! store's UTC offset, local months with a bit per day, and how a list of time ranges splits into
//! whole days and the pieces around them (`sqlite/rollup.rs` says how the rollups use them).

use crate::errors::StoreError;
use crate::model::usage::Totals;
use crate::store::Result;
use chrono::{Datelike, NaiveDate};

pub const QUARTER: i64 = 900;

pub const COLUMNS: &str = "sessions, minutes, not_bad, voice, sd, hd, fhd, two_k, four_k, online, \
     multi_voice, multi_sd, multi_hd, multi_fhd, multi_two_k, multi_four_k, multi_online";

pub fn values(t: &Totals) -> [i64; 17] {
    let u = t.usage.to_columns();
    let mut v = [0; 17];
    v[0] = t.sessions;
    v[1] = t.minutes;
    v[2] = t.not_bad;
    v[3..].copy_from_slice(&u);
    v
}

/// Adds `[from, to)` to `pieces` (sorted), joined to the last piece when they touch.
pub fn push_piece(pieces: &mut Vec<(i64, i64)>, from: i64, to: i64) {
    if from < to {
        match pieces.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => pieces.push((from, to)),
        }
    }
}

/// The index of the range (sorted, disjoint) holding `t`, if any.
pub fn range_of(ranges: &[(i64, i64)], t: i64) -> Option<usize> {
    let i = ranges.partition_point(|(_, to)| *to <= t);
    (i < ranges.len() && ranges[i].0 <= t).then_some(i)
}

/// Each range's whole local days `[first, last)` (empty when `first >= last`), and the span of
/// all of them (`None` when no range holds a whole day); the parts of ranges outside their whole
/// days go to `piece`, in order.
pub type DaySplit = (Vec<(i64, i64)>, Option<(i64, i64)>);

pub fn split_by_days(
    ranges: &[(i64, i64)],
    offset: i64,
    mut piece: impl FnMut(i64, i64),
) -> DaySplit {
    let mut whole = Vec::with_capacity(ranges.len());
    for &(from, to) in ranges {
        let (first, last) = (
            day_of(from.saturating_sub(1), offset) + 1,
            day_of(to, offset),
        );
        if first < last {
            piece(from, day_start(first, offset));
            piece(day_start(last, offset), to);
        } else {
            piece(from, to);
        }
        whole.push((first, last));
    }
    let mut spanned = whole.iter().filter(|(f, l)| f < l);
    let span = spanned
        .next()
        .map(|lo| (lo.0, spanned.next_back().unwrap_or(lo).1));
    (whole, span)
}

/// The local day (days since the epoch at the store's `day_offset`) holding `t`. Saturating: the
/// actions keep request times within years 0..9999 (`domain::clock::LATEST`), and nothing here
/// may panic on a time that slipped past them.
pub fn day_of(t: i64, offset: i64) -> i64 {
    t.saturating_add(offset).div_euclid(DAY)
}

pub fn day_start(day: i64, offset: i64) -> i64 {
    day.saturating_mul(DAY).saturating_sub(offset)
}

pub const DAY: i64 = 86_400;

/// Days from 0001-01-01 (chrono's day numbers) to 1970-01-01.
pub const EPOCH_FROM_CE: i64 = 719_163;

/// The local month (`year * 12 + month - 1`) of a local day, and the day's bit in that month's
/// `device_months.days`. A day outside chrono's calendar (about ±262,000 years) is an error, not a
/// panic: the actions refuse such times first (`domain::clock::LATEST`).
pub fn month_of(day: i64) -> Result<(i64, i64)> {
    let d = day
        .checked_add(EPOCH_FROM_CE)
        .and_then(|n| i32::try_from(n).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| outside("day", day))?;
    Ok((
        i64::from(d.year()) * 12 + i64::from(d.month0()),
        1 << d.day0(),
    ))
}

/// The first local day of a month of [`month_of`].
pub fn month_start(month: i64) -> Result<i64> {
    let first = i32::try_from(month.div_euclid(12))
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month.rem_euclid(12) as u32 + 1, 1))
        .ok_or_else(|| outside("month", month))?;
    Ok(i64::from(first.num_days_from_ce()) - EPOCH_FROM_CE)
}

pub fn outside(what: &str, n: i64) -> StoreError {
    StoreError::Database(format!("local {what} {n} is outside the calendar"))
}

pub const FIELD: i64 = 0;
pub const REMOTE: i64 = 1;
