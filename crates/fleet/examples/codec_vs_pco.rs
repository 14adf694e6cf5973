//! Our chunk codec (`store::codec`) against pco (pcodec, a library made for numeric columns) on the
//! bench's data: bytes per value, encode and decode time per value, for the chunks the store really
//! holds: a live report's chunk (1 or 15 samples; the store encodes it at `Effort::Quick`) and an
//! ended part compacted into one chunk (an hour at one sample every 2 s: 1,800 samples, at
//! `Effort::Smallest`). The table and the decision are in docs/storage.md.
//!
//! `cargo run --release -p teleoscope-fleet --example codec_vs_pco`
//!
//! Data: the bench's generator (`cli::bench::generate`) and the bench's devices: four field devices
//! with two links and four remote devices with one link, an hour each.
//!
//! pco encodes one numeric column per call, so the pco side is a whole chunk format around it
//! ([`pco_encode`]): our framing (sample count, metric ids, link ids and addresses) with every column
//! stored by pco's wrapped form (chunk metadata and one page), the lean form pco offers for embedding
//! in another format (no magic bytes or footer per column). Sizes count every byte of a chunk;
//! values count every array element, TimeOffset included (`Columns::value_count`). Every codec
//! must give back exactly the columns it was given, or the run stops.
//!
//! Timing: round after round, every codec encodes and decodes the same chunks (one device-hour) in
//! turn in this one process, and each figure adds up the median rounds of the device-hours: the
//! machine is shared and noisy, and this way the codecs share its noise.

use pco::data_types::Number;
use pco::wrapped::{FileCompressor, FileDecompressor};
use pco::ChunkConfig;
use std::hint::black_box;
use std::time::{Duration, Instant};
use teleoscope_fleet::bench::generate::Device;
use teleoscope_server::model::samples::{Columns, Metric, NetColumns};
use teleoscope_server::store::codec::{self, Effort};

/// The bench's devices (`cli/bench/ingest.rs`): seed and links.
const DEVICES: [(u64, usize); 8] = [
    (100, 2),
    (101, 2),
    (102, 2),
    (103, 2),
    (200, 1),
    (201, 1),
    (202, 1),
    (203, 1),
];
/// One hour at one sample every two seconds.
const HOUR: usize = 1800;
/// Samples per chunk: a live report of one sample, of 15 (half a minute), and a compacted hour.
const CHUNK_SAMPLES: [usize; 3] = [1, 15, HOUR];
/// Timed rounds per device-hour and case; the median is kept.
const ROUNDS: usize = 11;

#[derive(Clone, Copy)]
enum Codec {
    Ours(Effort),
    /// pco at this compression level (0 to 12; 8 is its default).
    Pco(usize),
}

const CODECS: [Codec; 6] = [
    Codec::Ours(Effort::Quick),
    Codec::Ours(Effort::Smallest),
    Codec::Pco(0),
    Codec::Pco(2),
    Codec::Pco(8),
    Codec::Pco(12),
];

impl Codec {
    fn name(self) -> String {
        match self {
            Codec::Ours(effort) => format!("ours, {effort:?}"),
            Codec::Pco(level) => format!("pco, level {level}"),
        }
    }

    fn encode(self, c: &Columns) -> Vec<u8> {
        match self {
            Codec::Ours(effort) => codec::encode_with(c, effort),
            Codec::Pco(level) => pco_encode(c, level),
        }
    }

    fn decode(self, bytes: &[u8]) -> Columns {
        match self {
            Codec::Ours(_) => codec::decode(bytes).expect("our chunk decodes"),
            Codec::Pco(_) => pco_decode(bytes),
        }
    }
}

fn main() {
    let hours: Vec<Columns> = DEVICES
        .iter()
        .map(|&(seed, links)| {
            let mut device = Device::new(seed, links);
            let samples = (0..HOUR)
                .map(|i| device.next(2 * i as i64).to_columns())
                .collect();
            codec::merge(samples).expect("one device's samples merge")
        })
        .collect();
    println!(
        "{} device-hours, medians of {ROUNDS} rounds per device-hour\n",
        hours.len()
    );
    println!("| samples per chunk | codec | bytes/value | encode ns/value | decode ns/value |");
    println!("| ---: | --- | ---: | ---: | ---: |");
    for samples in CHUNK_SAMPLES {
        let batches: Vec<Vec<Columns>> = hours
            .iter()
            .map(|hour| {
                (0..HOUR)
                    .step_by(samples)
                    .map(|start| {
                        let rows: Vec<usize> = (start..(start + samples).min(HOUR)).collect();
                        hour.select(&rows)
                    })
                    .collect()
            })
            .collect();
        for row in measure(&batches) {
            println!(
                "| {samples} | {} | {:.2} | {:.1} | {:.1} |",
                row.codec.name(),
                row.bytes_per_value,
                row.encode_ns,
                row.decode_ns
            );
        }
    }
}

struct Row {
    codec: Codec,
    bytes_per_value: f64,
    encode_ns: f64,
    decode_ns: f64,
}

