//! Where the CPU of one `ReportSessionMetrics` goes, stage by stage, measured in process on one
//! thread (no HTTP, no database): signature check, parameter decoding, samples to columns, sample
//! encoding, and the decoding a read does. It explains the decode-only ceiling.

use super::generate::Series;
use std::time::{Duration, Instant};
use teleoscope_protocol::sign::{tc3, utc_date};
use teleoscope_protocol::wire::{decode_json, ReportSessionMetricsRequest};
use teleoscope_server::actions::device::sample_in;
use teleoscope_server::domain::sessions::{columns_from_samples, SampleIn};
use teleoscope_server::store::codec;

/// (stage, microseconds per request) for requests of `batch` samples.
pub struct Stage {
    pub name: &'static str,
    pub micros: f64,
}

/// Runs `f` for about `budget` (at least 20 times); microseconds per call.
fn per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    let mut n = 0u64;
    while n < 20 || started.elapsed() < budget {
        f();
        n += 1;
    }
    started.elapsed().as_secs_f64() * 1e6 / n as f64
}

pub fn measure(series: &Series, batch: usize) -> anyhow::Result<Vec<Stage>> {
    let budget = Duration::from_millis(300);
    let head = super::generate::report_head("remote_000", 1_700_000_000, true);
    let body = super::generate::report_body("stage-1", &head, &series.samples[..batch], false);
    let mut stages = Vec::new();

    // The server's side of TC3: parse the header, derive the key, hash the body, two HMACs.
    let ts = chrono::Utc::now().timestamp();
    let key = "0123456789abcdef";
    let auth_header = tc3::authorization(
        "p:field_000",
        key,
        "trro",
        ts,
        &utc_date(ts),
        "POST",
        "",
        &[
            ("content-type", "application/json"),
            ("host", "127.0.0.1:1"),
        ],
        &body,
        false,
    );
    let ts_text = ts.to_string();
    let micros = per_call(budget, || {
        let auth = tc3::parse_authorization(&auth_header).expect("valid header");
        let req = tc3::SignedRequest {
            method: "POST",
            query: "",
            headers: vec![
                ("content-type", "application/json"),
                ("host", "127.0.0.1:1"),
            ],
            payload: tc3::Payload::Body(&body),
            unsigned_payload: false,
            timestamp: &ts_text,
        };
        assert!(tc3::verify(&req, &auth, key) && auth.date == utc_date(ts));
    });
    stages.push(Stage {
        name: "TC3 signature check",
        micros,
    });

    let micros = per_call(budget, || {
        let r: ReportSessionMetricsRequest = decode_json(&body).expect("valid body");
        assert_eq!(r.Samples.len(), batch);
    });
    stages.push(Stage {
        name: "decode_json (typed; the schema walk only on refusal)",
        micros,
    });

    let req: ReportSessionMetricsRequest =
        decode_json(&body).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let micros = per_call(budget, || {
        let samples: Vec<SampleIn> = req.Samples.iter().map(sample_in).collect();
        let c = columns_from_samples(samples).expect("valid samples");
        assert_eq!(c.len(), batch);
    });
    stages.push(Stage {
        name: "samples to columns",
        micros,
    });

    let columns = columns_from_samples(req.Samples.iter().map(sample_in).collect())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let micros = per_call(budget, || {
        let e = codec::encode_with(&columns, codec::Effort::Quick);
        assert!(!e.is_empty());
    });
    stages.push(Stage {
        name: "codec::encode_with(Quick) (a report's chunk)",
        micros,
    });

    let encoded = codec::encode(&columns);
    let micros = per_call(budget, || {
        let c = codec::decode(&encoded).expect("own encoding");
        assert_eq!(c.len(), batch);
    });
    stages.push(Stage {
        name: "codec::decode (read side)",
        micros,
    });
    Ok(stages)
}
