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
fn push_piece(pieces: &mut Vec<(i64, i64)>, from: i64, to: i64) {
    if from < to {
        match pieces.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => pieces.push((from, to)),
        }
    }
}

/// The index of the range (sorted, disjoint) holding `t`, if any.
fn range_of(ranges: &[(i64, i64)], t: i64) -> Option<usize> {
    let i = ranges.partition_point(|(_, to)| *to <= t);
    (i < ranges.len() && ranges[i].0 <= t).then_some(i)
}

/// Each range's whole local days `[first, last)` (empty when `first >= last`), and the span of
/// all of them (`None` when no range holds a whole day); the parts of ranges outside their whole
/// days go to `piece`, in order.
type DaySplit = (Vec<(i64, i64)>, Option<(i64, i64)>);

fn split_by_days(ranges: &[(i64, i64)], offset: i64, mut piece: impl FnMut(i64, i64)) -> DaySplit {
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

/// How the totals of sessions starting in sorted, disjoint ranges are read, the same on every
/// backend: the whole local days of each range from the day sums ([`TotalsPlan::day_span`], one
/// index range for all of them), the whole quarters of the rest from the quarter sums
/// ([`TotalsPlan::quarters`]), and the pieces of quarters at the edges from the sessions
/// themselves ([`TotalsPlan::edges`]). The backend reads those and hands each row to `add_*`.
pub struct TotalsPlan<'a> {
    ranges: &'a [(i64, i64)],
    offset: i64,
    /// Each range's whole local days [first, last).
    days: Vec<(i64, i64)>,
    /// The local days [first, last) to read from the day sums, if any.
    pub day_span: Option<(i64, i64)>,
    /// Quarter numbers [first, last) to read from the quarter sums.
    pub quarters: Vec<(i64, i64)>,
    /// Times [from, to) whose sessions are added up one by one.
    pub edges: Vec<(i64, i64)>,
    out: Vec<Totals>,
}

impl<'a> TotalsPlan<'a> {
    pub fn new(ranges: &'a [(i64, i64)], offset: i64) -> TotalsPlan<'a> {
        debug_assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0));
        let (mut quarters, mut edges) = (Vec::new(), Vec::new());
        let split = |from: i64, to: i64| {
            let q_lo = from.div_euclid(QUARTER) + i64::from(from.rem_euclid(QUARTER) != 0);
            let q_hi = to.div_euclid(QUARTER);
            if q_lo < q_hi {
                push_piece(&mut edges, from, q_lo * QUARTER);
                push_piece(&mut quarters, q_lo, q_hi);
                push_piece(&mut edges, q_hi * QUARTER, to);
            } else {
                push_piece(&mut edges, from, to);
            }
        };
        let (days, day_span) = split_by_days(ranges, offset, split);
        TotalsPlan {
            ranges,
            offset,
            days,
            day_span,
            quarters,
            edges,
            out: vec![Totals::default(); ranges.len()],
        }
    }

    /// A row of the day sums (read from [`TotalsPlan::day_span`]).
    pub fn add_day(&mut self, day: i64, t: &Totals) {
        if let Some(i) = range_of(self.ranges, day_start(day, self.offset)) {
            if (self.days[i].0..self.days[i].1).contains(&day) {
                self.out[i] = self.out[i].plus(t);
            }
        }
    }

    /// A row of the quarter sums (read from [`TotalsPlan::quarters`]).
    pub fn add_quarter(&mut self, quarter: i64, t: &Totals) {
        self.add_at(quarter * QUARTER, t);
    }

    /// A session of an edge (read from [`TotalsPlan::edges`]), by its start.
    pub fn add_at(&mut self, start_time: i64, t: &Totals) {
        if let Some(i) = range_of(self.ranges, start_time) {
            self.out[i] = self.out[i].plus(t);
        }
    }

    /// The totals of each range.
    pub fn totals(self) -> Vec<Totals> {
        self.out
    }
}

