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

use super::quality::Grade;
use super::{AccountId, Domain};
use crate::errors::DomainError;
use crate::store::SessionFacts;
use chrono::{Datelike, FixedOffset, TimeZone, Timelike};
use std::collections::HashSet;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub session_num: i64,
    pub total_minutes: i64,
    pub active_field: i64,
    pub active_remote: i64,
    /// Whole percent (rounded down) of sessions that are good or normal; 0 without sessions.
    pub not_bad_ratio: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
    Month,
}

/// Minutes by usage class (video classes indexed SD, HD, FHD, 2K, 4K).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub voice: i64,
    pub video: [i64; 5],
    pub online: i64,
    pub multi_voice: i64,
    pub multi_video: [i64; 5],
    pub multi_online: i64,
}

impl Usage {
    pub const COLUMNS: usize = 14;

    /// The vendor's weights (docs/api.md §6): Online 1, SD 3, HD 5, FHD 12, 2K 24, 4K 48, multi ×1.2.
    pub fn deduct(&self) -> i64 {
        const W: [f64; 5] = [3.0, 5.0, 12.0, 24.0, 48.0];
        let single: f64 = (self.online + self.voice) as f64
            + self
                .video
                .iter()
                .zip(W)
                .map(|(m, w)| *m as f64 * w)
                .sum::<f64>();
        let multi: f64 = (self.multi_online + self.multi_voice) as f64
            + self
                .multi_video
                .iter()
                .zip(W)
                .map(|(m, w)| *m as f64 * w)
                .sum::<f64>();
        (single + multi * 1.2).round() as i64
    }

    /// A flat form for storage: voice, SD..4K, online, then the same for multi-network.
    pub fn to_columns(&self) -> [i64; Usage::COLUMNS] {
        let mut c = [0; Usage::COLUMNS];
        c[0] = self.voice;
        c[1..6].copy_from_slice(&self.video);
        c[6] = self.online;
        c[7] = self.multi_voice;
        c[8..13].copy_from_slice(&self.multi_video);
        c[13] = self.multi_online;
        c
    }

    pub fn from_columns(c: [i64; Usage::COLUMNS]) -> Usage {
        let five = |s: &[i64]| [s[0], s[1], s[2], s[3], s[4]];
        Usage {
            voice: c[0],
            video: five(&c[1..6]),
            online: c[6],
            multi_voice: c[7],
            multi_video: five(&c[8..13]),
            multi_online: c[13],
        }
    }

    fn plus(&self, o: &Usage, sign: i64) -> Usage {
        let (a, b) = (self.to_columns(), o.to_columns());
        Usage::from_columns(std::array::from_fn(|i| a[i] + sign * b[i]))
    }
}

/// What sessions add up to: the sums behind statistics and usage. Additive, so the store keeps them
/// per quarter hour of session start and any window is a sum (docs/storage.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub sessions: i64,
    pub minutes: i64,
    pub not_bad: i64,
    pub usage: Usage,
}

impl Totals {
    /// One session's share.
    pub fn of(f: &SessionFacts) -> Totals {
        let minutes = session_minutes(f);
        let online: i64 = f.part_seconds.iter().map(|s| ceil_minutes(*s)).sum();
        let multi = f.multi_mode == 1;
        let mut u = Usage::default();
        match (class_of(f), multi) {
            (None, false) => u.voice += minutes,
            (None, true) => u.multi_voice += minutes,
            (Some(c), false) => u.video[c] += minutes,
            (Some(c), true) => u.multi_video[c] += minutes,
        }
        if multi {
            u.multi_online += online;
        } else {
            u.online += online;
        }
        let grade = Grade::parse(&f.quality).unwrap_or(Grade::Good);
        Totals {
            sessions: 1,
            minutes,
            not_bad: i64::from(grade != Grade::Bad),
            usage: u,
        }
    }

    pub fn plus(&self, o: &Totals) -> Totals {
        self.combine(o, 1)
    }

    pub fn minus(&self, o: &Totals) -> Totals {
        self.combine(o, -1)
    }

    fn combine(&self, o: &Totals, sign: i64) -> Totals {
        Totals {
            sessions: self.sessions + sign * o.sessions,
            minutes: self.minutes + sign * o.minutes,
            not_bad: self.not_bad + sign * o.not_bad,
            usage: self.usage.plus(&o.usage, sign),
        }
    }

    pub fn statistics(&self, active_field: i64, active_remote: i64) -> Statistics {
        Statistics {
            session_num: self.sessions,
            total_minutes: self.minutes,
            active_field,
            active_remote,
            // Rounded down, as quality::not_bad_session_ratio.
            not_bad_ratio: if self.sessions == 0 {
                0
            } else {
                self.not_bad * 100 / self.sessions
            },
        }
    }
}

fn ceil_minutes(seconds: i64) -> i64 {
    (seconds.max(0) + 59) / 60
}

fn session_minutes(f: &SessionFacts) -> i64 {
    ceil_minutes(f.end_time - f.start_time)
}

