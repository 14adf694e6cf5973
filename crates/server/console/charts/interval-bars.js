// Bars by hour, day or month (DescribeSessionStatisticsByInterval) with the previous period's bars
// beside them (shifted by the period's length, so "this Monday" stands next to "last Monday"). Buckets
// the API leaves out (no session) are drawn as zero. Clicking a bar hands its bucket to `onPick`. The
// buckets are the server's (its time zone, `offset` seconds east of UTC): so are their labels.

import { num } from '../format.js';
import { bucketLabel, bucketStart, bucketTitle } from '../periods.js';
import { barsPath, newPlot } from './plots.js';

const STEP = { hour: 3600, day: 86400 };

/** The bars' colours (the page's legend uses them too). */
export const BAR_COLORS = { current: '#2563eb', previous: '#cbd5e1' };

/** The chart; its uPlot instance is returned (and kept on `el.uplot`): destroy it when the page goes. */
export function intervalBars(el, { current, previous, key, unit, interval, offset, start, end, shift, onPick }) {
  const byStart = new Map(current.map((b) => [b.StartTime, b]));
  const prevByStart = new Map(previous.map((b) => [b.StartTime + shift, b]));
  let xs;
  const step = STEP[interval];
  if (step) {
    xs = [];
    for (let t = bucketStart(start, interval, offset); t <= end; t += step) xs.push(t);
  } else {
    xs = [...new Set([...byStart.keys(), ...prevByStart.keys()])].sort((a, b) => a - b);
  }
  const cur = xs.map((t) => (byStart.has(t) ? byStart.get(t)[key] : 0));
  const prev = xs.map((t) => (prevByStart.has(t) ? prevByStart.get(t)[key] : 0));
  const bucketAt = (i) => byStart.get(xs[i]) || { StartTime: xs[i], EndTime: xs[i] + (step || 86400 * 30) - 1 };
  const width = Math.max(300, el.clientWidth);
  const bars = (align) => barsPath({ size: [0.38, 48], align });
  const fmt = (u, v) => (v == null ? '—' : `${num(v, 0)}${unit ? ' ' + unit : ''}`);
  const u = newPlot({
    width,
    height: 200,
    legend: { live: true },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: true, range: (_u, min, max) => [min - (step || 86400) * 0.6, max + (step || 86400) * 0.6] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [
      // One label per bucket (every n-th when they would crowd), never between two buckets.
      {
        stroke: '#4b5563', grid: { show: false }, font: '11px system-ui, sans-serif',
        splits: () => xs.filter((_t, i) => i % Math.max(1, Math.ceil((xs.length * 52) / width)) === 0),
        values: (_u, splits) => splits.map((t) => bucketLabel(t, interval, offset)),
      },
      { stroke: '#4b5563', grid: { stroke: '#e5e7eb' }, font: '11px system-ui, sans-serif', size: 48 },
    ],
    series: [
      { label: interval, value: (_u, v) => (v == null ? '—' : bucketTitle(v, interval, offset)) },
      { label: 'previous period', fill: BAR_COLORS.previous, stroke: '#94a3b8', width: 0, paths: bars(-1), points: { show: false }, value: fmt },
      { label: 'this period', fill: BAR_COLORS.current, stroke: '#1d4ed8', width: 0, paths: bars(1), points: { show: false }, value: fmt },
    ],
  }, [xs, prev, cur], el);
  u.over.addEventListener('click', () => {
    const i = u.cursor.idx;
    if (i != null && onPick) onPick(bucketAt(i));
  });
  u.over.classList.add('clickable');
  el.uplot = u;
  return u;
}
