//! The on-disk encoding of a chunk of samples ([`Columns`]: one device, one session): exact, compact
//! (well under one byte per stored value on realistic series) and fast to decode.
//!
//! # Why this shape
//!
//! Device metrics are small integers or decimals with two places (`35.02`), sampled every two
//! seconds. Consecutive values hover around a level (Fps 19, 19, 18, 19), sit at one value for long
//! stretches (CpuUsed, Lost, NACK) or are mostly zero with spikes (Lag100Duration). So every column
//! is turned into integers by a decimal scale (35.02 at scale 2 is 3502), optionally delta-coded,
//! and then stored with whichever of four integer schemes is smallest for that column: a constant,
//! run lengths, bit-packing in small blocks with patched outliers, or a "sparse" bitmap of the
//! values that differ from the most common one. The encoder tries them all and keeps the shortest;
//! the decoder is a few tight loops (no per-value branching on the scheme).
//!
//! # Format, version 1
//!
//! `uvarint` is unsigned LEB128 (7 bits a byte, low group first, at most 10 bytes); `ivarint` is a
//! zigzag-mapped `i64` (0, -1, 1, -2, ... as 0, 1, 2, 3, ...) written as a `uvarint`.
//!
//! ```text
//! chunk  := version:u8 (= 1)
//!           n:uvarint                      samples, at most MAX_SAMPLES
//!           time:column                    TimeOffset; scale must be 0; strictly increasing
//!           metric_count:u8                at most 21
//!           metric * metric_count
//!           net_count:uvarint
//!           net * net_count
//!                                          and nothing after: trailing bytes are an error
//! metric := id:u8 column                   id = `Metric as u8`; ids strictly increasing
//! net    := net_id:ivarint                 strictly increasing
//!           ip_len:uvarint ip:utf8[ip_len]
//!           rtt:column lost:column send_bps:column recv_bps:column
//! ```
//!
//! Every column holds exactly `n` values. The decoder refuses a chunk that would hold more than
//! [`MAX_VALUES`] values in all (so a few corrupt bytes cannot ask for gigabytes).
//!
//! ## Columns
//!
//! ```text
//! column := tag:u8 body
//! tag    =  0x07                 raw: body is n little-endian f64 bit patterns (8n bytes)
//!        |  0b00SS_Dkkk          scaled: k = decimal scale 0..=6, D = delta flag, SS = scheme
//! ```
//!
//! A scaled column stores integers `x_i` and means `v_i = x_i as f64 / 10^k` (a correctly rounded
//! division, so `3502 / 100` is exactly the `f64` that parsing "35.02" gives). The encoder picks the
//! smallest `k` for which *every* value `v` has an integer `x = round(v * 10^k)` with
//! `|x| < 2^53` and `x as f64 / 10^k` bit-identical to `v`; a column without such a `k` (NaN,
//! infinities, `-0.0`, values like `0.1 + 0.2`, magnitudes of 2^53 and up) is stored raw, so nothing
//! is ever lost. The decoder rejects scaled integers of 2^53 and up.
//!
//! With `D = 0` the body is the scheme body of the `n` integers. With `D = 1` and `n >= 1` it is
//! `first:ivarint` followed by the scheme body of the `n - 1` wrapping differences
//! `x_i - x_(i-1)` (with `n = 0`, just the scheme body of no values). TimeOffset `0, 2, 4, ...`
//! is thus `first = 0` and a constant difference 2: three bytes for the whole column.
//!
//! ## Schemes (the body of `m` integers `s_0 .. s_(m-1)`)
//!
//! * `SS = 0`, constant: `value:ivarint`; all `m` values equal it.
//! * `SS = 1`, run lengths: `runs:uvarint` (at most `m`), then per run `step:ivarint len:uvarint`:
//!   the run's value is the previous run's value (0 before the first) plus `step`, repeated `len`
//!   (at least 1) times; the lengths add up to `m`.
//! * `SS = 2`, patched frame of reference: `log:u8` (0..=8; blocks of `B = 2^log` values, the last
//!   one shorter), then per block of `len` values:
//!   `base:ivarint`, `wx:u8` (width `w = wx & 0x7f`, at most 64; bit 7 = the block has patches),
//!   `count:u8` (only if bit 7 is set), then `ceil(len * w / 8)` bytes holding the low `w` bits of
//!   each `d_i = s_i - base` (wrapping, as a `u64`), packed least significant bit first, then
//!   `count` patches `pos:u8 high:ivarint` (positions strictly increasing, below `len`; `w < 64`)
//!   meaning `d_pos = high * 2^w + low` (wrapping; `high` is `d_pos >> w`, arithmetic). Without
//!   patches every `d_i` is below `2^w`. The encoder picks, per block, the frame
//!   `[base, base + 2^w)` holding the most values at each width and keeps the cheapest width, so a
//!   rare outlier on either side (a latency spike, a `0` or `-1` while a stream stalls) costs a
//!   two- or three-byte patch instead of widening every value of the block.
//! * `SS = 3`, sparse: `base:ivarint`, a bitmap of `ceil(m / 8)` bytes (bit `i % 8` of byte `i / 8`
//!   set when `s_i` is an exception; unused high bits of the last byte zero), then `sub:u8` (only
//!   the `D` and `SS` bits of a tag, `SS` not 3) and the body, in the form above, of the exceptions'
//!   values in order. Every other value is `base`. Made for mostly-zero series with spikes.
//!
//! The encoder tries blocks of 64 and 256 values and keeps the smaller.
//!
//! There is no checksum: integrity is the store's business. Decoding validates the structure, so
//! corrupt bytes give an error or columns that still satisfy every invariant of [`Columns`].
//!
//! Typical sizes (see the tests): the golden example of `DescribeDeviceSessionDetails` (70 samples,
//! 1340 values) takes 0.64 bytes a value; a noisy synthetic hour (1800 samples, 21 metrics, two
//! links) 0.41 in one chunk, 0.6 in chunks of 30 samples, 1.5 in chunks of 5. Each chunk pays about
//! two bytes per column of headers, so a single-sample chunk costs about 4 bytes a value (printed by
//! `cargo test -p teleoscope-server --lib codec -- --nocapture`).

use crate::model::samples::{Columns, Metric, NetColumns};
use std::fmt;

/// The format version written by [`encode`] and the only one [`decode`] reads.
pub const VERSION: u8 = 1;
/// The most samples a chunk may hold (about 24 days at one sample every two seconds).
pub const MAX_SAMPLES: usize = 1 << 20;
/// The most values (as counted by [`Columns::value_count`]) a chunk may hold.
pub const MAX_VALUES: usize = 1 << 24;

const MAX_SCALE: usize = 6;
const POW10: [f64; MAX_SCALE + 1] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// Scaled integers stay below this magnitude, so that `x as f64` is exact.
const EXACT_LIMIT: u64 = 1 << 53;

const TAG_RAW: u8 = 0x07;
const TAG_DELTA: u8 = 0x08;
const TAG_SCHEME_SHIFT: u32 = 4;
const TAG_SCALE_MASK: u8 = 0x07;
const TAG_BODY_MASK: u8 = 0x38;

const SCHEME_CONST: u8 = 0;
const SCHEME_RLE: u8 = 1;
const SCHEME_PFOR: u8 = 2;
const SCHEME_SPARSE: u8 = 3;

const PFOR_MAX_LOG: u8 = 8;
/// Block sizes the encoder tries (as `log2`).
const PFOR_LOGS: [u8; 2] = [6, 8];
const PFOR_PATCHED: u8 = 0x80;
const PFOR_MAX_PATCHES: usize = u8::MAX as usize;

/// A chunk that cannot be decoded or merged.
#[derive(Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sample codec: {}", self.0)
    }
}

impl std::error::Error for CodecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CodecError> {
    Err(CodecError(msg.into()))
}

// ------------------------------------------------------------------------------------------------
// Invariants
// ------------------------------------------------------------------------------------------------

/// Check the invariants of [`Columns`] that [`encode`] relies on: `time_offset` strictly
/// increasing, every column `len()` long, metrics sorted without repeats, nets sorted by `net_id`
/// without repeats, and at most [`MAX_SAMPLES`] samples and [`MAX_VALUES`] values.
pub fn validate(c: &Columns) -> Result<(), CodecError> {
    let n = c.len();
    if n > MAX_SAMPLES {
        return err(format!("{n} samples, more than {MAX_SAMPLES}"));
    }
    if c.value_count() > MAX_VALUES {
        return err(format!(
            "{} values, more than {MAX_VALUES}",
            c.value_count()
        ));
    }
    check_alignment(c)?;
    if let Some(w) = c.time_offset.windows(2).find(|w| w[0] >= w[1]) {
        return err(format!(
            "TimeOffset not strictly increasing: {} then {}",
            w[0], w[1]
        ));
    }
    if let Some(w) = c.metrics.windows(2).find(|w| w[0].0 >= w[1].0) {
        return err(format!(
            "metrics not sorted or repeated: {} then {}",
            w[0].0.name(),
            w[1].0.name()
        ));
    }
    if let Some(w) = c.nets.windows(2).find(|w| w[0].net_id >= w[1].net_id) {
        return err(format!(
            "nets not sorted or repeated: {} then {}",
            w[0].net_id, w[1].net_id
        ));
    }
    Ok(())
}