/// How the distinct field and remote devices with sessions starting in sorted, disjoint ranges are
/// counted, the same on every backend: the whole local days of each range from `device_months`
/// ([`ActivePlan::months`], one index range), the pieces of days at the edges from the sessions
/// themselves ([`ActivePlan::pieces`]). Distinct counts do not add up, so the devices are kept in
/// sets, numbered as they come (the sets hold numbers, not strings).
pub struct ActivePlan<'a> {
    ranges: &'a [(i64, i64)],
    /// Each range's whole local days [first, last).
    whole: Vec<(i64, i64)>,
    /// The local months [first, last] to read from the month rows, if any.
    pub months: Option<(i64, i64)>,
    /// Times [from, to) whose sessions are read one by one.
    pub pieces: Vec<(i64, i64)>,
    numbers: std::collections::HashMap<String, usize>,
    seen: Vec<[std::collections::HashSet<usize>; 2]>,
}

impl<'a> ActivePlan<'a> {
    pub fn new(ranges: &'a [(i64, i64)], offset: i64) -> Result<ActivePlan<'a>> {
        debug_assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0));
        let mut pieces = Vec::new();
        let (whole, span) =
            split_by_days(ranges, offset, |from, to| push_piece(&mut pieces, from, to));
        let months = match span {
            Some((lo, hi)) => Some((month_of(lo)?.0, month_of(hi - 1)?.0)),
            None => None,
        };
        Ok(ActivePlan {
            ranges,
            whole,
            months,
            pieces,
            numbers: Default::default(),
            seen: vec![Default::default(); ranges.len()],
        })
    }

    fn number(&mut self, id: &str) -> usize {
        let next = self.numbers.len();
        *self.numbers.entry(id.to_owned()).or_insert(next)
    }

    /// A month row: the device of `role` ([`FIELD`], [`REMOTE`]) had sessions on the days whose
    /// bits `days` has; it counts in each range whose whole days hold one of them.
    pub fn add_month(&mut self, month: i64, role: i64, days: i64, id: &str) -> Result<()> {
        let (first, end) = (month_start(month)?, month_start(month + 1)?);
        let n = self.number(id);
        // The ranges whose whole days meet this month (`whole` is sorted like the ranges).
        let mut i = self.whole.partition_point(|(_, last)| *last <= first);
        while i < self.whole.len() && self.whole[i].0 < end {
            let w = self.whole[i];
            let (a, b) = (w.0.max(first) - first, w.1.min(end) - first);
            if a < b && days & ((1i64 << b) - (1i64 << a)) != 0 {
                self.seen[i][usize::from(role == REMOTE)].insert(n);
            }
            i += 1;
        }
        Ok(())
    }

    /// A session of a piece, by its start and devices.
    pub fn add_session(&mut self, start_time: i64, field: &str, remote: &str) {
        if let Some(i) = range_of(self.ranges, start_time) {
            let (f, r) = (self.number(field), self.number(remote));
            self.seen[i][0].insert(f);
            self.seen[i][1].insert(r);
        }
    }

    /// (field devices, remote devices) of each range.
    pub fn counts(self) -> Vec<(i64, i64)> {
        self.seen
            .iter()
            .map(|[f, r]| (f.len() as i64, r.len() as i64))
            .collect()
    }
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

    #[test]
    fn months_of_days_outside_the_calendar_are_errors() {
        let last = day_of(crate::model::LATEST, 8 * 3600);
        let (month, _) = month_of(last).unwrap();
        assert_eq!(month, 10_000 * 12); // January of year 10000 at +08:00
        assert!(month_start(month + 1).unwrap() > last);
        for day in [(1i64 << 43) / DAY, i64::MAX, i64::MIN] {
            assert!(month_of(day).is_err(), "{day}");
        }
        assert!(month_start(i64::MAX).is_err());
    }
}
