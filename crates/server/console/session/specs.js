// What the session page's metric charts draw, from the timeline (both ends on one axis): every metric a
// device reported, both devices on each chart, the scorer's thresholds that apply. A series that is
// constant (or never known) is folded into a note rather than drawn; a metric never reported is left out
// and named once under its group. No DOM here: the page turns the specs into charts.

import { thresholdLines } from './thresholds.js';
import { CHARTS, DASHES, DEVICE_COLORS, METRICS, chartForThreshold } from './metrics.js';
import { describeColumn, plotted, spread } from './timeline.js';
import { withUnit } from '../format.js';

/** {specs: [{id, group, title, unit, xs, series, thresholds, note}], folded: {group: [text]}, missing: {group: [label]}} */
export function chartSpecs(timeline, thresholds) {
  const specs = [];
  const folded = { video: [], network: [], device: [] };
  const missing = { video: [], network: [], device: [] };
  for (const c of CHARTS) {
    const series = [];
    const notes = [];
    const chartFolded = [];
    c.metrics.forEach((m, mi) => {
      const meta = METRICS[m];
      let seen = 0;
      for (const part of timeline.parts) {
        const vals = part.detail[m];
        const name = `${part.type} ${meta.label}`;
        if (!vals || !vals.length) continue;
        seen++;
        const d = describeColumn(m, vals);
        if (d.known === 0) {
          chartFolded.push(`${name}: never known`);
          continue;
        }
        if (d.constant && d.unknown === 0) {
          chartFolded.push(`${name} ${withUnit(d.min, meta.unit)}`);
          continue;
        }
        if (meta.latency && d.unknown) notes.push(`${part.type}: ${d.unknown} of ${vals.length} reports unknown (−1 or 0), drawn as gaps`);
        const colors = DEVICE_COLORS[part.type] || DEVICE_COLORS.field;
        series.push({
          label: name,
          metric: m,
          color: colors[mi % colors.length],
          dash: DASHES[mi % DASHES.length],
          values: spread(timeline, part, vals, (v) => plotted(m, v)),
        });
      }
      if (!seen) missing[c.group].push(meta.label);
    });
    if (!series.length) {
      folded[c.group].push(...chartFolded);
      continue;
    }
    if (chartFolded.length) notes.push(`constant, not drawn: ${chartFolded.join(', ')}`);
    // The stall thresholds come twice (under Lag150Duration and K150, both a share of time): draw once.
    const seen = new Set();
    const lines = thresholds.filter((t) => chartForThreshold(t) === c.id).flatMap(thresholdLines)
      .filter((l) => !seen.has(`${l.grade}:${l.value}`) && seen.add(`${l.grade}:${l.value}`));
    specs.push({ id: c.id, group: c.group, title: c.title, unit: c.unit, xs: timeline.xs, series, thresholds: lines, note: notes.join('; ') || null });
  }
  return { specs, folded, missing };
}

/** Which charts and series the specs make: the page extends its charts in place while this stays. */
export function specKey(specs) {
  return specs.map((s) => `${s.id}:${s.series.map((x) => x.label).join('|')}`).join(',');
}

/** The overview brush's series: each device's bitrate. */
export function brushSeries(timeline) {
  return timeline.parts.filter((p) => p.detail.Rate && p.detail.Rate.length).map((p) => ({
    color: DEVICE_COLORS[p.type][0],
    values: spread(timeline, p, p.detail.Rate),
  }));
}