fn check_alignment(c: &Columns) -> Result<(), CodecError> {
    let n = c.len();
    for (m, v) in &c.metrics {
        if v.len() != n {
            return err(format!(
                "{} has {} values for {n} samples",
                m.name(),
                v.len()
            ));
        }
    }
    for net in &c.nets {
        for (name, col) in net_columns(net) {
            if col.len() != n {
                return err(format!(
                    "net {} {name} has {} values for {n} samples",
                    net.net_id,
                    col.len()
                ));
            }
        }
    }
    Ok(())
}

fn net_columns(net: &NetColumns) -> [(&'static str, &Vec<f64>); 4] {
    [
        ("Rtt", &net.rtt),
        ("Lost", &net.lost),
        ("SendBps", &net.send_bps),
        ("RecvBps", &net.recv_bps),
    ]
}

// ------------------------------------------------------------------------------------------------
// Encoding
// ------------------------------------------------------------------------------------------------

/// Encode a chunk (format in the module documentation).
///
/// # Panics
///
/// If `c` breaks the invariants of [`Columns`] or the size limits (see [`validate`]): such columns
/// have no encoding that decodes to them. Callers holding untrusted columns check with `validate`
/// first.
pub fn encode(c: &Columns) -> Vec<u8> {
    encode_with(c, Effort::Smallest)
}

/// How hard the encoder looks for the smallest body of a column. Both give the same format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// Every scheme, with and without deltas, both block sizes: the smallest encoding. For what
    /// stays stored: compacted parts, imports.
    #[default]
    Smallest,
    /// A constant, else a patched frame of reference in blocks of 64, delta-coded when the
    /// differences span less than the values: several times faster and a little larger. For a
    /// report's chunk, which compaction merges and encodes again at `Smallest` soon.
    Quick,
}

