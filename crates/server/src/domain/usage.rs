//! Statistics and usage minutes over sessions: DescribeSessionStatistics(+ByInterval),
//! GetTotalDuration, GetDurationDetails. Semantics decided here (docs/semantics.md):
//! - a session counts in the window (or bucket) its StartTime falls in;
//! - a session's minutes are ceil((EndTime − StartTime) / 60): a started minute counts, as in billing;
//! - buckets (hour/day/month) and days follow the configured time zone (default +08:00);
//! - usage classes follow the field device's configured resolution (ConfigWidth×ConfigHeight, else
//!   Width×Height) by pixel count: SD ≤ 640×480, HD ≤ 1280×720, FHD ≤ 1920×1080, 2K ≤ 2560×1440, 4K
//!   above; no video is Voice; multi-network sessions go to the Multi* columns (FIELD-NOTES, billing).
//! - Online is the minutes both devices spent in sessions (each part's minutes, summed);
//! - DeductDuration weighs minutes: Online 1, Voice 1, SD 3, HD 5, FHD 12, 2K 24, 4K 48, Multi* ×1.2.

use super::quality::{not_bad_session_ratio, Grade};
use super::{AccountId, Domain};
use crate::errors::DomainError;
use crate::store::SessionFacts;
use chrono::{Datelike, FixedOffset, TimeZone, Timelike};
use std::collections::{BTreeMap, HashSet};

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

/// Minutes by usage class; index by `Class`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub voice: i64,
    pub video: [i64; 5],
    pub online: i64,
    pub multi_video: [i64; 5],
    pub multi_online: i64,
    pub multi_voice: i64,
}

impl Usage {
    /// The vendor's weights (FIELD-NOTES): Online 1, SD 3, HD 5, FHD 12, 2K 24, 4K 48, multi ×1.2.
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

    fn add(&mut self, f: &SessionFacts) {
        let minutes = session_minutes(f);
        let online: i64 = f.part_seconds.iter().map(|s| ceil_minutes(*s)).sum();
        let class = class_of(f);
        let multi = f.multi_mode == 1;
        match (class, multi) {
            (None, false) => self.voice += minutes,
            (None, true) => self.multi_voice += minutes,
            (Some(c), false) => self.video[c] += minutes,
            (Some(c), true) => self.multi_video[c] += minutes,
        }
        if multi {
            self.multi_online += online;
        } else {
            self.online += online;
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

fn statistics(facts: &[&SessionFacts]) -> Statistics {
    let field: HashSet<&str> = facts.iter().map(|f| f.field_device_id.as_str()).collect();
    let remote: HashSet<&str> = facts.iter().map(|f| f.remote_device_id.as_str()).collect();
    let grades: Vec<Grade> = facts
        .iter()
        .map(|f| Grade::parse(&f.quality).unwrap_or(Grade::Good))
        .collect();
    let n = facts.len() as i64;
    Statistics {
        session_num: n,
        total_minutes: facts.iter().map(|f| session_minutes(f)).sum(),
        active_field: field.len() as i64,
        active_remote: remote.len() as i64,
        not_bad_ratio: not_bad_session_ratio(&grades),
    }
}

/// The start of the bucket holding `t`, and the start of the next one.
pub fn bucket(tz: FixedOffset, interval: Interval, t: i64) -> (i64, i64) {
    let local = tz.timestamp_opt(t, 0).single().expect("valid timestamp");
    let day = local.date_naive();
    match interval {
        Interval::Hour => {
            let start = t - i64::from(local.minute()) * 60 - i64::from(local.second());
            (start, start + 3600)
        }
        Interval::Day => {
            let start = tz
                .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
                .unwrap()
                .timestamp();
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
            let at = |d: chrono::NaiveDate| {
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
                    .unwrap()
                    .timestamp()
            };
            (at(first), at(next))
        }
    }
}

/// Which sessions a statistic covers: a project's, optionally one device's, starting in [from, to).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub project_id: &'a str,
    pub device_id: Option<&'a str>,
    pub from: i64,
    pub to: i64,
}

impl Domain {
    async fn facts(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
    ) -> Result<Vec<SessionFacts>, DomainError> {
        self.project(account, scope.project_id).await?;
        Ok(self
            .store
            .session_facts(
                account,
                scope.project_id,
                scope.device_id,
                scope.from,
                scope.to,
            )
            .await?)
    }

    pub async fn statistics(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
    ) -> Result<Statistics, DomainError> {
        let facts = self.facts(account, scope).await?;
        Ok(statistics(&facts.iter().collect::<Vec<_>>()))
    }

    /// Statistics per non-empty bucket, oldest first: (bucket start, next bucket start, statistics).
    pub async fn statistics_by_interval(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        interval: Interval,
        tz: FixedOffset,
    ) -> Result<Vec<(i64, i64, Statistics)>, DomainError> {
        let facts = self.facts(account, scope).await?;
        let mut buckets: BTreeMap<(i64, i64), Vec<&SessionFacts>> = BTreeMap::new();
        for f in &facts {
            buckets
                .entry(bucket(tz, interval, f.start_time))
                .or_default()
                .push(f);
        }
        Ok(buckets
            .into_iter()
            .map(|((s, e), fs)| (s, e, statistics(&fs)))
            .collect())
    }

    pub async fn usage(&self, account: &AccountId, scope: Scope<'_>) -> Result<Usage, DomainError> {
        let facts = self.facts(account, scope).await?;
        let mut u = Usage::default();
        facts.iter().for_each(|f| u.add(f));
        Ok(u)
    }

    /// Usage per day (configured time zone) with sessions, oldest first.
    pub async fn usage_by_day(
        &self,
        account: &AccountId,
        scope: Scope<'_>,
        tz: FixedOffset,
    ) -> Result<Vec<(i64, Usage)>, DomainError> {
        let facts = self.facts(account, scope).await?;
        let mut days: BTreeMap<i64, Usage> = BTreeMap::new();
        for f in &facts {
            days.entry(bucket(tz, Interval::Day, f.start_time).0)
                .or_default()
                .add(f);
        }
        Ok(days.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut u = Usage::default();
        u.add(&facts(0, 61, 1280, 720, 0, "good")); // HD, 2 minutes; online 2 + 1
        u.add(&facts(0, 600, 1920, 1536, 1, "bad")); // 2.95 Mpx: 2K, multi, 10 minutes; online 10 + 10
        u.add(&facts(0, 120, 0, 0, 0, "good")); // voice, 2 minutes; online 2 + 2
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
