//! What the benchmark prints: one row per figure, next to its target and its baselines, with PASS or
//! MISS; the same as JSON with `--json`. Also the small measuring helpers (percentiles, RSS).

use serde::Serialize;
use std::time::Duration;

/// Nearest-rank percentile (`q` in 0..=1) of unsorted samples; 0 for none.
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 and p99 in milliseconds.
pub fn p50_p99(samples: &[Duration]) -> (f64, f64) {
    (ms(percentile(samples, 0.50)), ms(percentile(samples, 0.99)))
}

/// A line of /proc/self/status in MiB (`VmHWM`, `VmRSS`).
pub fn status_mib(field: &str) -> f64 {
    proc_status_mib("self", field)
}

/// A line of /proc/<pid>/status in MiB; 0 where it cannot be read.
pub fn proc_status_mib(pid: &str, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Reset `VmHWM` to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`), so that each phase's
/// peak can be read; false where that is not supported.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", content = "limit", rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub figure: String,
    pub value: f64,
    pub unit: &'static str,
    pub target: Option<Target>,
    /// Baseline name and its value for the same measurement.
    pub baselines: Vec<(String, f64)>,
    /// Errors seen while measuring it (a figure with errors is reported as ERROR).
    pub errors: u64,
    pub note: String,
}

impl Row {
    pub fn new(figure: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            figure: figure.into(),
            value,
            unit,
            target: None,
            baselines: Vec::new(),
            errors: 0,
            note: String::new(),
        }
    }
    pub fn target(mut self, t: Target) -> Row {
        self.target = Some(t);
        self
    }
    pub fn baseline(mut self, name: &str, v: f64) -> Row {
        self.baselines.push((name.to_owned(), v));
        self
    }
    pub fn errors(mut self, n: u64) -> Row {
        self.errors = n;
        self
    }
    pub fn note(mut self, n: impl Into<String>) -> Row {
        self.note = n.into();
        self
    }
    pub fn note_append(mut self, n: &str) -> Row {
        self.note.push_str(n);
        self
    }

    pub fn result(&self) -> &'static str {
        if self.errors > 0 {
            return "ERROR";
        }
        match self.target {
            None => "-",
            Some(Target::AtLeast(t)) if self.value >= t => "PASS",
            Some(Target::AtMost(t)) if self.value <= t => "PASS",
            Some(_) => "MISS",
        }
    }
}

/// Numbers as people read them: thousands separated, few decimals.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn fmt_target(t: Option<Target>) -> String {
    match t {
        None => String::new(),
        Some(Target::AtLeast(v)) => format!(">= {}", fmt_num(v)),
        Some(Target::AtMost(v)) => format!("<= {}", fmt_num(v)),
    }
}

/// The table: figure, value, unit, target, baselines, result; notes under it.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let w = rows
        .iter()
        .map(|r| r.figure.len())
        .max()
        .unwrap_or(10)
        .max(6);
    out.push_str(&format!(
        "{:<w$}  {:>12}  {:<10}  {:<12}  {:<34}  {}\n",
        "figure", "value", "unit", "target", "baselines", "result"
    ));
    out.push_str(&format!("{}\n", "-".repeat(w + 12 + 10 + 12 + 34 + 16)));
    for r in rows {
        let baselines = r
            .baselines
            .iter()
            .map(|(n, v)| format!("{n} {}", fmt_num(*v)))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "{:<w$}  {:>12}  {:<10}  {:<12}  {:<34}  {}\n",
            r.figure,
            fmt_num(r.value),
            r.unit,
            fmt_target(r.target),
            baselines,
            r.result()
        ));
        for line in wrap(&r.note, 100) {
            out.push_str(&format!("{:<w$}    {line}\n", ""));
        }
    }
    out
}

/// Splits a note at "; " into lines of about `width` characters.
fn wrap(note: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in note.split("; ").filter(|p| !p.is_empty()) {
        match lines.last_mut() {
            Some(line) if line.len() + 2 + part.len() <= width => {
                line.push_str("; ");
                line.push_str(part);
            }
            _ => lines.push(part.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| Duration::from_millis(v);
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        assert_eq!(percentile(&samples, 0.50), ms(50));
        assert_eq!(percentile(&samples, 0.99), ms(99));
        assert_eq!(percentile(&samples, 1.0), ms(100));
        assert_eq!(percentile(&samples, 0.0), ms(1));
        assert_eq!(percentile(&[ms(7)], 0.99), ms(7));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        // Ten samples: p99 is the largest, p50 the fifth.
        let ten: Vec<Duration> = (1..=10).map(ms).collect();
        assert_eq!(percentile(&ten, 0.99), ms(10));
        assert_eq!(percentile(&ten, 0.5), ms(5));
    }

    #[test]
    fn targets_and_numbers() {
        let r = Row::new("x", 120_000.0, "samples/s").target(Target::AtLeast(100_000.0));
        assert_eq!(r.result(), "PASS");
        assert_eq!(r.clone().errors(1).result(), "ERROR");
        assert_eq!(
            Row::new("y", 12.0, "ms")
                .target(Target::AtMost(10.0))
                .result(),
            "MISS"
        );
        assert_eq!(fmt_num(1_234_567.0), "1,234,567");
        assert_eq!(fmt_num(1.234), "1.23");
        assert_eq!(wrap("aaa; bbb; ccc", 8), vec!["aaa; bbb", "ccc"]);
        assert!(wrap("", 8).is_empty());
    }
}
