//! Statistics and usage minutes over sessions: DescribeSessionStatistics(+ByInterval),
//! GetTotalDuration, GetDurationDetails. Semantics decided here (docs/api.md §6):
//! - a session counts in the window (or bucket) its StartTime falls in;
//! - a session's minutes are ceil((EndTime − StartTime) / 60): a started minute counts, as in billing;
//! - buckets (hour/day/month) and days follow the configured time zone (default +08:00);
//! - usage classes follow the field device's configured resolution (ConfigWidth×ConfigHeight, else
//!   Width×Height) by pixel count: SD ≤ 640×480, HD ≤ 1280×720, FHD ≤ 1920×1080, 2K ≤ 2560×1440, 4K
//!   above; no video is Voice; multi-network sessions go to the Multi* columns (the vendor's billing classes).
//! - Online is the minutes both devices spent in sessions (each part's minutes, summed);
//! - DeductDuration weighs minutes: Online 1, Voice 1, SD 3, HD 5, FHD 12, 2K 24, 4K 48, Multi* ×1.2.

use super::clock::{self, TIME_RANGE};
use super::Domain;
use crate::errors::DomainError;
use crate::model::sessions::SessionFacts;
use crate::model::usage::{Grain, Statistics, Totals, Usage};
use crate::model::{AccountId, Page};
use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};
use std::collections::{BTreeMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
    Month,
}

/// The start of the bucket holding `t`, and the start of the next one; `None` outside the calendar
/// chrono holds (about ±262,000 years: far beyond [`clock::LATEST`], which the actions enforce).
pub fn bucket(tz: FixedOffset, interval: Interval, t: i64) -> Option<(i64, i64)> {
    let local = tz.timestamp_opt(t, 0).single()?;
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .single()
            .map(|t| t.timestamp())
    };
    match interval {
        Interval::Hour => {
            let start = t - i64::from(local.minute()) * 60 - i64::from(local.second());
            Some((start, start.checked_add(3600)?))
        }
        Interval::Day => {
            let day = local.date_naive();
            Some((at(day)?, at(day.succ_opt()?)?))
        }
        Interval::Month => {
            let (y, m) = (local.year(), local.month());
            let first = NaiveDate::from_ymd_opt(y, m, 1)?;
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y.checked_add(1)?, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            }?;
            Some((at(first)?, at(next)?))
        }
    }
}

fn bucket_at(tz: FixedOffset, interval: Interval, t: i64) -> Result<(i64, i64), DomainError> {
    bucket(tz, interval, t)
        .ok_or_else(|| DomainError::invalid("StartTime", t.to_string(), TIME_RANGE))
}

/// The most buckets one DescribeSessionStatisticsByInterval answer holds: a leap year of hours
/// (366 × 24). The vendor documents no bound (api.json: `StatisticInterval` hour|day|month,
/// `StartTime`/`EndTime` optional seconds), and its own example on the action's page
/// (cloud.tencent.com/document/api/1584/89824) asks for hours from `StartTime` 0 to 1670000000:
/// so the bound is on buckets *with sessions* (the only ones an answer lists), not on the window.
/// Any window is accepted and the work follows its sessions. A year by hour is the longest regular
/// report; the answer stays under about 2 MB of JSON.
pub const MAX_BUCKETS: usize = 8784;

/// How many quarters or days with sessions [`Domain::busy_buckets`] reads from the store at a time.
const SPANS_PER_READ: usize = 4096;

/// Which sessions a statistic covers: a project's, optionally one device's, starting in [from, to).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub project_id: &'a str,
    pub device_id: Option<&'a str>,
    pub from: i64,
    pub to: i64,
}