/// [`encode`] with the given effort.
pub fn encode_with(c: &Columns, effort: Effort) -> Vec<u8> {
    if let Err(e) = validate(c) {
        panic!("codec::encode: invalid columns: {}", e.0);
    }
    let mut enc = Encoder {
        effort,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(16 + c.value_count() / 2);
    out.push(VERSION);
    put_uvarint(&mut out, c.len() as u64);
    enc.ints_column(&c.time_offset, 0, &mut out);
    out.push(c.metrics.len() as u8);
    for (m, values) in &c.metrics {
        out.push(*m as u8);
        enc.float_column(values, &mut out);
    }
    put_uvarint(&mut out, c.nets.len() as u64);
    for net in &c.nets {
        put_ivarint(&mut out, net.net_id);
        put_uvarint(&mut out, net.net_ip.len() as u64);
        out.extend_from_slice(net.net_ip.as_bytes());
        for (_, col) in net_columns(net) {
            enc.float_column(col, &mut out);
        }
    }
    out
}

/// An append's samples as the stores keep them: one chunk, and which metrics and links it carries
/// (`Columns::schema`, fixed per part). Made on the caller's task, so that a store's writer only
/// writes.
pub struct Encoded {
    pub chunk: Vec<u8>,
    pub schema: String,
}

impl Encoded {
    /// A live report's chunk will be merged again (upkeep): the quick effort; an import
    /// (`from_device` false) is a whole ended part: the smallest.
    pub fn of(columns: &Columns, from_device: bool) -> Encoded {
        let effort = if from_device {
            Effort::Quick
        } else {
            Effort::Smallest
        };
        Encoded {
            chunk: encode_with(columns, effort),
            schema: columns.schema(),
        }
    }
}

/// Scratch space reused across the columns of one chunk.
#[derive(Default)]
struct Encoder {
    effort: Effort,
    ints: Vec<i64>,
}

impl Encoder {
    fn float_column(&mut self, values: &[f64], out: &mut Vec<u8>) {
        let mut ints = std::mem::take(&mut self.ints);
        match scale_of(values, &mut ints) {
            Some(k) => self.ints_column(&ints, k, out),
            None => {
                out.push(TAG_RAW);
                for v in values {
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
        }
        self.ints = ints;
    }

    fn ints_column(&mut self, ints: &[i64], scale: u8, out: &mut Vec<u8>) {
        let tag_pos = out.len();
        out.push(0);
        let bits = match self.effort {
            Effort::Smallest => put_ints(ints, true, out),
            Effort::Quick => put_ints_quick(ints, out),
        };
        out[tag_pos] = scale | bits;
    }
}

/// The smallest decimal scale at which every value is an exact integer below 2^53 (those integers
/// left in `ints`), or `None`.
fn scale_of(values: &[f64], ints: &mut Vec<i64>) -> Option<u8> {
    // The smallest scale each value needs; then check all at the largest (a value exact at scale
    // k is exact at any larger scale up to 6 in practice, but the final pass proves it).
    let mut k = 0;
    for &v in values {
        while k <= MAX_SCALE && scaled(v, k).is_none() {
            k += 1;
        }
        if k > MAX_SCALE {
            return None;
        }
    }
    loop {
        ints.clear();
        let mut ok = true;
        for &v in values {
            match scaled(v, k) {
                Some(x) => ints.push(x),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return Some(k as u8);
        }
        k += 1;
        if k > MAX_SCALE {
            return None;
        }
    }
}

/// `v` as an integer at decimal scale `k`, if that is exact and below 2^53 in magnitude.
fn scaled(v: f64, k: usize) -> Option<i64> {
    let p = POW10[k];
    let r = (v * p).round();
    if r.is_nan() || r.abs() >= EXACT_LIMIT as f64 {
        return None; // also infinities
    }
    let x = r as i64;
    ((x as f64 / p).to_bits() == v.to_bits()).then_some(x)
}

/// Encode an integer sequence with the best transform and scheme; append the body and return the
/// `D | SS` tag bits.
fn put_ints(values: &[i64], allow_sparse: bool, out: &mut Vec<u8>) -> u8 {
    let mut plain = Vec::new();
    let plain_scheme = put_seq(values, allow_sparse, &mut plain);
    if plain_scheme == SCHEME_CONST || values.len() < 2 {
        out.extend_from_slice(&plain);
        return plain_scheme << TAG_SCHEME_SHIFT;
    }
    let deltas: Vec<i64> = values.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let mut delta = Vec::new();
    put_ivarint(&mut delta, values[0]);
    let delta_scheme = put_seq(&deltas, allow_sparse, &mut delta);
    if delta.len() < plain.len() {
        out.extend_from_slice(&delta);
        TAG_DELTA | delta_scheme << TAG_SCHEME_SHIFT
    } else {
        out.extend_from_slice(&plain);
        plain_scheme << TAG_SCHEME_SHIFT
    }
}

/// [`Effort::Quick`]: deltas when they span less than the values, then a constant or a frame of
/// reference; returns the `D | SS` tag bits.
fn put_ints_quick(values: &[i64], out: &mut Vec<u8>) -> u8 {
    fn span(mut it: impl Iterator<Item = i64>) -> i128 {
        let first = it.next().unwrap_or(0);
        let (lo, hi) = it.fold((first, first), |(lo, hi), x| (lo.min(x), hi.max(x)));
        i128::from(hi) - i128::from(lo)
    }
    let deltas = || values.windows(2).map(|w| w[1].wrapping_sub(w[0]));
    let seq = |s: &[i64], out: &mut Vec<u8>| -> u8 {
        let first = s.first().copied().unwrap_or(0);
        if s.iter().all(|&x| x == first) {
            put_ivarint(out, first);
            return SCHEME_CONST;
        }
        out.extend_from_slice(&put_pfor(s, PFOR_LOGS[0], &mut Vec::new()));
        SCHEME_PFOR
    };
    if values.len() >= 2 && span(deltas()) < span(values.iter().copied()) {
        let d: Vec<i64> = deltas().collect();
        put_ivarint(out, values[0]);
        TAG_DELTA | seq(&d, out) << TAG_SCHEME_SHIFT
    } else {
        seq(values, out) << TAG_SCHEME_SHIFT
    }
}

/// Append the smallest scheme body for `s` and return the scheme. Of equal sizes, run lengths win
/// over a frame of reference, and smaller blocks over larger ones.
fn put_seq(s: &[i64], allow_sparse: bool, out: &mut Vec<u8>) -> u8 {
    let first = s.first().copied().unwrap_or(0);
    if s.iter().all(|&x| x == first) {
        put_ivarint(out, first);
        return SCHEME_CONST;
    }
    let mut scratch = Vec::new();
    let mut best = put_pfor(s, PFOR_LOGS[0], &mut scratch);
    // A sequence that fits one small block is one block at every size: the same body.
    if s.len() > 1 << PFOR_LOGS[0] {
        for &log in &PFOR_LOGS[1..] {
            let body = put_pfor(s, log, &mut scratch);
            if body.len() < best.len() {
                best = body;
            }
        }
    }
    let mut scheme = SCHEME_PFOR;
    // A run costs at least two bytes (plus one for the count): only build the run lengths when they
    // may win.
    if 2 * count_runs(s) < best.len() {
        let rle = put_rle(s);
        if rle.len() <= best.len() {
            best = rle;
            scheme = SCHEME_RLE;
        }
    }
    if allow_sparse {
        if let Some(body) = put_sparse(s, best.len()) {
            best = body;
            scheme = SCHEME_SPARSE;
        }
    }
    out.extend_from_slice(&best);
    scheme
}

fn count_runs(s: &[i64]) -> usize {
    1 + s.windows(2).filter(|w| w[0] != w[1]).count()
}

fn put_rle(s: &[i64]) -> Vec<u8> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let mut j = i + 1;
        while j < s.len() && s[j] == s[i] {
            j += 1;
        }
        runs.push((s[i], (j - i) as u64));
        i = j;
    }
    let mut out = Vec::with_capacity(1 + runs.len() * 3);
    put_uvarint(&mut out, runs.len() as u64);
    let mut prev = 0i64;
    for (v, len) in runs {
        put_ivarint(&mut out, v.wrapping_sub(prev));
        put_uvarint(&mut out, len);
        prev = v;
    }
    out
}

/// `sorted`: scratch space for the blocks' sorted values.
fn put_pfor(s: &[i64], log: u8, sorted: &mut Vec<i64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + s.len());
    out.push(log);
    for block in s.chunks(1 << log) {
        put_pfor_block(block, sorted, &mut out);
    }
    out
}

fn put_pfor_block(block: &[i64], sorted: &mut Vec<i64>, out: &mut Vec<u8>) {
    let len = block.len();
    sorted.clear();
    sorted.extend_from_slice(block);
    sorted.sort_unstable();
    let (min, max) = (sorted[0], sorted[len - 1]);
    // Without patches: the frame [min, max] (the difference is exact as a wrapping u64).
    let full_w = bit_len((max as u64).wrapping_sub(min as u64));
    let (mut best_w, mut best_base) = (full_w, min);
    let mut best_cost = uvarint_len(zigzag(min)) + (len * full_w as usize).div_ceil(8);
    // From wide to narrow: narrower frames leave more values outside, and once the patches alone
    // (two bytes or more each) cost as much as the best so far, no narrower frame can win.
    for w in (0..full_w).rev() {
        let packed = (len * w as usize).div_ceil(8);
        // The frame [base, base + 2^w) holding the most values; the others become patches.
        let span = 1u64 << w;
        let (mut start, mut covered, mut j) = (0, 0, 0);
        for i in 0..len {
            if len - i <= covered {
                break;
            }
            while j < len && (sorted[j] as u64).wrapping_sub(sorted[i] as u64) < span {
                j += 1;
            }
            if j - i > covered {
                (start, covered) = (i, j - i);
            }
        }
        let patches = len - covered;
        if patches > PFOR_MAX_PATCHES || 1 + 2 * patches >= best_cost {
            break;
        }
        if packed + 1 + 2 * patches >= best_cost {
            continue;
        }
        let base = sorted[start];
        let outside = sorted[..start].iter().chain(&sorted[start + covered..]);
        let patch_bytes: usize = outside
            .map(|&x| 1 + uvarint_len(zigzag(x.wrapping_sub(base) >> w)))
            .sum();
        let cost = uvarint_len(zigzag(base)) + packed + 1 + patch_bytes;
        if cost < best_cost {
            (best_w, best_base, best_cost) = (w, base, cost);
        }
    }
    let w = best_w;
    let mask = low_mask(w);
    let offset = |x: i64| x.wrapping_sub(best_base);
    let patched = |x: i64| w < 64 && offset(x) as u64 > mask;
    let patches = block.iter().filter(|&&x| patched(x)).count();
    put_ivarint(out, best_base);
    if patches > 0 {
        out.push(w as u8 | PFOR_PATCHED);
        out.push(patches as u8);
    } else {
        out.push(w as u8);
    }
    pack_bits(block.iter().map(|&x| offset(x) as u64 & mask), w, out);
    for (pos, &x) in block.iter().enumerate() {
        if patched(x) {
            out.push(pos as u8);
            put_ivarint(out, offset(x) >> w);
        }
    }
}

fn uvarint_len(v: u64) -> usize {
    (bit_len(v) as usize).div_ceil(7).max(1)
}

/// Sparse body, if it beats `limit` bytes.
fn put_sparse(s: &[i64], limit: usize) -> Option<Vec<u8>> {
    let bitmap_len = s.len().div_ceil(8);
    if s.is_empty() || bitmap_len + 2 >= limit {
        return None;
    }
    let base = mode(s);
    let mut out = Vec::with_capacity(bitmap_len + 16);
    put_ivarint(&mut out, base);
    let mut exceptions = Vec::new();
    for chunk in s.chunks(8) {
        let mut byte = 0u8;
        for (i, &x) in chunk.iter().enumerate() {
            if x != base {
                byte |= 1 << i;
                exceptions.push(x);
            }
        }
        out.push(byte);
    }
    let sub_pos = out.len();
    out.push(0);
    out[sub_pos] = put_ints(&exceptions, false, &mut out);
    (out.len() < limit).then_some(out)
}

/// The most frequent value (the smallest of equally frequent ones; 0 for none).
fn mode(s: &[i64]) -> i64 {
    let mut sorted = s.to_vec();
    sorted.sort_unstable();
    let (mut best, mut best_count) = (0, 0);
    for run in sorted.chunk_by(|a, b| a == b) {
        if run.len() > best_count {
            best = run[0];
            best_count = run.len();
        }
    }
    best
}

fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

fn low_mask(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// Pack the low `w` bits of each value, least significant bit first.
fn pack_bits(values: impl Iterator<Item = u64>, w: u32, out: &mut Vec<u8>) {
    if w == 0 {
        return;
    }
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    for v in values {
        acc |= (v as u128) << bits;
        bits += w;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, zigzag(v));
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    (u >> 1) as i64 ^ -((u & 1) as i64)
}

// ------------------------------------------------------------------------------------------------
// Decoding
// ------------------------------------------------------------------------------------------------

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, CodecError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => err(format!("truncated at byte {}", self.pos)),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        match self.buf.get(self.pos..).and_then(|rest| rest.get(..len)) {
            Some(s) => {
                self.pos += len;
                Ok(s)
            }
            None => err(format!(
                "truncated: {len} bytes wanted at byte {}",
                self.pos
            )),
        }
    }

    fn uvarint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return err(format!("varint overflows 64 bits at byte {}", self.pos - 1));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        err(format!("varint longer than 10 bytes at byte {}", self.pos))
    }

    fn ivarint(&mut self) -> Result<i64, CodecError> {
        self.uvarint().map(unzigzag)
    }

    /// A length or count that must not exceed `max`.
    fn count(&mut self, max: usize, what: &str) -> Result<usize, CodecError> {
        let v = self.uvarint()?;
        if v > max as u64 {
            return err(format!("{what} {v} exceeds {max}"));
        }
        Ok(v as usize)
    }
}

