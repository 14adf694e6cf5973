// Both ends of a session on one time axis. A device's samples are at absolute time = its part's StartTime
// + TimeOffset (docs/api.md §2.7); the two devices start at different seconds, so their samples interleave.
// uPlot needs one x array per chart, so the x axis is the union of both devices' times, and each device's
// column holds, per x: its value where it has a sample, `undefined` where only the other device has one
// (uPlot draws through those), and `null` where the device missed a report (uPlot breaks the line there):
// a gap is drawn as a gap, never bridged.

import { METRICS } from './metrics.js';

/** A report is missing when two consecutive samples are more than 1.5 reporting periods apart. */
const GAP_FACTOR = 1.5;

/**
 * details: DescribeDeviceSessionDetails.Details (field first, then remote; more parts if a device
 * reconnected). Returns {xs, parts, start, end}; parts[i] = {detail, type, times, pos, gaps} where
 * pos[x] is the sample index at x, -1 for none, -2 for a missed report.
 */
export function buildTimeline(details, interval = 2) {
  const parts = details.map((d) => {
    const times = (d.TimeOffset || []).map((o) => d.StartTime + o);
    const gaps = [];
    for (let i = 1; i < times.length; i++) {
      if (times[i] - times[i - 1] > GAP_FACTOR * interval) gaps.push({ at: times[i - 1] + interval, from: times[i - 1], to: times[i] });
    }
    return { detail: d, type: d.DeviceType, times, gaps };
  });
  const set = new Set();
  for (const p of parts) {
    for (const t of p.times) set.add(t);
    for (const g of p.gaps) set.add(g.at);
  }
  const xs = Float64Array.from(set).sort();
  const index = new Map();
  xs.forEach((t, i) => index.set(t, i));
  for (const p of parts) {
    p.pos = new Int32Array(xs.length).fill(-1);
    p.times.forEach((t, i) => { p.pos[index.get(t)] = i; });
    for (const g of p.gaps) if (p.pos[index.get(g.at)] === -1) p.pos[index.get(g.at)] = -2;
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
 * Concatenates newly fetched points (a Details answer with StartTime) onto what the page holds, part by
 * part (matched by DeviceId and StartTime), skipping offsets it already has. Returns the number of new
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
  held.sort((a, b) => (a.DeviceType === b.DeviceType ? a.StartTime - b.StartTime : a.DeviceType === 'field' ? -1 : 1));
  return added;
}