impl Scope<'_> {
    /// The window holds at least a second and lies within the times a request may name; the
    /// actions check their parameters first (with their names), this keeps every caller honest.
    fn check(&self) -> Result<(), DomainError> {
        clock::time("StartTime", self.from)?;
        if self.to <= self.from || self.to > clock::LATEST + 1 {
            return Err(DomainError::invalid(
                "EndTime",
                self.to.saturating_sub(1).to_string(),
                format!(
                    "not before StartTime ({}) and at most {}",
                    self.from,
                    clock::LATEST
                ),
            ));
        }
        Ok(())
    }

    /// A bucket cut to the window.
    fn cut(&self, (start, next): (i64, i64)) -> (i64, i64) {
        (start.max(self.from), next.min(self.to))
    }

    fn too_many(&self, interval: Interval) -> DomainError {
        let unit = match interval {
            Interval::Hour => "hours",
            Interval::Day => "days",
            Interval::Month => "months",
        };
        DomainError::invalid(
            "EndTime",
            (self.to - 1).to_string(),
            format!(
                "from StartTime {} it makes a window with sessions in more than {MAX_BUCKETS} {unit}; \
                 one answer holds at most {MAX_BUCKETS} buckets with sessions: ask for a shorter window",
                self.from
            ),
        )
    }
}

/// The index of the range (sorted, disjoint) holding `t`, if any.
/// A group's totals and its active field and remote devices.
type Added = (Totals, (i64, i64));

/// Sessions added up per group (`group` gives a session's, or none to leave it out), with each group's
/// active field and remote devices: for one device's sessions, which are few.
fn add_up<K: Ord>(
    facts: &[SessionFacts],
    mut group: impl FnMut(&SessionFacts) -> Result<Option<K>, DomainError>,
) -> Result<BTreeMap<K, Added>, DomainError> {
    let mut by: BTreeMap<K, (Totals, HashSet<&str>, HashSet<&str>)> = BTreeMap::new();
    for f in facts {
        if let Some(k) = group(f)? {
            let (t, field, remote) = by.entry(k).or_default();
            *t = t.plus(&Totals::of(f));
            field.insert(&f.field_device_id);
            remote.insert(&f.remote_device_id);
        }
    }
    Ok(by
        .into_iter()
        .map(|(k, (t, f, r))| (k, (t, (f.len() as i64, r.len() as i64))))
        .collect())
}

fn range_of(ranges: &[(i64, i64)], t: i64) -> Option<usize> {
    let i = ranges.partition_point(|(_, to)| *to <= t);
    (i < ranges.len() && ranges[i].0 <= t).then_some(i)
}

/// Totals and (for statistics) active devices per range, from the store's quarter-hour sums or, for
/// one device, from its sessions directly.
struct Ranged {
    totals: Vec<Totals>,
    active: Vec<(i64, i64)>,
}

/// One bucket of one device's sessions: the whole bucket, its totals, its active devices.
type DeviceBucket = ((i64, i64), Totals, (i64, i64));

impl Domain {
    /// Totals (and active devices) of the scope's sessions in each of `ranges` (sorted, disjoint,
    /// inside the window). The caller has checked the scope and the project.
    async fn ranged(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        ranges: &[(i64, i64)],
        with_devices: bool,
    ) -> Result<Ranged, DomainError> {
        if let Some(device) = scope.device_id {
            // One device's sessions are few: add them up directly.
            let facts = self
                .store
                .session_facts(
                    account,
                    scope.project_id,
                    Some(device),
                    scope.from,
                    scope.to,
                )
                .await?;
            let mut by = add_up(&facts, |f| Ok(range_of(ranges, f.start_time)))?;
            let (totals, active) = (0..ranges.len())
                .map(|i| by.remove(&i).unwrap_or_default())
                .unzip();
            return Ok(Ranged { totals, active });
        }
        let totals = self
            .store
            .session_totals(account, scope.project_id, ranges)
            .await?;
        let active = if with_devices {
            let wanted: Vec<(i64, i64)> = ranges
                .iter()
                .zip(&totals)
                .filter(|(_, t)| t.sessions > 0)
                .map(|(r, _)| *r)
                .collect();
            let counted = self
                .store
                .active_devices(account, scope.project_id, &wanted)
                .await?;
            let mut it = counted.into_iter();
            totals
                .iter()
                .map(|t| {
                    if t.sessions > 0 {
                        it.next().unwrap_or_default()
                    } else {
                        (0, 0)
                    }
                })
                .collect()
        } else {
            vec![(0, 0); ranges.len()]
        };
        Ok(Ranged { totals, active })
    }