/// Decode a chunk written by [`encode`], validating everything: the version, every length, the
/// metric ids, the ordering invariants of [`Columns`], and that no byte is left over.
pub fn decode(bytes: &[u8]) -> Result<Columns, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let (n, time_offset) = read_head(&mut r)?;
    let mut columns_read = 1usize;
    let mut budget = |columns: usize| -> Result<(), CodecError> {
        columns_read += columns;
        if columns_read.saturating_mul(n) > MAX_VALUES {
            return err(format!("more than {MAX_VALUES} values"));
        }
        Ok(())
    };
    let mut scratch = Vec::with_capacity(n);

    let metric_count = r.u8()? as usize;
    if metric_count > Metric::ALL.len() {
        return err(format!("{metric_count} metrics"));
    }
    let mut metrics = Vec::with_capacity(metric_count);
    for _ in 0..metric_count {
        let id = r.u8()?;
        let Some(m) = Metric::from_u8(id) else {
            return err(format!("unknown metric id {id}"));
        };
        if metrics.last().is_some_and(|(prev, _)| *prev >= m) {
            return err(format!("metric {} out of order", m.name()));
        }
        budget(1)?;
        metrics.push((m, read_float_column(&mut r, n, &mut scratch)?));
    }

    let net_count = r.count(bytes.len(), "net count")?;
    let mut nets: Vec<NetColumns> = Vec::with_capacity(net_count);
    for _ in 0..net_count {
        let net_id = r.ivarint()?;
        if nets.last().is_some_and(|prev| prev.net_id >= net_id) {
            return err(format!("net {net_id} out of order"));
        }
        let ip_len = r.count(bytes.len(), "net ip length")?;
        let net_ip = match std::str::from_utf8(r.take(ip_len)?) {
            Ok(s) => s.to_owned(),
            Err(_) => return err(format!("net {net_id}: ip is not utf-8")),
        };
        budget(4)?;
        nets.push(NetColumns {
            net_id,
            net_ip,
            rtt: read_float_column(&mut r, n, &mut scratch)?,
            lost: read_float_column(&mut r, n, &mut scratch)?,
            send_bps: read_float_column(&mut r, n, &mut scratch)?,
            recv_bps: read_float_column(&mut r, n, &mut scratch)?,
        });
    }
    if r.pos != bytes.len() {
        return err(format!("{} trailing bytes", bytes.len() - r.pos));
    }
    Ok(Columns {
        time_offset,
        metrics,
        nets,
    })
}

/// Only the TimeOffset column (cheap: used for duplicate detection). Reads the version, the sample
/// count and that column; the rest of the chunk is not looked at.
pub fn decode_offsets(bytes: &[u8]) -> Result<Vec<i64>, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    read_head(&mut r).map(|(_, offsets)| offsets)
}

fn read_head(r: &mut Reader<'_>) -> Result<(usize, Vec<i64>), CodecError> {
    let version = r.u8()?;
    if version != VERSION {
        return err(format!("unknown version {version}"));
    }
    let n = r.count(MAX_SAMPLES, "sample count")?;
    let tag = r.u8()?;
    if tag & !TAG_BODY_MASK != 0 {
        return err(format!("TimeOffset column tag {tag:#04x}"));
    }
    let mut offsets = Vec::with_capacity(n);
    read_ints(r, tag, n, &mut offsets, true)?;
    if let Some(w) = offsets.windows(2).find(|w| w[0] >= w[1]) {
        return err(format!(
            "TimeOffset not strictly increasing: {} then {}",
            w[0], w[1]
        ));
    }
    Ok((n, offsets))
}

fn read_float_column(
    r: &mut Reader<'_>,
    n: usize,
    scratch: &mut Vec<i64>,
) -> Result<Vec<f64>, CodecError> {
    let tag = r.u8()?;
    if tag == TAG_RAW {
        let raw = r.take(n * 8)?;
        return Ok(raw
            .chunks_exact(8)
            .map(|b| f64::from_bits(u64::from_le_bytes(b.try_into().unwrap_or_default())))
            .collect());
    }
    let k = (tag & TAG_SCALE_MASK) as usize;
    if tag & !(TAG_SCALE_MASK | TAG_BODY_MASK) != 0 || k > MAX_SCALE {
        return err(format!("column tag {tag:#04x}"));
    }
    scratch.clear();
    read_ints(r, tag & TAG_BODY_MASK, n, scratch, true)?;
    let mut too_big = false;
    let values: Vec<f64> = if k == 0 {
        scratch
            .iter()
            .map(|&x| {
                too_big |= x.unsigned_abs() >= EXACT_LIMIT;
                x as f64
            })
            .collect()
    } else {
        let p = POW10[k];
        scratch
            .iter()
            .map(|&x| {
                too_big |= x.unsigned_abs() >= EXACT_LIMIT;
                x as f64 / p
            })
            .collect()
    };
    if too_big {
        return err("scaled value of 2^53 or more");
    }
    Ok(values)
}

/// Append `m` integers read with the `D | SS` bits of `tag`.
fn read_ints(
    r: &mut Reader<'_>,
    tag: u8,
    m: usize,
    out: &mut Vec<i64>,
    allow_sparse: bool,
) -> Result<(), CodecError> {
    let scheme = (tag & TAG_BODY_MASK) >> TAG_SCHEME_SHIFT;
    if tag & TAG_DELTA == 0 || m == 0 {
        return read_seq(r, scheme, m, out, allow_sparse);
    }
    let start = out.len();
    out.push(r.ivarint()?);
    read_seq(r, scheme, m - 1, out, allow_sparse)?;
    let mut acc = 0i64;
    for x in &mut out[start..] {
        acc = acc.wrapping_add(*x);
        *x = acc;
    }
    Ok(())
}

fn read_seq(
    r: &mut Reader<'_>,
    scheme: u8,
    m: usize,
    out: &mut Vec<i64>,
    allow_sparse: bool,
) -> Result<(), CodecError> {
    match scheme {
        SCHEME_CONST => {
            let v = r.ivarint()?;
            out.resize(out.len() + m, v);
        }
        SCHEME_RLE => {
            let runs = r.count(m, "run count")?;
            let mut left = m;
            let mut v = 0i64;
            for _ in 0..runs {
                v = v.wrapping_add(r.ivarint()?);
                let len = r.count(left, "run length")?;
                if len == 0 {
                    return err("empty run");
                }
                out.resize(out.len() + len, v);
                left -= len;
            }
            if left != 0 {
                return err(format!("runs cover {} of {m} values", m - left));
            }
        }
        SCHEME_PFOR => {
            let log = r.u8()?;
            if log > PFOR_MAX_LOG {
                return err(format!("block size 2^{log}"));
            }
            let block = 1usize << log;
            let mut left = m;
            while left > 0 {
                let len = left.min(block);
                read_pfor_block(r, len, out)?;
                left -= len;
            }
        }
        SCHEME_SPARSE => {
            if !allow_sparse {
                return err("nested sparse column");
            }
            let base = r.ivarint()?;
            let bitmap = r.take(m.div_ceil(8))?;
            let tail = m & 7; // values in a partial last byte
            if tail != 0 && bitmap.last().is_some_and(|&b| b >> tail != 0) {
                return err("sparse bitmap padding not zero");
            }
            let count = bitmap.iter().map(|b| b.count_ones() as usize).sum();
            let sub = r.u8()?;
            if sub & !TAG_BODY_MASK != 0 {
                return err(format!("sparse exceptions tag {sub:#04x}"));
            }
            let mut exceptions = Vec::with_capacity(count);
            read_ints(r, sub, count, &mut exceptions, false)?;
            let mut next = exceptions.into_iter();
            for (i, &byte) in bitmap.iter().enumerate() {
                let len = (m - i * 8).min(8);
                if byte == 0 {
                    out.resize(out.len() + len, base);
                } else {
                    for bit in 0..len {
                        let v = if byte >> bit & 1 == 1 {
                            next.next().unwrap_or(base)
                        } else {
                            base
                        };
                        out.push(v);
                    }
                }
            }
        }
        _ => return err(format!("unknown scheme {scheme}")),
    }
    Ok(())
}

fn read_pfor_block(r: &mut Reader<'_>, len: usize, out: &mut Vec<i64>) -> Result<(), CodecError> {
    let base = r.ivarint()?;
    let wx = r.u8()?;
    let w = u32::from(wx & !PFOR_PATCHED);
    if w > 64 {
        return err(format!("bit width {w}"));
    }
    let patches = if wx & PFOR_PATCHED != 0 {
        r.u8()? as usize
    } else {
        0
    };
    let packed = r.take((len * w as usize).div_ceil(8))?;
    let start = out.len();
    unpack_bits(packed, w, len, base, out);
    let mut prev_pos = None;
    for _ in 0..patches {
        let pos = r.u8()? as usize;
        if pos >= len || prev_pos.is_some_and(|p| p >= pos) {
            return err(format!("patch position {pos}"));
        }
        prev_pos = Some(pos);
        let high = r.ivarint()?;
        if w == 64 || (high << w) >> w != high {
            return err("patch wider than 64 bits");
        }
        let x = &mut out[start + pos];
        *x = x.wrapping_add(high << w);
    }
    Ok(())
}

