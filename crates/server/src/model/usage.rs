//! What sessions add up to for statistics and billing: minutes by usage class, and the additive totals
//! the store keeps per quarter hour and per day of session start. The rules (how a session's minutes and
//! class are counted) are the product's, stated in `domain::usage`.

use super::quality::Grade;
use super::sessions::SessionFacts;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub session_num: i64,
    pub total_minutes: i64,
    pub active_field: i64,
    pub active_remote: i64,
    /// Whole percent (rounded down) of sessions that are good or normal; 0 without sessions.
    pub not_bad_ratio: i64,
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
        let grade = f.quality;
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

/// The spans `Store::session_spans` answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Quarter,
    Day,
}