    /// One device's sessions in the window, added up per bucket with sessions, oldest first: the
    /// work is that of the device's sessions, whatever the window.
    async fn device_buckets(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        device: &str,
        interval: Interval,
        tz: FixedOffset,
    ) -> Result<Vec<DeviceBucket>, DomainError> {
        let facts = self
            .store
            .session_facts(
                account,
                scope.project_id,
                Some(device),
                scope.from,
                scope.to,
            )
            .await?;
        let by = add_up(&facts, |f| bucket_at(tz, interval, f.start_time).map(Some))?;
        Ok(by
            .into_iter()
            .map(|(bucket, (totals, active))| (bucket, totals, active))
            .collect())
    }

    /// Visits, oldest first, the buckets of `interval` (whole, not cut to the window) in which the
    /// scope's project has sessions starting, as long as `visit` answers true. They are found from
    /// the store's quarters (hour buckets) or local days (day and month buckets) with sessions, read
    /// a page at a time: the work follows the sessions, never the length of the window, and empty
    /// buckets are never made. The first and the last bucket may hold no session of the window (it
    /// may cut their quarters or days); every other one holds one, as the store's days are those of
    /// the configured time zone (`lib.rs` opens it so).
    async fn busy_buckets(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        interval: Interval,
        tz: FixedOffset,
        mut visit: impl FnMut((i64, i64)) -> bool + Send,
    ) -> Result<(), DomainError> {
        let grain = match interval {
            Interval::Hour => Grain::Quarter,
            Interval::Day | Interval::Month => Grain::Day,
        };
        let mut from = scope.from;
        let mut last = None;
        loop {
            let spans = self
                .store
                .session_spans(
                    account,
                    scope.project_id,
                    (from, scope.to),
                    grain,
                    SPANS_PER_READ,
                )
                .await?;
            for &(a, b) in &spans {
                let mut t = a.max(scope.from);
                while t < b.min(scope.to) {
                    let (start, next) = bucket_at(tz, interval, t)?;
                    if last != Some(start) {
                        last = Some(start);
                        if !visit((start, next)) {
                            return Ok(());
                        }
                    }
                    t = next;
                }
            }
            match spans.last() {
                Some(&(_, end)) if spans.len() == SPANS_PER_READ => from = end,
                _ => return Ok(()),
            }
        }
    }

    pub async fn statistics(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
    ) -> Result<Statistics, DomainError> {
        scope.check()?;
        self.project(account, scope.project_id).await?;
        let r = self
            .ranged(account, scope, &[(scope.from, scope.to)], true)
            .await?;
        Ok(r.totals[0].statistics(r.active[0].0, r.active[0].1))
    }

    /// Statistics per bucket with sessions, oldest first: (bucket start, next bucket start,
    /// statistics); at most [`MAX_BUCKETS`] of them, else `InvalidParameterValue` (EndTime).
    pub async fn statistics_by_interval(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        interval: Interval,
        tz: FixedOffset,
    ) -> Result<Vec<(i64, i64, Statistics)>, DomainError> {
        scope.check()?;
        self.project(account, scope.project_id).await?;
        let rows: Vec<(i64, i64, Statistics)> = if let Some(device) = scope.device_id {
            self.device_buckets(account, scope, device, interval, tz)
                .await?
                .into_iter()
                .map(|((start, next), t, a)| (start, next, t.statistics(a.0, a.1)))
                .collect()
        } else {
            // Two more than the bound: the first and the last may turn out empty.
            let mut busy = Vec::new();
            self.busy_buckets(account, scope, interval, tz, |b| {
                busy.push(b);
                busy.len() <= MAX_BUCKETS + 2
            })
            .await?;
            if busy.len() > MAX_BUCKETS + 2 {
                return Err(scope.too_many(interval));
            }
            let cut: Vec<(i64, i64)> = busy.iter().map(|b| scope.cut(*b)).collect();
            let r = self.ranged(account, scope, &cut, true).await?;
            busy.iter()
                .zip(r.totals.iter().zip(&r.active))
                .filter(|(_, (t, _))| t.sessions > 0)
                .map(|(b, (t, a))| (b.0, b.1, t.statistics(a.0, a.1)))
                .collect()
        };
        if rows.len() > MAX_BUCKETS {
            return Err(scope.too_many(interval));
        }
        Ok(rows)
    }

