// The latency budget's numbers (charts/latency-budget.js draws them): where the glass-to-glass time goes,
// stage by stage, against the target (DescribeSessionQuality.LatencyBudgetMs, 150 ms by default: the
// vendor's public-network target, docs/api.md §5). The stages are the costs the devices report: capture
// and encode on the field device, the network, decode and render on the remote device. The network stage
// is an estimate from the round trips the devices measure to the server: field->server is half the
// field's NetworkLatency, server->remote half the remote's. Stages are stacked per moment (a second at
// which a device reported), each device's value being its nearest report less than one reporting period
// away, never one across a stretch of missed reports.

import { plotted } from './timeline.js';

export const STAGES = [
  { id: 'capture', label: 'capture', device: 'field', metric: 'CaptureCost', color: '#a5b4fc' },
  { id: 'encode', label: 'encode', device: 'field', metric: 'EncodeCost', color: '#818cf8' },
  { id: 'network', label: 'network', device: 'both', metric: 'NetworkLatency', color: '#fbbf24' },
  { id: 'decode', label: 'decode', device: 'remote', metric: 'DecodeCost', color: '#34d399' },
  { id: 'render', label: 'render', device: 'remote', metric: 'RenderCost', color: '#10b981' },
];

/**
 * The value of `part`'s column at x index `x` (time t): null inside its missing reports, else its nearest
 * report less than `window` seconds away (the other device's seconds fall between two of its reports).
 */
function nearest(part, values, x, t, window, map) {
  if (part.pos[x] === -2) return null;
  if (part.pos[x] >= 0) return map(values[part.pos[x]]);
  const times = part.times;
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  for (const i of [lo - 1, lo]) {
    if (i < 0 || i >= times.length) continue;
    if (Math.abs(times[i] - t) < window && (best < 0 || Math.abs(times[i] - t) < Math.abs(times[best] - t))) best = i;
  }
  return best < 0 ? null : map(values[best]);
}

/**
 * Stage columns over the timeline's x axis: [{...stage, values, partial}]; a stage nobody reported is left
 * out. When only one device reports its round trip, the network stage holds that leg only and `partial`
 * names the device (the stage, and the stack, are then understated).
 */
export function budgetColumns(timeline, interval = 2) {
  const field = timeline.parts.find((p) => p.type === 'field');
  const remote = timeline.parts.find((p) => p.type === 'remote');
  const has = (p, m) => p && p.detail[m] && p.detail[m].length;
  const halfRtt = (v) => {
    const rtt = plotted('NetworkLatency', v);
    return rtt == null ? null : rtt / 2;
  };
  const cost = (v) => (v == null || v < 0 ? null : v);
  const cols = [];
  for (const s of STAGES) {
    if (s.id === 'network') {
      const legs = [field, remote].filter((p) => has(p, 'NetworkLatency'));
      if (!legs.length) continue;
      const values = timeline.xs.map((t, x) => {
        let sum = 0;
        for (const p of legs) {
          const v = nearest(p, p.detail.NetworkLatency, x, t, interval, halfRtt);
          if (v == null) return null;
          sum += v;
        }
        return sum;
      });
      const partial = legs.length === 1 ? legs[0].type : null;
      cols.push({ ...s, label: partial ? `network (${partial} leg only)` : s.label, values, partial });
      continue;
    }
    const part = s.device === 'field' ? field : remote;
    if (!has(part, s.metric)) continue;
    cols.push({ ...s, values: timeline.xs.map((t, x) => nearest(part, part.detail[s.metric], x, t, interval, cost)), partial: null });
  }
  return cols;
}

/**
 * The stack: `tops[k]` the cumulative top of stage k (null where a stage is unknown: a gap in the
 * stack), `total` per x, and over the moments (the seconds at which a device reported) whose stages are
 * all known: how many, how many over the budget, and which stage was the largest then most often.
 */
export function budgetStack(timeline, cols, budgetMs) {
  const n = timeline.xs.length;
  const tops = [];
  const total = new Array(n).fill(0);
  for (const c of cols) {
    const top = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = c.values[i];
      if (v == null || total[i] == null) total[i] = null;
      else total[i] += v;
      top[i] = total[i];
    }
    tops.push(top);
  }
  let moments = 0;
  let over = 0;
  const worstStage = new Map();
  for (let i = 0; i < n; i++) {
    if (total[i] == null || !timeline.parts.some((p) => p.pos[i] >= 0)) continue;
    moments++;
    if (total[i] > budgetMs) {
      over++;
      let best = null;
      for (const c of cols) if (c.values[i] != null && (!best || c.values[i] > best.values[i])) best = c;
      if (best) worstStage.set(best.label, (worstStage.get(best.label) || 0) + 1);
    }
  }
  const culprit = [...worstStage.entries()].sort((a, b) => b[1] - a[1])[0];
  return { tops, total, moments, over, culprit: culprit ? culprit[0] : null };
}
