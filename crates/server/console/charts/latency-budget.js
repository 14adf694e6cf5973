// The latency budget view: the stages (session/budget.js) stacked against the glass-to-glass target, so
// it is clear which stage broke the budget and when; the remote's measured VideoLatency, where reported,
// is drawn over the stack for comparison. Beside it: each stage's median and p95 and its share of the
// budget, and how often the stack was over.

import { h } from '../dom.js';
import { num } from '../format.js';
import { STAGES, budgetColumns, budgetStack } from '../session/budget.js';
import { percentile } from '../session/stats.js';
import { plotted, spread } from '../session/timeline.js';
import { swatch } from '../widgets/swatch.js';
import { timeSeriesCard } from './timeseries.js';

export function latencyBudgetView({ timeline, budgetMs, group, incidents, interval = 2 }) {
  const cols = budgetColumns(timeline, interval);
  if (!cols.length) return null;
  const { tops, moments, over, culprit } = budgetStack(timeline, cols, budgetMs);
  const remote = timeline.parts.find((p) => p.type === 'remote');
  const measured = remote && remote.detail.VideoLatency && remote.detail.VideoLatency.length
    ? spread(timeline, remote, remote.detail.VideoLatency, (v) => plotted('VideoLatency', v))
    : null;
  // Bottom stage first, as the table reads; each stage is filled down to the one below it (uPlot bands).
  const series = cols.map((c, k) => ({
    label: c.label,
    values: tops[k],
    color: c.color,
    fill: c.color,
    width: 1,
    format: (u, v, si, di) => (di == null || c.values[di] == null ? '—' : `${num(c.values[di], 1)} ms`),
  }));
  const bands = cols.slice(1).map((c, k) => ({ series: [k + 2, k + 1] }));
  if (measured) series.push({ label: 'measured video latency', values: measured, color: '#111827', width: 1.5 });

  const partial = cols.find((c) => c.partial);
  const card = timeSeriesCard({
    id: 'latency-budget',
    title: 'Latency budget: where the glass-to-glass time goes',
    unit: 'ms',
    note: `Stages stacked against the ${budgetMs} ms target. Network is estimated as half of each device's round trip to the server.`,
    xs: timeline.xs,
    series,
    bands,
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
      return h('tr', { dataset: { stage: c.id } }, h('td', swatch(c.color), c.label),
        h('td.num', `${num(percentile(c.values, 50), 1)} ms`), h('td.num', `${num(p95, 1)} ms`),
        h('td.num', p95 == null ? '—' : `${num((100 * p95) / budgetMs, 0)} %`));
    }),
    h('tr.total', h('td', { colspan: 2 }, 'sum of p95s'), h('td.num', `${num(p95sum, 1)} ms`), h('td.num', `${num((100 * p95sum) / budgetMs, 0)} %`))));
  const verdict = moments === 0
    ? 'Not enough reports to add the stages up.'
    : over === 0
      ? `Within the ${budgetMs} ms budget at every one of ${moments} moments.`
      : `Over the ${budgetMs} ms budget at ${over} of ${moments} moments (${num((100 * over) / moments, 1)} %)${culprit ? `; the largest stage then was ${culprit}` : ''}.`;
  const missing = STAGES.filter((s) => !cols.some((c) => c.id === s.id)).map((s) => s.label);
  const side = h('aside.budget-side',
    h(`p.verdict${over ? '.over' : ''}`, verdict),
    table,
    partial ? h('p.muted.budget-partial', `Only the ${partial.partial} device reports its round trip: the network stage holds the ${partial.partial === 'field' ? 'field → server' : 'server → remote'} leg only, so it and the total are understated.`) : null,
    missing.length ? h('p.muted', `Not reported by the devices: ${missing.join(', ')}.`) : null);
  const view = h('div.budget-view', card, side);
  view.card = card;
  return view;
}