    pub async fn usage(&self, account: &AccountId, scope: Scope<'_>) -> Result<Usage, DomainError> {
        scope.check()?;
        self.project(account, scope.project_id).await?;
        let r = self
            .ranged(account, scope, &[(scope.from, scope.to)], false)
            .await?;
        Ok(r.totals[0].usage)
    }

    /// One page of the usage per day (configured time zone) with sessions, oldest first, and how
    /// many such days the window holds. Only the page's days are added up; the others are
    /// counted as the store's days with sessions go by, so a window of centuries costs what its
    /// sessions cost (GetDurationDetails pages by PageNum/PageSize, api.json).
    pub async fn usage_by_day(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        tz: FixedOffset,
        page: Page,
    ) -> Result<(u64, Vec<(i64, Usage)>), DomainError> {
        scope.check()?;
        self.project(account, scope.project_id).await?;
        let offset = page.number.saturating_sub(1).saturating_mul(page.size);
        if let Some(device) = scope.device_id {
            let days = self
                .device_buckets(account, scope, device, Interval::Day, tz)
                .await?;
            let list = days
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(page.size as usize)
                .map(|((start, _), t, _)| (*start, t.usage))
                .collect();
            return Ok((days.len() as u64, list));
        }
        // Kept: day 0 and the last day (the window's edges may leave them empty), and the days
        // offset..=offset + size (one more than the page: if day 0 is empty, the page moves on one).
        let (mut n, mut kept, mut last) = (0u64, Vec::new(), None);
        let through = offset.saturating_add(page.size);
        self.busy_buckets(account, scope, Interval::Day, tz, |b| {
            if n == 0 || (offset..=through).contains(&n) {
                kept.push((n, b));
            }
            last = Some((n, b));
            n += 1;
            true
        })
        .await?;
        if let Some(l) = last.filter(|l| kept.last().map(|k| k.0) != Some(l.0)) {
            kept.push(l);
        }
        let cut: Vec<(i64, i64)> = kept.iter().map(|(_, b)| scope.cut(*b)).collect();
        let r = self.ranged(account, scope, &cut, false).await?;
        let empty = |i: u64| {
            kept.iter()
                .zip(&r.totals)
                .any(|((k, _), t)| *k == i && t.sessions == 0)
        };
        let (first_empty, last_empty) = (n > 0 && empty(0), n > 1 && empty(n - 1));
        let total = n - u64::from(first_empty) - u64::from(last_empty);
        let from = offset.saturating_add(u64::from(first_empty));
        let list = kept
            .iter()
            .zip(&r.totals)
            .filter(|((k, _), t)| {
                (from..from.saturating_add(page.size)).contains(k) && t.sessions > 0
            })
            .map(|((_, (start, _)), t)| (*start, t.usage))
            .collect();
        Ok((total, list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quality::Grade;

    /// Statistics of a set of sessions, computed directly (one device's sessions, window edges).
    fn statistics(facts: &[&SessionFacts]) -> Statistics {
        let field: HashSet<&str> = facts.iter().map(|f| f.field_device_id.as_str()).collect();
        let remote: HashSet<&str> = facts.iter().map(|f| f.remote_device_id.as_str()).collect();
        let totals = facts
            .iter()
            .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
        totals.statistics(field.len() as i64, remote.len() as i64)
    }

    fn facts(start: i64, secs: i64, w: i64, h: i64, multi: i64, quality: &str) -> SessionFacts {
        SessionFacts {
            field_device_id: "f".into(),
            remote_device_id: "r".into(),
            start_time: start,
            end_time: start + secs,
            config_width: w,
            config_height: h,
            width: 0,
            height: 0,
            multi_mode: multi,
            quality: Grade::parse(quality).unwrap(),
            part_seconds: vec![secs, secs - 30],
        }
    }

    #[test]
    fn classes_minutes_and_weights() {
        let t = [
            facts(0, 61, 1280, 720, 0, "good"),  // HD, 2 minutes; online 2 + 1
            facts(0, 600, 1920, 1536, 1, "bad"), // 2.95 Mpx: 2K, multi, 10 minutes; online 10 + 10
            facts(0, 120, 0, 0, 0, "good"),      // voice, 2 minutes; online 2 + 2
        ]
        .iter()
        .fold(Totals::default(), |t, f| t.plus(&Totals::of(f)));
        let u = t.usage;
        assert_eq!((t.sessions, t.minutes, t.not_bad), (3, 14, 2));
        assert_eq!(Usage::from_columns(u.to_columns()), u);
        assert_eq!(
            t.minus(&Totals::of(&facts(0, 120, 0, 0, 0, "good")))
                .usage
                .voice,
            0
        );
        assert_eq!(u.video, [0, 2, 0, 0, 0]);
        assert_eq!(u.multi_video, [0, 0, 0, 10, 0]);
        assert_eq!(u.voice, 2);
        assert_eq!(u.online, 3 + 4);
        assert_eq!(u.multi_online, 20);
        // 7 online + 2 voice + 2×5 HD = 19; multi (20 + 10×24) × 1.2 = 312.
        assert_eq!(u.deduct(), 19 + 312);
    }

    #[test]
    fn statistics_by_hand() {
        let a = facts(0, 90, 640, 480, 0, "good");
        let b = facts(0, 30, 640, 480, 0, "bad");
        let mut c = facts(0, 600, 640, 480, 0, "normal");
        c.field_device_id = "f2".into();
        let s = statistics(&[&a, &b, &c]);
        assert_eq!(
            s,
            Statistics {
                session_num: 3,
                total_minutes: 2 + 1 + 10,
                active_field: 2,
                active_remote: 1,
                not_bad_ratio: 66
            }
        );
        assert_eq!(statistics(&[]).not_bad_ratio, 0);
    }

    #[test]
    fn buckets_follow_the_time_zone() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        // 2024-06-25T16:30:00Z is 2024-06-26 00:30 at +08:00.
        let t = 1_719_333_000;
        assert_eq!(
            bucket(tz, Interval::Day, t),
            Some((1_719_331_200, 1_719_331_200 + 86_400))
        );
        assert_eq!(
            bucket(tz, Interval::Hour, t),
            Some((1_719_331_200, 1_719_334_800))
        );
        let (m0, m1) = bucket(tz, Interval::Month, t).unwrap();
        assert_eq!(m0, 1_719_763_200 - 30 * 86_400); // 2024-06-01 00:00 +08:00
        assert_eq!(m1, 1_719_763_200); // 2024-07-01 00:00 +08:00
    }

    #[test]
    fn buckets_at_the_ends_of_the_calendar_and_beyond() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        for interval in [Interval::Hour, Interval::Day, Interval::Month] {
            // 9999-12-31T23:59:59Z is already 10000-01-01 at +08:00: still a bucket.
            for t in [0, clock::LATEST] {
                let (start, next) = bucket(tz, interval, t).unwrap();
                assert!(start <= t && t < next, "{interval:?} {t}");
            }
            // 2^43 s is past chrono's calendar: no bucket, and no panic.
            for t in [1 << 43, i64::MAX, i64::MIN] {
                assert_eq!(bucket(tz, interval, t), None, "{interval:?} {t}");
            }
        }
    }
}