/// Append `len` values `base + low_w_bits`, unpacked from `packed` (which holds at least
/// `len * w` bits).
fn unpack_bits(packed: &[u8], w: u32, len: usize, base: i64, out: &mut Vec<i64>) {
    if w == 0 {
        out.resize(out.len() + len, base);
        return;
    }
    let mask = low_mask(w);
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    let mut idx = 0usize;
    out.reserve(len);
    for _ in 0..len {
        if bits < w {
            let rest = packed.get(idx..).unwrap_or_default();
            let word = match rest.get(..8) {
                Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
                None => {
                    let mut b = [0u8; 8];
                    b[..rest.len()].copy_from_slice(rest);
                    u64::from_le_bytes(b)
                }
            };
            acc |= u128::from(word) << bits;
            idx += 8;
            bits += 64;
        }
        out.push(base.wrapping_add((acc as u64 & mask) as i64));
        acc >>= w;
        bits -= w;
    }
}

// ------------------------------------------------------------------------------------------------
// Merging
// ------------------------------------------------------------------------------------------------

/// A part's stored chunks (in the order they were stored), decoded and merged into one set of
/// columns sorted by offset.
pub fn decode_all(chunks: &[Vec<u8>]) -> Result<Columns, CodecError> {
    merge(
        chunks
            .iter()
            .map(|c| decode(c))
            .collect::<Result<Vec<_>, _>>()?,
    )
}