/// Every codec on these batches of chunks (one batch per device-hour): sizes once, after checking
/// the round trip; times per batch as the median of [`ROUNDS`] rounds in which the codecs take
/// turns, added up over the batches. Short timed runs, many of them: on a busy machine most of them
/// run undisturbed, and the median is one of those.
fn measure(batches: &[Vec<Columns>]) -> Vec<Row> {
    let values: usize = batches.iter().flatten().map(Columns::value_count).sum();
    let mut bytes = [0; CODECS.len()];
    let mut encode = [Duration::ZERO; CODECS.len()];
    let mut decode = [Duration::ZERO; CODECS.len()];
    for chunks in batches {
        let encoded: Vec<Vec<Vec<u8>>> = CODECS
            .iter()
            .map(|codec| {
                let blobs: Vec<Vec<u8>> = chunks.iter().map(|c| codec.encode(c)).collect();
                for (c, blob) in chunks.iter().zip(&blobs) {
                    assert!(codec.decode(blob) == *c, "{} loses data", codec.name());
                }
                blobs
            })
            .collect();
        let mut encode_times = vec![Vec::new(); CODECS.len()];
        let mut decode_times = vec![Vec::new(); CODECS.len()];
        for _ in 0..ROUNDS {
            for (i, codec) in CODECS.iter().enumerate() {
                encode_times[i].push(timed(|| {
                    for c in chunks {
                        black_box(codec.encode(black_box(c)));
                    }
                }));
                decode_times[i].push(timed(|| {
                    for blob in &encoded[i] {
                        black_box(codec.decode(black_box(blob)));
                    }
                }));
            }
        }
        for i in 0..CODECS.len() {
            bytes[i] += encoded[i].iter().map(Vec::len).sum::<usize>();
            encode[i] += median(&mut encode_times[i]);
            decode[i] += median(&mut decode_times[i]);
        }
    }
    let per_value = |total: f64| total / values as f64;
    CODECS
        .iter()
        .enumerate()
        .map(|(i, &codec)| Row {
            codec,
            bytes_per_value: per_value(bytes[i] as f64),
            encode_ns: per_value(encode[i].as_nanos() as f64),
            decode_ns: per_value(decode[i].as_nanos() as f64),
        })
        .collect()
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

// ------------------------------------------------------------------------------------------------
// A chunk format around pco
// ------------------------------------------------------------------------------------------------

/// A chunk whose columns pco stores: pco's header (its format version), then as in ours
/// `n:uvarint time metric_count:u8 (id:u8 column)* net_count:uvarint
/// (net_id:ivarint ip_len:uvarint ip rtt lost send_bps recv_bps)*`, each column being pco's chunk
/// metadata and one page of `n` numbers (TimeOffset as `i64`, the rest as `f64`).
fn pco_encode(c: &Columns, level: usize) -> Vec<u8> {
    let config = ChunkConfig::default().with_compression_level(level);
    let file = FileCompressor::default();
    let mut out = file.write_header(Vec::new()).expect("pco header");
    put_uvarint(&mut out, c.len() as u64);
    put_column(&file, &config, &c.time_offset, &mut out);
    out.push(c.metrics.len() as u8);
    for (metric, values) in &c.metrics {
        out.push(*metric as u8);
        put_column(&file, &config, values, &mut out);
    }
    put_uvarint(&mut out, c.nets.len() as u64);
    for net in &c.nets {
        put_uvarint(&mut out, ((net.net_id << 1) ^ (net.net_id >> 63)) as u64);
        put_uvarint(&mut out, net.net_ip.len() as u64);
        out.extend_from_slice(net.net_ip.as_bytes());
        for values in [&net.rtt, &net.lost, &net.send_bps, &net.recv_bps] {
            put_column(&file, &config, values, &mut out);
        }
    }
    out
}

fn pco_decode(bytes: &[u8]) -> Columns {
    let (file, mut src) = FileDecompressor::new(bytes).expect("pco header");
    let n = get_uvarint(&mut src) as usize;
    let time_offset = get_column(&file, &mut src, n);
    let metric_count = take(&mut src, 1)[0];
    let mut metrics = Vec::with_capacity(metric_count as usize);
    for _ in 0..metric_count {
        let metric = Metric::from_u8(take(&mut src, 1)[0]).expect("a metric id");
        metrics.push((metric, get_column(&file, &mut src, n)));
    }
    let net_count = get_uvarint(&mut src);
    let mut nets = Vec::with_capacity(net_count as usize);
    for _ in 0..net_count {
        let zigzag = get_uvarint(&mut src);
        let ip_len = get_uvarint(&mut src) as usize;
        let net_ip = String::from_utf8(take(&mut src, ip_len).to_vec()).expect("a UTF-8 address");
        nets.push(NetColumns {
            net_id: (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64),
            net_ip,
            rtt: get_column(&file, &mut src, n),
            lost: get_column(&file, &mut src, n),
            send_bps: get_column(&file, &mut src, n),
            recv_bps: get_column(&file, &mut src, n),
        });
    }
    assert!(src.is_empty(), "bytes after the last pco column");
    Columns {
        time_offset,
        metrics,
        nets,
    }
}

fn put_column<T: Number>(
    file: &FileCompressor,
    config: &ChunkConfig,
    values: &[T],
    out: &mut Vec<u8>,
) {
    let mut chunk = file
        .chunk_compressor(values, config)
        .expect("pco compresses the column");
    chunk.write_meta(&mut *out).expect("pco chunk metadata");
    chunk.write_page(0, &mut *out).expect("pco page");
}

fn get_column<T: Number + Default>(file: &FileDecompressor, src: &mut &[u8], n: usize) -> Vec<T> {
    let (mut chunk, rest) = file
        .chunk_decompressor::<T, &[u8]>(src)
        .expect("pco chunk metadata");
    let mut page = chunk.page_decompressor(rest, n).expect("pco page");
    let mut values = vec![T::default(); n];
    page.read(&mut values).expect("pco values");
    *src = page.into_src();
    values
}

/// Unsigned LEB128, as in our format.
fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_uvarint(src: &mut &[u8]) -> u64 {
    let mut v = 0;
    for shift in (0..64).step_by(7) {
        let byte = take(src, 1)[0];
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            break;
        }
    }
    v
}

fn take<'a>(src: &mut &'a [u8], len: usize) -> &'a [u8] {
    let (head, rest) = src.split_at(len);
    *src = rest;
    head
}
