// Temporary timing harness (not committed).
use std::time::Instant;
use teleoscope::domain::usage::{bucket, Interval};
use teleoscope::domain::AccountId;

#[tokio::main]
async fn main() {
    let path = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let store = teleoscope::store::open(&format!("sqlite://{path}"), 8 * 3600).unwrap();
    println!("open {:?}", t.elapsed());
    let a = AccountId("142788307052".into());
    let p = "rt1nahhonozd56gk";
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let to = 20787 * 86400 - 8 * 3600;
    let from = to - 365 * 86400 + 1234;
    let mut days = vec![];
    let mut t0 = from;
    while t0 < to {
        let (_, n) = bucket(tz, Interval::Day, t0);
        days.push((t0, n.min(to)));
        t0 = n;
    }
    let mut months = vec![];
    let mut t0 = from;
    while t0 < to {
        let (_, n) = bucket(tz, Interval::Month, t0);
        months.push((t0, n.min(to)));
        t0 = n;
    }
    for (name, ranges) in [
        ("year", vec![(from, to)]),
        ("months", months),
        ("days", days),
    ] {
        for _ in 0..3 {
            let t = Instant::now();
            let tot = store.session_totals(&a, p, &ranges).await.unwrap();
            let t1 = t.elapsed();
            let t = Instant::now();
            let act = store.active_devices(&a, p, &ranges).await.unwrap();
            let t2 = t.elapsed();
            println!(
                "{name}: {} ranges, totals {:?} ({} sessions), active {:?} ({:?})",
                ranges.len(),
                t1,
                tot.iter().map(|t| t.sessions).sum::<i64>(),
                t2,
                act[0]
            );
        }
    }
}