/// Merge chunks of one part into one Columns ordered by time_offset. Chunks normally do not overlap;
/// if two carry the same offset, the first in `chunks` order wins. All chunks of one part carry the
/// same metric set and net ids; if they do not (defensive), a metric missing from some chunk is an
/// error.
///
/// Also an error: a chunk whose columns are not all as long as its `time_offset`, or that repeats a
/// metric or a net id. A net's `net_ip` is taken from the first chunk. Within one chunk, offsets
/// need not be sorted (the first row of a repeated offset wins there too).
pub fn merge(chunks: Vec<Columns>) -> Result<Columns, CodecError> {
    let Some(first) = chunks.first() else {
        return Ok(Columns::default());
    };
    let mut metric_ids: Vec<Metric> = first.metrics.iter().map(|(m, _)| *m).collect();
    metric_ids.sort_unstable();
    let mut net_ids: Vec<i64> = first.nets.iter().map(|n| n.net_id).collect();
    net_ids.sort_unstable();
    for (i, c) in chunks.iter().enumerate() {
        check_alignment(c)?;
        let mut ids: Vec<Metric> = c.metrics.iter().map(|(m, _)| *m).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return err(format!("chunk {i} repeats a metric"));
        }
        if ids != metric_ids {
            let missing = metric_ids
                .iter()
                .chain(&ids)
                .find(|m| !(metric_ids.contains(m) && ids.contains(m)));
            let name = missing.map_or("?", |m| m.name());
            return err(format!(
                "metric {name} missing from some chunk (chunk {i} differs from chunk 0)"
            ));
        }
        let mut nids: Vec<i64> = c.nets.iter().map(|n| n.net_id).collect();
        nids.sort_unstable();
        if nids.windows(2).any(|w| w[0] == w[1]) {
            return err(format!("chunk {i} repeats a net id"));
        }
        if nids != net_ids {
            return err(format!(
                "net ids of chunk {i} ({nids:?}) differ from chunk 0 ({net_ids:?})"
            ));
        }
    }
    if chunks.len() == 1 && validate(first).is_ok() {
        return Ok(chunks.into_iter().next().unwrap_or_default());
    }

    // (offset, chunk, row), stably sorted: equal offsets keep chunk order, then row order.
    let total: usize = chunks.iter().map(Columns::len).sum();
    let mut rows: Vec<(i64, u32, u32)> = Vec::with_capacity(total);
    for (ci, c) in chunks.iter().enumerate() {
        rows.extend(
            c.time_offset
                .iter()
                .enumerate()
                .map(|(ri, &t)| (t, ci as u32, ri as u32)),
        );
    }
    rows.sort_by_key(|&(t, _, _)| t);
    rows.dedup_by_key(|&mut (t, _, _)| t);

    let gather = |cols: Vec<&[f64]>| -> Vec<f64> {
        rows.iter()
            .map(|&(_, ci, ri)| cols[ci as usize][ri as usize])
            .collect()
    };
    let metrics = metric_ids
        .iter()
        .map(|&m| {
            (
                m,
                gather(
                    chunks
                        .iter()
                        .map(|c| c.metric(m).unwrap_or_default())
                        .collect(),
                ),
            )
        })
        .collect();
    let nets = net_ids
        .iter()
        .map(|&id| {
            // Every chunk has this net (checked above).
            let of_chunks: Vec<&NetColumns> = chunks
                .iter()
                .filter_map(|c| c.nets.iter().find(|n| n.net_id == id))
                .collect();
            let pick = |f: fn(&NetColumns) -> &Vec<f64>| {
                gather(of_chunks.iter().map(|n| f(n).as_slice()).collect())
            };
            NetColumns {
                net_id: id,
                net_ip: of_chunks[0].net_ip.clone(),
                rtt: pick(|n| &n.rtt),
                lost: pick(|n| &n.lost),
                send_bps: pick(|n| &n.send_bps),
                recv_bps: pick(|n| &n.recv_bps),
            }
        })
        .collect();
    Ok(Columns {
        time_offset: rows.iter().map(|&(t, _, _)| t).collect(),
        metrics,
        nets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng as _, SeedableRng};
    use serde_json::Value;
    use teleoscope_protocol::wire::Float;

    /// The `Details` of the golden `DescribeDeviceSessionDetails` example (fixtures/README.md).
    fn seed_details() -> Vec<Value> {
        let response: Value = serde_json::from_str(include_str!(
            "../../../../fixtures/describe-device-session-details.json"
        ))
        .expect("json");
        response["Response"]["Details"]
            .as_array()
            .expect("Details")
            .clone()
    }

    fn numbers(v: &Value) -> Vec<f64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    }

    fn columns_of(d: &Value) -> Columns {
        let time_offset = d["TimeOffset"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        let metrics = Metric::ALL
            .iter()
            .filter_map(|&m| {
                d.get(m.name())
                    .map(numbers)
                    .filter(|v| !v.is_empty())
                    .map(|v| (m, v))
            })
            .collect();
        let nets = d["MultiNet"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| NetColumns {
                net_id: n["NetId"].as_i64().unwrap(),
                net_ip: n["NetIp"].as_str().unwrap().to_owned(),
                rtt: numbers(&n["Rtt"]),
                lost: numbers(&n["Lost"]),
                send_bps: numbers(&n["SendBps"]),
                recv_bps: numbers(&n["RecvBps"]),
            })
            .collect();
        Columns {
            time_offset,
            metrics,
            nets,
        }
    }

    fn seed_columns() -> Vec<Columns> {
        seed_details().iter().map(columns_of).collect()
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Equal, with floats compared bit for bit (so NaN equals itself and -0.0 differs from 0.0).
    fn assert_identical(a: &Columns, b: &Columns) {
        assert_eq!(a.time_offset, b.time_offset);
        assert_eq!(a.metrics.len(), b.metrics.len());
        for ((ma, va), (mb, vb)) in a.metrics.iter().zip(&b.metrics) {
            assert_eq!(ma, mb);
            assert_eq!(bits(va), bits(vb), "{}", ma.name());
        }
        assert_eq!(a.nets.len(), b.nets.len());
        for (na, nb) in a.nets.iter().zip(&b.nets) {
            assert_eq!((na.net_id, &na.net_ip), (nb.net_id, &nb.net_ip));
            for ((name, ca), (_, cb)) in net_columns(na).into_iter().zip(net_columns(nb)) {
                assert_eq!(bits(ca), bits(cb), "net {} {name}", na.net_id);
            }
        }
    }

    fn round_trip(c: &Columns) -> Vec<u8> {
        let bytes = encode(c);
        let back = decode(&bytes).expect("decode");
        assert_identical(c, &back);
        assert_eq!(decode_offsets(&bytes).expect("offsets"), c.time_offset);
        bytes
    }

    #[test]
    fn seed_round_trips_bit_identical_and_prints_the_same() {
        let details = seed_details();
        assert_eq!(details.len(), 2);
        let mut floats_seen = 0;
        for d in &details {
            let c = columns_of(d);
            let back = decode(&encode(&c)).unwrap();
            assert_identical(&c, &back);
            assert_eq!(back, c);
            // Every value prints as the device sent it.
            let text = |v: f64| serde_json::to_string(&Float(v)).unwrap();
            for (m, values) in &back.metrics {
                for (v, original) in values.iter().zip(d[m.name()].as_array().unwrap()) {
                    assert_eq!(text(*v), original.to_string(), "{}", m.name());
                    floats_seen += usize::from(v.fract() != 0.0);
                }
            }
            for (net, original) in back.nets.iter().zip(d["MultiNet"].as_array().unwrap()) {
                for (name, col) in net_columns(net) {
                    for (v, o) in col.iter().zip(original[name].as_array().unwrap()) {
                        assert_eq!(text(*v), o.to_string());
                    }
                }
            }
        }
        assert!(
            floats_seen > 100,
            "the seed's decimals were exercised ({floats_seen})"
        );
        let field = decode(&encode(&columns_of(&details[0]))).unwrap();
        assert_eq!(
            serde_json::to_string(&Float(field.metric(Metric::CpuUsed).unwrap()[0])).unwrap(),
            "35.02"
        );
        let remote = decode(&encode(&columns_of(&details[1]))).unwrap();
        let k100: Vec<String> = remote.metric(Metric::K100).unwrap()[..1]
            .iter()
            .map(|v| serde_json::to_string(&Float(*v)).unwrap())
            .collect();
        assert_eq!(k100, ["1.2"]);
        assert_eq!(
            serde_json::to_string(&Float(remote.metric(Metric::K150).unwrap()[0])).unwrap(),
            "0.57"
        );
        assert_eq!(remote.metric(Metric::NetworkLatency).unwrap()[0], -1.0);
        assert_eq!(field.nets.len(), 2);
        assert!(remote.nets.is_empty());
    }

    /// Bytes taken by each column of `c`.
    fn print_breakdown(c: &Columns) {
        let offsets_only = Columns {
            time_offset: c.time_offset.clone(),
            ..Default::default()
        };
        let base = encode(&offsets_only).len();
        println!("  {:<22} {:>5} bytes", "TimeOffset", base - 4);
        for (m, v) in &c.metrics {
            let one = Columns {
                metrics: vec![(*m, v.clone())],
                ..offsets_only.clone()
            };
            println!(
                "  {:<22} {:>5} bytes",
                m.name(),
                encode(&one).len() - base - 1
            );
        }
        for net in &c.nets {
            let one = Columns {
                nets: vec![net.clone()],
                ..offsets_only.clone()
            };
            println!(
                "  net {:<18} {:>5} bytes",
                net.net_id,
                encode(&one).len() - base
            );
        }
    }

    #[test]
    fn seed_bytes_per_value() {
        let (mut bytes, mut values) = (0, 0);
        for c in seed_columns() {
            let len = round_trip(&c).len();
            println!(
                "seed device: {} samples, {} values, {len} bytes, {:.3} bytes/value",
                c.len(),
                c.value_count(),
                len as f64 / c.value_count() as f64
            );
            print_breakdown(&c);
            bytes += len;
            values += c.value_count();
        }
        let per_value = bytes as f64 / values as f64;
        println!("seed: {values} values in {bytes} bytes: {per_value:.3} bytes/value");
        assert!(per_value <= 1.5, "{per_value}");
    }

    #[test]
    fn arithmetic_time_offsets_take_three_bytes() {
        let c = Columns {
            time_offset: (0..1800).map(|i| 1000 + 2 * i).collect(),
            ..Default::default()
        };
        // version, n (2 bytes), tag, first (2 bytes), step, metric count, net count
        assert_eq!(round_trip(&c).len(), 9);
    }

    /// Seeded test data: the same values on every run.
    struct Rng(StdRng);

    impl Rng {
        fn seeded(seed: u64) -> Rng {
            Rng(StdRng::seed_from_u64(seed))
        }
        fn next(&mut self) -> u64 {
            self.0.random()
        }
        /// Uniform in `lo..=hi`.
        fn int(&mut self, lo: i64, hi: i64) -> i64 {
            self.0.random_range(lo..=hi)
        }
        fn chance(&mut self, p: f64) -> bool {
            self.0.random_bool(p)
        }
    }

    /// A one-hour part: 1800 samples, every metric, two links; random walks with noise, spikes,
    /// stretches of zeros, two-decimal floats and a few gaps in the time offsets.
    fn synthetic(n: usize, seed: u64) -> Columns {
        let mut rng = Rng::seeded(seed);
        let mut time_offset = Vec::with_capacity(n);
        let mut t = 0;
        for _ in 0..n {
            time_offset.push(t);
            t += if rng.chance(0.01) { rng.int(3, 6) } else { 2 };
        }
        let mut series = |f: &mut dyn FnMut(&mut Rng, usize) -> f64| -> Vec<f64> {
            (0..n).map(|i| f(&mut rng, i)).collect()
        };
        let hundredths = |x: i64| x as f64 / 100.0;
        let mut level = 600;
        let rate = series(&mut |r, _| {
            level = (level + r.int(-15, 15)).clamp(300, 900);
            if r.chance(0.01) {
                0.0
            } else {
                (level + r.int(-80, 80)) as f64
            }
        });
        let fps = series(&mut |r, _| {
            if r.chance(0.01) {
                0.0
            } else {
                (19 + r.int(-1, 1)) as f64
            }
        });
        let lost = series(&mut |r, _| {
            if r.chance(0.95) {
                0.0
            } else {
                hundredths(r.int(1, 300))
            }
        });
        let network_latency = series(&mut |r, i| match i {
            0 | 1 => -1.0,
            _ if r.chance(0.02) => r.int(200, 600) as f64,
            _ => (80 + r.int(-10, 10)) as f64,
        });
        let video_latency = series(&mut |r, _| {
            if r.chance(0.03) {
                0.0
            } else {
                (60 + r.int(-15, 15)) as f64
            }
        });
        let mut cpu = 3502;
        let cpu_used = series(&mut |r, _| {
            if r.chance(0.1) {
                cpu = (cpu + r.int(-300, 300)).clamp(500, 9500);
            }
            hundredths(cpu)
        });
        let mut mem = 7125;
        let mem_used = series(&mut |r, _| {
            if r.chance(0.05) {
                mem = (mem + r.int(-50, 50)).clamp(4000, 9900);
            }
            hundredths(mem)
        });
        let decode_cost = series(&mut |r, _| if r.chance(0.03) { r.int(5, 12) } else { r.int(1, 3) } as f64);
        let stall = |mut k: i64| {
            move |r: &mut Rng, _: usize| {
                if r.chance(0.02) {
                    k = if r.chance(0.3) { 0 } else { r.int(0, 200) };
                }
                hundredths(k)
            }
        };
        let k100 = series(&mut stall(120));
        let k150 = series(&mut stall(57));
        let mut burst = (0, 0);
        let nack = series(&mut |r, _| {
            if burst.0 == 0 && r.chance(0.05) {
                burst = (r.int(1, 5), r.int(1, 40));
            }
            if burst.0 > 0 {
                burst.0 -= 1;
                burst.1 as f64
            } else {
                0.0
            }
        });
        let bitrate_estimate = series(&mut |r, _| {
            if r.chance(0.8) {
                2000.0
            } else {
                (2000 - r.int(0, 1100)) as f64
            }
        });
        let encode_cost = series(&mut |r, _| r.int(7, 28) as f64);
        let capture_cost = vec![0.0; n];
        let render_cost = series(&mut |r, _| r.int(0, 2) as f64);
        let frame_delta = series(&mut |r, _| if r.chance(0.02) { r.int(4, 63) } else { 50 + r.int(-1, 1) } as f64);
        let max_frame_delta = series(&mut |r, _| if r.chance(0.02) { r.int(100, 360) } else { r.int(58, 90) } as f64);
        let mut total = 6000;
        let total_bitrate = series(&mut |r, _| {
            total = (total + r.int(-50, 50)).clamp(2500, 7500);
            (total + r.int(-300, 300)) as f64
        });
        let lag100 = series(&mut |r, _| if r.chance(0.92) { 0 } else { r.int(1, 400) } as f64);
        let lag150 = series(&mut |r, _| if r.chance(0.97) { 0 } else { r.int(1, 250) } as f64);
        let control_latency = series(&mut |r, _| (30 + r.int(-8, 8)) as f64);
        let net = |r: &mut Rng, id: i64, ip: &str, rtt: i64, send: i64, recv: i64| {
            let mut col = |f: &mut dyn FnMut(&mut Rng) -> i64| -> Vec<f64> {
                (0..n).map(|_| f(r) as f64).collect()
            };
            NetColumns {
                net_id: id,
                net_ip: ip.to_owned(),
                rtt: col(&mut |r| {
                    if r.chance(0.01) {
                        r.int(150, 300)
                    } else {
                        rtt + r.int(-rtt / 8, rtt / 8)
                    }
                }),
                lost: col(&mut |r| if r.chance(0.97) { 0 } else { r.int(1, 3) }),
                send_bps: col(&mut |r| {
                    if r.chance(0.03) {
                        r.int(300, 1500)
                    } else {
                        send + r.int(-send / 7, send / 7)
                    }
                }),
                recv_bps: col(&mut |r| {
                    if r.chance(0.03) {
                        r.int(40, 90)
                    } else {
                        recv + r.int(-3, 3)
                    }
                }),
            }
        };
        let nets = vec![
            net(&mut rng, 0, "192.168.11.2", 65, 700, 23),
            net(&mut rng, 1, "192.168.10.2", 110, 32, 34),
        ];
        let metrics = vec![
            (Metric::Rate, rate),
            (Metric::Fps, fps),
            (Metric::Lost, lost),
            (Metric::NetworkLatency, network_latency),
            (Metric::VideoLatency, video_latency),
            (Metric::CpuUsed, cpu_used),
            (Metric::MemUsed, mem_used),
            (Metric::DecodeCost, decode_cost),
            (Metric::K100, k100),
            (Metric::K150, k150),
            (Metric::NACK, nack),
            (Metric::BitRateEstimate, bitrate_estimate),
            (Metric::EncodeCost, encode_cost),
            (Metric::CaptureCost, capture_cost),
            (Metric::RenderCost, render_cost),
            (Metric::FrameDelta, frame_delta),
            (Metric::MaxFrameDelta, max_frame_delta),
            (Metric::TotalBitrateEstimate, total_bitrate),
            (Metric::Lag100Duration, lag100),
            (Metric::Lag150Duration, lag150),
            (Metric::ControlLatency, control_latency),
        ];
        Columns {
            time_offset,
            metrics,
            nets,
        }
    }

    #[test]
    fn quick_effort_round_trips_and_stays_compact() {
        let hour = synthetic(1800, 11);
        let mut chunks: Vec<Columns> = (0..1800)
            .step_by(30)
            .map(|i| rows(&hour, i..i + 30))
            .collect();
        chunks.extend(seed_columns());
        chunks.push(rows(&hour, 0..1));
        let (mut quick, mut smallest) = (0, 0);
        for c in &chunks {
            let bytes = encode_with(c, Effort::Quick);
            assert_identical(&decode(&bytes).unwrap(), c);
            quick += bytes.len();
            smallest += encode(c).len();
        }
        assert!(smallest <= quick, "{smallest} > {quick}");
        assert!(
            quick * 2 <= smallest * 3,
            "quick {quick} bytes, smallest {smallest}"
        );
    }

    #[test]
    fn synthetic_hour_round_trips_compactly() {
        let c = synthetic(1800, 7);
        assert_eq!(c.value_count(), 1800 * 30);
        validate(&c).unwrap();
        let bytes = round_trip(&c);
        let per_value = bytes.len() as f64 / c.value_count() as f64;
        println!(
            "synthetic hour: {} values in {} bytes: {per_value:.3} bytes/value",
            c.value_count(),
            bytes.len()
        );
        print_breakdown(&c);
        assert!(per_value <= 2.0, "{per_value}");
        // The same hour stored as chunks of k samples (each chunk pays its own headers).
        for k in [1, 5, 15, 30, 150, 600] {
            let total: usize = (0..1800)
                .step_by(k)
                .map(|i| encode(&rows(&c, i..(i + k).min(1800))).len())
                .sum();
            println!(
                "synthetic hour in chunks of {k:>3}: {:.3} bytes/value",
                total as f64 / c.value_count() as f64
            );
        }

        // Timing, printed and never asserted (run with --release for meaningful numbers).
        let rounds = 200;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(decode(std::hint::black_box(&bytes)).unwrap());
        }
        let per_decode = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..20 {
            std::hint::black_box(encode(std::hint::black_box(&c)));
        }
        let per_encode = start.elapsed() / 20;
        println!("synthetic hour: decode {per_decode:?}, encode {per_encode:?}");
    }

    fn rows(c: &Columns, range: std::ops::Range<usize>) -> Columns {
        Columns {
            time_offset: c.time_offset[range.clone()].to_vec(),
            metrics: c
                .metrics
                .iter()
                .map(|(m, v)| (*m, v[range.clone()].to_vec()))
                .collect(),
            nets: c
                .nets
                .iter()
                .map(|n| NetColumns {
                    net_id: n.net_id,
                    net_ip: n.net_ip.clone(),
                    rtt: n.rtt[range.clone()].to_vec(),
                    lost: n.lost[range.clone()].to_vec(),
                    send_bps: n.send_bps[range.clone()].to_vec(),
                    recv_bps: n.recv_bps[range.clone()].to_vec(),
                })
                .collect(),
        }
    }

    fn bump(c: &Columns, by: f64) -> Columns {
        let mut c = c.clone();
        c.metrics
            .iter_mut()
            .for_each(|(_, v)| v.iter_mut().for_each(|x| *x += by));
        c.nets
            .iter_mut()
            .for_each(|n| n.rtt.iter_mut().for_each(|x| *x += by));
        c
    }

    #[test]
    fn merge_orders_out_of_order_chunks() {
        let full = synthetic(100, 3);
        let parts = vec![
            rows(&full, 70..100),
            rows(&full, 0..30),
            rows(&full, 30..70),
        ];
        assert_identical(&merge(parts).unwrap(), &full);
        // Encoded and decoded chunks merge the same way.
        let decoded = [60..100, 0..10, 10..60]
            .into_iter()
            .map(|r| decode(&encode(&rows(&full, r))).unwrap())
            .collect();
        assert_identical(&merge(decoded).unwrap(), &full);
        assert_eq!(merge(vec![]).unwrap(), Columns::default());
        assert_identical(&merge(vec![full.clone()]).unwrap(), &full);
    }

    #[test]
    fn merge_keeps_the_first_of_duplicate_offsets() {
        let full = synthetic(50, 4);
        let a = rows(&full, 0..30);
        let b = bump(&rows(&full, 20..50), 1000.0);
        let merged = merge(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(merged.time_offset, full.time_offset);
        let expected = Columns {
            time_offset: full.time_offset.clone(),
            metrics: a
                .metrics
                .iter()
                .zip(&b.metrics)
                .map(|((m, va), (_, vb))| (*m, [&va[..], &vb[10..]].concat()))
                .collect(),
            nets: merged.nets.clone(),
        };
        assert_identical(&merged, &expected);
        assert_eq!(merged.nets[0].rtt[..30], a.nets[0].rtt[..]);
        assert_eq!(merged.nets[0].rtt[30..], b.nets[0].rtt[10..]);

        // The other order: b wins on 20..30.
        let merged = merge(vec![b.clone(), a.clone()]).unwrap();
        assert_eq!(merged.metrics[0].1[..20], a.metrics[0].1[..20]);
        assert_eq!(merged.metrics[0].1[20..], b.metrics[0].1[..]);

        // A chunk stored twice merges to itself.
        assert_identical(&merge(vec![a.clone(), bump(&a, 1.0)]).unwrap(), &a);
    }

    #[test]
    fn merge_rejects_mismatched_chunks() {
        let full = synthetic(40, 5);
        let a = rows(&full, 0..20);
        let mut b = rows(&full, 20..40);
        b.metrics.remove(3);
        let e = merge(vec![a.clone(), b.clone()]).unwrap_err();
        assert!(e.0.contains("NetworkLatency"), "{e}");
        assert!(merge(vec![b, a.clone()]).is_err());
        let mut c = rows(&full, 20..40);
        c.nets[1].net_id = 9;
        assert!(merge(vec![a.clone(), c]).is_err());
        let mut d = rows(&full, 20..40);
        d.nets.pop();
        assert!(merge(vec![a.clone(), d]).is_err());
        let mut e = rows(&full, 20..40);
        e.metrics[0].1.pop();
        assert!(merge(vec![a, e]).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        for c in seed_columns().into_iter().chain([synthetic(300, 11)]) {
            let bytes = encode(&c);
            for len in 0..bytes.len() {
                assert!(
                    decode(&bytes[..len]).is_err(),
                    "prefix of {len} of {} bytes decoded",
                    bytes.len()
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(decode(&longer).unwrap_err().0.contains("trailing"));
        }
    }

    #[test]
    fn garbage_is_an_error_and_never_a_panic() {
        let mut rng = Rng::seeded(99);
        for i in 0..5000 {
            let len = rng.int(0, 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i % 2 == 0 && !bytes.is_empty() {
                bytes[0] = VERSION; // get past the version check
            }
            let result = decode(&bytes);
            if i % 2 == 1 {
                assert!(result.is_err(), "{bytes:?}");
            }
            if let Ok(c) = result {
                validate(&c).unwrap();
            }
            let _ = decode_offsets(&bytes);
        }
        // Corrupting single bytes of a valid chunk: an error, or columns that keep the invariants.
        let bytes = encode(&seed_columns()[0]);
        for pos in 0..bytes.len() {
            for _ in 0..8 {
                let mut bad = bytes.clone();
                bad[pos] ^= rng.int(1, 255) as u8;
                if let Ok(c) = decode(&bad) {
                    validate(&c).unwrap();
                }
            }
        }
    }

    #[test]
    fn malformed_headers_are_errors() {
        let empty = encode(&Columns::default());
        assert_eq!(empty, [VERSION, 0, 0, 0, 0, 0]);
        let mut wrong_version = empty.clone();
        wrong_version[0] = 2;
        assert!(decode(&wrong_version).unwrap_err().0.contains("version"));
        // One sample, TimeOffset 5, then metric id 21.
        let unknown_metric = [VERSION, 1, 0x00, 10, 1, 21, 0x00, 0, 0];
        assert!(decode(&unknown_metric)
            .unwrap_err()
            .0
            .contains("unknown metric"));
        let known = [VERSION, 1, 0x00, 10, 1, 20, 0x00, 0, 0];
        assert_eq!(
            decode(&known).unwrap().metric(Metric::ControlLatency),
            Some(&[0.0][..])
        );
        // Metrics out of order, repeated.
        assert!(decode(&[VERSION, 1, 0x00, 10, 2, 3, 0x00, 0, 2, 0x00, 0, 0]).is_err());
        assert!(decode(&[VERSION, 1, 0x00, 10, 2, 3, 0x00, 0, 3, 0x00, 0, 0]).is_err());
        // TimeOffset not increasing: two samples, constant 5.
        assert!(decode(&[VERSION, 2, 0x00, 10, 0, 0])
            .unwrap_err()
            .0
            .contains("increasing"));
        // Too many samples, and a tiny chunk asking for more than MAX_VALUES values.
        let mut huge = vec![VERSION];
        put_uvarint(&mut huge, MAX_SAMPLES as u64 + 1);
        huge.extend([TAG_DELTA, 0, 2, 0, 0]);
        assert!(decode(&huge).unwrap_err().0.contains("sample count"));
        let mut bomb = vec![VERSION];
        put_uvarint(&mut bomb, MAX_SAMPLES as u64);
        bomb.extend([TAG_DELTA, 0, 2, 21]);
        for id in 0..21 {
            bomb.extend([id, 0x00, 0]);
        }
        bomb.push(0);
        assert!(decode(&bomb).unwrap_err().0.contains("values"));
        // Scaled integer beyond 2^53, and a bad scale.
        let mut big = vec![VERSION, 1, 0x00, 0, 1, 0, 0x00];
        put_ivarint(&mut big, 1 << 53);
        big.push(0);
        assert!(decode(&big).unwrap_err().0.contains("2^53"));
        assert!(decode(&[VERSION, 1, 0x00, 0, 1, 0, 0x47, 0, 0]).is_err());
        // Net ip not utf-8; nets out of order.
        assert!(
            decode(&[VERSION, 0, 0x00, 0, 0, 1, 0, 1, 0xff, 0, 0, 0, 0, 0, 0, 0, 0])
                .unwrap_err()
                .0
                .contains("utf-8")
        );
        let two_nets = [
            VERSION, 0, 0x00, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert!(decode(&two_nets).unwrap_err().0.contains("order"));
    }

    #[test]
    fn decode_offsets_equals_decoded_time_offset() {
        for c in seed_columns()
            .into_iter()
            .chain([synthetic(1800, 8), Columns::default()])
        {
            let bytes = encode(&c);
            assert_eq!(
                decode_offsets(&bytes).unwrap(),
                decode(&bytes).unwrap().time_offset
            );
        }
    }

    #[test]
    fn decimal_scale_is_the_smallest_exact_one() {
        let mut ints = Vec::new();
        assert_eq!(scale_of(&[35.02, 1.2, 0.57, -1.0, 0.0], &mut ints), Some(2));
        assert_eq!(ints, [3502, 120, 57, -100, 0]);
        assert_eq!(scale_of(&[267.0, -1.0], &mut ints), Some(0));
        assert_eq!(scale_of(&[], &mut ints), Some(0));
        assert_eq!(scale_of(&[0.000001, 123456.789012], &mut ints), Some(6));
        assert_eq!(scale_of(&[9_007_199_254_740_991.0], &mut ints), Some(0));
        for bad in [
            0.1 + 0.2,
            0.0000001,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            9_007_199_254_740_992.0,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(scale_of(&[1.0, bad], &mut ints), None, "{bad}");
        }
    }

    #[test]
    fn special_values_round_trip_exactly() {
        let odd = vec![
            0.1 + 0.2,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            f64::MIN_POSITIVE,
            35.02,
            -1.0,
            0.0,
        ];
        let n = odd.len();
        let c = Columns {
            time_offset: vec![
                i64::MIN,
                -5,
                -1,
                0,
                1,
                2,
                1 << 53,
                1 << 62,
                i64::MAX - 1,
                i64::MAX,
            ],
            metrics: vec![
                (Metric::Rate, vec![-1.0; n]),
                (Metric::Lost, odd.clone()),
                (
                    Metric::NetworkLatency,
                    vec![
                        -1.0,
                        5.0,
                        -1.0,
                        7.0,
                        -9_007_199_254_740_991.0,
                        9_007_199_254_740_991.0,
                        0.0,
                        -1.0,
                        -1.0,
                        3.0,
                    ],
                ),
                (Metric::CpuUsed, vec![35.02; n]),
                (Metric::MemUsed, vec![-0.0; n]),
                (Metric::K100, (0..n).map(|i| i as f64 * 0.1).collect()),
            ],
            nets: vec![NetColumns {
                net_id: -3,
                net_ip: "fe80::1%eth0 链路".into(),
                rtt: odd.clone(),
                lost: vec![0.0; n],
                send_bps: (0..n).map(|i| (i as f64) * 1e15).collect(),
                recv_bps: vec![f64::NAN; n],
            }],
        };
        round_trip(&c);
        let bytes = encode(&c);
        let back = decode(&bytes).unwrap();
        assert_eq!(
            back.metric(Metric::Lost).unwrap()[0].to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        assert!(back.metric(Metric::Lost).unwrap()[1].is_sign_negative());
        assert_eq!(back.metric(Metric::Rate).unwrap(), &[-1.0; 10][..]);
    }

    #[test]
    fn empty_and_partial_parts_round_trip() {
        round_trip(&Columns::default());
        let seed = seed_columns();
        // Zero samples but metrics and nets (all columns empty).
        round_trip(&rows(&seed[0], 0..0));
        // One sample.
        round_trip(&rows(&seed[0], 5..6));
        // No nets (the remote device), and no metrics but nets.
        assert!(seed[1].nets.is_empty());
        round_trip(&seed[1]);
        round_trip(&Columns {
            metrics: vec![],
            ..seed[0].clone()
        });
        // Only offsets.
        round_trip(&Columns {
            time_offset: seed[1].time_offset.clone(),
            ..Default::default()
        });
    }

    /// Every scheme, forced, reads back what it wrote, whatever the encoder would have chosen.
    #[test]
    fn every_scheme_round_trips() {
        let mut rng = Rng::seeded(1234);
        let mut shapes: Vec<Vec<i64>> = vec![
            vec![],
            vec![7],
            vec![0, i64::MAX, i64::MIN, -1, 1, i64::MIN, i64::MAX],
            vec![5; 300],
            (0..1000).map(|i| i * 2).collect(),
        ];
        for _ in 0..40 {
            let len = rng.int(0, 700) as usize;
            let spread = 1i64 << rng.int(0, 62);
            let zero_rate = rng.int(0, 100) as f64 / 100.0;
            shapes.push(
                (0..len)
                    .map(|_| {
                        if rng.chance(zero_rate) {
                            0
                        } else {
                            rng.int(-spread, spread)
                        }
                    })
                    .collect(),
            );
        }
        for s in &shapes {
            let mut bodies: Vec<(u8, Vec<u8>)> = vec![(SCHEME_RLE, put_rle(s))];
            for log in 0..=PFOR_MAX_LOG {
                bodies.push((SCHEME_PFOR, put_pfor(s, log, &mut Vec::new())));
            }
            if let Some(body) = put_sparse(s, usize::MAX) {
                bodies.push((SCHEME_SPARSE, body));
            }
            let mut chosen = Vec::new();
            let bits = put_ints(s, true, &mut chosen);
            for (scheme, body) in bodies.iter().chain([&(bits, chosen)]) {
                let mut r = Reader { buf: body, pos: 0 };
                let mut out = Vec::new();
                if scheme == &bits {
                    read_ints(&mut r, bits, s.len(), &mut out, true).unwrap();
                } else {
                    read_seq(&mut r, *scheme, s.len(), &mut out, true).unwrap();
                }
                assert_eq!(&out, s, "scheme {scheme}");
                assert_eq!(r.pos, body.len());
            }
        }
    }
}
