// Both ends of a session on one time axis. A device's samples are at absolute time = its part's StartTime
// + TimeOffset (docs/api.md §2.7); the two devices start at different seconds, so their samples interleave.
// uPlot needs one x array per chart, so the x axis is the union of both devices' times, and each device's
// column holds, per x: its value where it has a sample, `undefined` where it has none but is reporting
// (the other device's seconds: uPlot draws through those), and `null` at every x inside a stretch where
// the device missed reports. uPlot breaks a line only from the x before a null to the x after it, so
// every x of the missing stretch must be null, not one: a gap is drawn as a gap, never bridged.

import { METRICS } from './metrics.js';

/** A report is missing when two consecutive samples are more than 1.5 reporting periods apart. */
const GAP_FACTOR = 1.5;

/**
 * details: DescribeDeviceSessionDetails.Details (one per device, field first). Returns {xs, parts, start,
 * end}; parts[i] = {detail, type, times, pos, gaps} where pos[x] is the sample index at x, -1 for none,
 * -2 inside a missing stretch (gaps: [{from, to}], the samples on either side).
 */
export function buildTimeline(details, interval = 2) {
  const parts = details.map((d) => {
    const times = (d.TimeOffset || []).map((o) => d.StartTime + o);
    const gaps = [];
    for (let i = 1; i < times.length; i++) {
      if (times[i] - times[i - 1] > GAP_FACTOR * interval) gaps.push({ from: times[i - 1], to: times[i] });
    }
    return { detail: d, type: d.DeviceType, times, gaps };
  });
  const set = new Set();
  for (const p of parts) {
    for (const t of p.times) set.add(t);
    // One x inside every missing stretch, for when no other device reports there.
    for (const g of p.gaps) set.add(g.from + interval);
  }
  const xs = Float64Array.from(set).sort();
  const index = new Map();
  xs.forEach((t, i) => index.set(t, i));
  for (const p of parts) {
    p.pos = new Int32Array(xs.length).fill(-1);
    p.times.forEach((t, i) => { p.pos[index.get(t)] = i; });
    for (const g of p.gaps) {
      for (let x = index.get(g.from) + 1; xs[x] < g.to; x++) p.pos[x] = -2;
    }
  }
  return {
    xs: Array.from(xs),
    parts,
    start: xs.length ? xs[0] : 0,
    end: xs.length ? xs[xs.length - 1] : 0,
  };
}

/** A metric's value as drawn: latencies of -1 (unknown) or 0 (nothing measured) become null. */
export function plotted(metric, v) {
  if (v == null) return null;
  if (METRICS[metric] && METRICS[metric].latency && v <= 0) return null;
  return v;
}

/** One device part's column of `values` (aligned with its TimeOffset) spread over the x axis. */
export function spread(timeline, part, values, map = (v) => v) {
  const out = new Array(timeline.xs.length);
  const pos = part.pos;
  for (let x = 0; x < pos.length; x++) {
    const i = pos[x];
    if (i >= 0) out[x] = map(values[i]);
    else if (i === -2) out[x] = null;
  }
  return out;
}

/** Summary of a column: {min, max, constant, known, unknown} over its values as plotted. */
export function describeColumn(metric, values) {
  let min = Infinity;
  let max = -Infinity;
  let known = 0;
  for (const raw of values) {
    const v = plotted(metric, raw);
    if (v == null) continue;
    known++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, known, unknown: values.length - known, constant: known > 0 && min === max };
}

/**
 * Concatenates newly fetched points (a Details answer with StartTime) onto what the page holds, device by
 * device (matched by DeviceId and StartTime), skipping offsets it already has. Returns the number of new
 * points.
 */
export function appendDetails(held, fresh) {
  let added = 0;
  for (const f of fresh) {
    let h = held.find((d) => d.DeviceId === f.DeviceId && d.StartTime === f.StartTime);
    if (!h) {
      held.push(f);
      added += (f.TimeOffset || []).length;
      continue;
    }
    const last = h.TimeOffset.length ? h.TimeOffset[h.TimeOffset.length - 1] : -Infinity;
    const keep = [];
    f.TimeOffset.forEach((o, i) => { if (o > last) keep.push(i); });
    if (!keep.length) continue;
    for (const [k, v] of Object.entries(f)) {
      if (!Array.isArray(v) || k === 'MultiNet') continue;
      if (!v.length) continue;
      h[k] = (h[k] || []).concat(keep.map((i) => v[i]));
    }
    (f.MultiNet || []).forEach((n) => {
      let hn = (h.MultiNet || (h.MultiNet = [])).find((x) => x.NetId === n.NetId);
      if (!hn) {
        hn = { NetId: n.NetId, NetIp: n.NetIp, Rtt: [], Lost: [], SendBps: [], RecvBps: [] };
        h.MultiNet.push(hn);
      }
      for (const k of ['Rtt', 'Lost', 'SendBps', 'RecvBps']) hn[k] = hn[k].concat(keep.map((i) => n[k][i]));
    });
    h.EndTime = Math.max(h.EndTime || 0, f.EndTime || 0);
    added += keep.length;
  }
  // Field first, as the API answers: a device that joined later keeps the colours and order of the page.
  held.sort((a, b) => (a.DeviceType === b.DeviceType ? 0 : a.DeviceType === 'field' ? -1 : 1));
  return added;
}
