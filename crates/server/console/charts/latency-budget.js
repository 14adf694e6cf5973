// The latency budget: where the glass-to-glass time goes, stage by stage, against the target
// (DescribeSessionQuality.LatencyBudgetMs, 150 ms by default: the vendor's public-network target,
// docs/api.md §5). The stages are the costs the devices report: capture and encode on the field device,
// the network, decode and render on the remote device. The network stage is an estimate from the two
// round trips the devices measure to the server: field->server is half the field's NetworkLatency,
// server->remote half the remote's. Stages are stacked per moment (each device's nearest report within
// one reporting period), so the chart shows which stage broke the budget and when; the remote's measured
// VideoLatency, where reported, is drawn over the stack for comparison.

import { h } from '../dom.js';
import { num } from '../format.js';
import { plotted } from '../session/timeline.js';
import { percentile } from '../session/stats.js';
import { timeSeriesCard } from './timeseries.js';

export const STAGES = [
  { id: 'capture', label: 'capture', device: 'field', metric: 'CaptureCost', color: '#a5b4fc' },
  { id: 'encode', label: 'encode', device: 'field', metric: 'EncodeCost', color: '#818cf8' },
  { id: 'network', label: 'network', device: 'both', metric: 'NetworkLatency', color: '#fbbf24' },
  { id: 'decode', label: 'decode', device: 'remote', metric: 'DecodeCost', color: '#34d399' },
  { id: 'render', label: 'render', device: 'remote', metric: 'RenderCost', color: '#10b981' },
];

/** The value of `part`'s column at time t: its nearest report within `window` seconds, else null. */
function nearest(part, values, t, window, map) {
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
    if (Math.abs(times[i] - t) <= window && (best < 0 || Math.abs(times[i] - t) < Math.abs(times[best] - t))) best = i;
  }
  return best < 0 ? null : map(values[best]);
}

/** Stage columns over the timeline's x axis; a stage nobody reported is left out. */
export function budgetColumns(timeline, interval = 2) {
  const field = timeline.parts.find((p) => p.type === 'field');
  const remote = timeline.parts.find((p) => p.type === 'remote');
  const has = (p, m) => p && p.detail[m] && p.detail[m].length;
  const cols = [];
  for (const s of STAGES) {
    let values;
    if (s.id === 'network') {
      const f = has(field, 'NetworkLatency');
      const r = has(remote, 'NetworkLatency');
      if (!f && !r) continue;
      values = timeline.xs.map((t) => {
        const a = f ? nearest(field, field.detail.NetworkLatency, t, interval, (v) => plotted('NetworkLatency', v)) : 0;
        const b = r ? nearest(remote, remote.detail.NetworkLatency, t, interval, (v) => plotted('NetworkLatency', v)) : 0;
        return a == null || b == null ? null : (a + b) / 2;
      });
    } else {
      const part = s.device === 'field' ? field : remote;
      if (!has(part, s.metric)) continue;
      values = timeline.xs.map((t) => nearest(part, part.detail[s.metric], t, interval, (v) => (v == null || v < 0 ? null : v)));
    }
    cols.push({ ...s, values });
  }
  return cols;
}

export function latencyBudgetView({ timeline, budgetMs, group, incidents, interval = 2 }) {
  const cols = budgetColumns(timeline, interval);
  if (!cols.length) return null;
  const n = timeline.xs.length;
  // Cumulative tops, bottom stage first; a moment where a stage is unknown is a gap in the stack.
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
  const remote = timeline.parts.find((p) => p.type === 'remote');
  const measured = remote && remote.detail.VideoLatency && remote.detail.VideoLatency.length
    ? timeline.xs.map((t, i) => (remote.pos[i] >= 0 ? plotted('VideoLatency', remote.detail.VideoLatency[remote.pos[i]]) : undefined))
    : null;
  // Draw the largest cumulative first: each fill runs down to 0 and the next stage paints over it.
  const series = cols.map((c, k) => ({
    label: c.label,
    values: tops[k],
    color: c.color,
    fill: c.color,
    width: 1,
    format: (u, v, si, di) => (di == null || c.values[di] == null ? '—' : `${num(c.values[di], 1)} ms`),
  })).reverse();
  if (measured) series.push({ label: 'measured video latency', values: measured, color: '#111827', width: 1.5 });

  let over = 0;
  let knownTotal = 0;
  const worstStage = new Map();
  for (let i = 0; i < n; i++) {
    if (total[i] == null) continue;
    knownTotal++;
    if (total[i] > budgetMs) {
      over++;
      let best = null;
      for (const c of cols) if (c.values[i] != null && (!best || c.values[i] > best.values[i])) best = c;
      if (best) worstStage.set(best.label, (worstStage.get(best.label) || 0) + 1);
    }
  }
  const culprit = [...worstStage.entries()].sort((a, b) => b[1] - a[1])[0];
  const card = timeSeriesCard({
    id: 'latency-budget',
    title: 'Latency budget: where the glass-to-glass time goes',
    unit: 'ms',
    note: `Stages stacked against the ${budgetMs} ms target. Network is estimated as half of each device's round trip to the server.`,
    xs: timeline.xs,
    series,
    thresholds: [{ value: budgetMs, grade: 'bad', label: `budget ${budgetMs} ms` }],
    incidents,
    group,
    height: 220,
  });
  const p95sum = cols.reduce((a, c) => a + (percentile(c.values, 95) || 0), 0);
  const table = h('table.compact.budget-table',
    h('thead', h('tr', h('th', 'stage'), h('th.num', 'median'), h('th.num', 'p95'), h('th.num', 'of budget'))),
    h('tbody', cols.map((c) => {
      const p95 = percentile(c.values, 95);
      return h('tr', h('td', h('span.swatch', { dataset: { color: c.id } }), c.label),
        h('td.num', `${num(percentile(c.values, 50), 1)} ms`), h('td.num', `${num(p95, 1)} ms`),
        h('td.num', p95 == null ? '—' : `${num((100 * p95) / budgetMs, 0)} %`));
    }),
    h('tr.total', h('td', { colspan: 2 }, 'sum of p95s'), h('td.num', `${num(p95sum, 1)} ms`), h('td.num', `${num((100 * p95sum) / budgetMs, 0)} %`))));
  const verdict = knownTotal === 0
    ? 'Not enough reports to add the stages up.'
    : over === 0
      ? `Within the ${budgetMs} ms budget at every one of ${knownTotal} moments.`
      : `Over the ${budgetMs} ms budget at ${over} of ${knownTotal} moments (${num((100 * over) / knownTotal, 1)} %)${culprit ? `; the largest stage then was ${culprit[0]}` : ''}.`;
  const missing = STAGES.filter((s) => !cols.some((c) => c.id === s.id)).map((s) => s.label);
  const side = h('aside.budget-side',
    h(`p.verdict${over ? '.over' : ''}`, verdict),
    table,
    missing.length ? h('p.muted', `Not reported by the devices: ${missing.join(', ')}.`) : null);
  const view = h('div.budget-view', card, side);
  view.attach = (width) => card.attach(width);
  view.card = card;
  return view;
}