/// 0 SD, 1 HD, 2 FHD, 3 2K, 4 4K; None without video.
fn class_of(f: &SessionFacts) -> Option<usize> {
    let (w, h) = if f.config_width > 0 && f.config_height > 0 {
        (f.config_width, f.config_height)
    } else {
        (f.width, f.height)
    };
    if w <= 0 || h <= 0 {
        return None;
    }
    let pixels = w * h;
    const LIMITS: [i64; 4] = [640 * 480, 1280 * 720, 1920 * 1080, 2560 * 1440];
    Some(LIMITS.iter().position(|l| pixels <= *l).unwrap_or(4))
}

/// The start of the bucket holding `t`, and the start of the next one.
pub fn bucket(tz: FixedOffset, interval: Interval, t: i64) -> (i64, i64) {
    let local = tz.timestamp_opt(t, 0).single().expect("valid timestamp");
    let day = local.date_naive();
    let at = |d: chrono::NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .unwrap()
            .timestamp()
    };
    match interval {
        Interval::Hour => {
            let start = t - i64::from(local.minute()) * 60 - i64::from(local.second());
            (start, start + 3600)
        }
        Interval::Day => {
            let start = at(day);
            (start, start + 86_400)
        }
        Interval::Month => {
            let first = day.with_day(1).expect("day 1");
            let next = if first.month() == 12 {
                first
                    .with_year(first.year() + 1)
                    .and_then(|d| d.with_month(1))
            } else {
                first.with_month(first.month() + 1)
            }
            .expect("valid month");
            (at(first), at(next))
        }
    }
}

/// The buckets covering [from, to), cut to it at both ends.
fn buckets(tz: FixedOffset, interval: Interval, from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let (start, next) = bucket(tz, interval, t);
        out.push((start.max(from), next.min(to)));
        t = next;
    }
    out
}

/// Which sessions a statistic covers: a project's, optionally one device's, starting in [from, to).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub project_id: &'a str,
    pub device_id: Option<&'a str>,
    pub from: i64,
    pub to: i64,
}

/// Totals and (for statistics) active devices per range, from the store's quarter-hour sums or, for
/// one device, from its sessions directly.
struct Ranged {
    totals: Vec<Totals>,
    active: Vec<(i64, i64)>,
}

impl Domain {
    async fn ranged(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        ranges: &[(i64, i64)],
        with_devices: bool,
    ) -> Result<Ranged, DomainError> {
        self.project(account, scope.project_id).await?;
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
            let mut totals = vec![Totals::default(); ranges.len()];
            let mut devices: Vec<(HashSet<&str>, HashSet<&str>)> =
                vec![Default::default(); ranges.len()];
            for f in &facts {
                if let Some(i) = ranges
                    .iter()
                    .position(|(s, e)| (*s..*e).contains(&f.start_time))
                {
                    totals[i] = totals[i].plus(&Totals::of(f));
                    devices[i].0.insert(&f.field_device_id);
                    devices[i].1.insert(&f.remote_device_id);
                }
            }
            let active = devices
                .iter()
                .map(|(f, r)| (f.len() as i64, r.len() as i64))
                .collect();
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

    pub async fn statistics(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
    ) -> Result<Statistics, DomainError> {
        let r = self
            .ranged(account, scope, &[(scope.from, scope.to)], true)
            .await?;
        Ok(r.totals[0].statistics(r.active[0].0, r.active[0].1))
    }

    /// Statistics per non-empty bucket, oldest first: (bucket start, next bucket start, statistics).
    pub async fn statistics_by_interval(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        interval: Interval,
        tz: FixedOffset,
    ) -> Result<Vec<(i64, i64, Statistics)>, DomainError> {
        let ranges = buckets(tz, interval, scope.from, scope.to);
        let r = self.ranged(account, scope, &ranges, true).await?;
        Ok(ranges
            .iter()
            .zip(r.totals.iter().zip(&r.active))
            .filter(|(_, (t, _))| t.sessions > 0)
            .map(|(range, (t, a))| {
                let (start, next) = bucket(tz, interval, range.0);
                (start, next, t.statistics(a.0, a.1))
            })
            .collect())
    }

    pub async fn usage(&self, account: &AccountId, scope: Scope<'_>) -> Result<Usage, DomainError> {
        let r = self
            .ranged(account, scope, &[(scope.from, scope.to)], false)
            .await?;
        Ok(r.totals[0].usage)
    }

    /// Usage per day (configured time zone) with sessions, oldest first.
    pub async fn usage_by_day(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        tz: FixedOffset,
    ) -> Result<Vec<(i64, Usage)>, DomainError> {
        let ranges = buckets(tz, Interval::Day, scope.from, scope.to);
        let r = self.ranged(account, scope, &ranges, false).await?;
        Ok(ranges
            .iter()
            .zip(&r.totals)
            .filter(|(_, t)| t.sessions > 0)
            .map(|(range, t)| (bucket(tz, Interval::Day, range.0).0, t.usage))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            quality: quality.into(),
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
            (1_719_331_200, 1_719_331_200 + 86_400)
        );
        assert_eq!(
            bucket(tz, Interval::Hour, t),
            (1_719_331_200, 1_719_334_800)
        );
        let (m0, m1) = bucket(tz, Interval::Month, t);
        assert_eq!(m0, 1_719_763_200 - 30 * 86_400); // 2024-06-01 00:00 +08:00
        assert_eq!(m1, 1_719_763_200); // 2024-07-01 00:00 +08:00
    }
}
