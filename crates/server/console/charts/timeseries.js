// One time-series chart of the session page (uPlot): a titled card whose series share the session's
// time axis, with the scorer's thresholds drawn as dashed lines, incidents shaded behind the lines, and
// a legend that shows every series' value under the shared cursor. The uPlot instance is kept on the
// chart's element (`el.uplot`) so the browser tests can read exactly the points it holds.

import uPlot from '../vendor/uPlot/uPlot.esm.js';
import { h } from '../dom.js';
import { num } from '../format.js';

export const GRADE_COLORS = { normal: '#d97706', bad: '#dc2626' };
const INCIDENT_FILL = 'rgba(220, 38, 38, 0.10)';
const INCIDENT_FOCUS = 'rgba(220, 38, 38, 0.24)';
const AXIS = { stroke: '#4b5563', grid: { stroke: '#e5e7eb', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 }, font: '11px system-ui, sans-serif' };

/**
 * spec: {id, title, unit, note, xs, series: [{label, values, color, dash, fill, width, format}],
 * thresholds: [{value, grade, label}], incidents: () => [{from, to, focus}], group, height,
 * yMin, yMax, stacked}
 * Returns the card element; the chart is created once the card is in the document (`attach()`).
 */
export function timeSeriesCard(spec) {
  const plot = h('div.plot');
  const card = h('section.chart-card', { dataset: { chart: spec.id } },
    h('header.chart-head', h('h3', spec.title), spec.unit ? h('span.unit', spec.unit) : null),
    spec.note ? h('p.chart-note', spec.note) : null,
    plot);
  card.attach = (width) => {
    const u = makePlot(plot, spec, width);
    plot.uplot = u;
    card.uplot = u;
    return u;
  };
  return card;
}

function makePlot(el, spec, width) {
  const thresholds = spec.thresholds || [];
  const opts = {
    width,
    height: spec.height || 170,
    cursor: spec.group ? spec.group.cursor() : { drag: { x: false, y: false } },
    select: { show: true },
    legend: { live: true },
    scales: {
      x: { time: true },
      y: { range: (u, min, max) => yRange(min, max, thresholds, spec) },
    },
    axes: [
      { ...AXIS, space: 70, incrs: TIME_INCRS, values: timeTicks },
      { ...AXIS, size: 56, values: (u, ticks) => ticks.map((t) => num(t, 2)) },
    ],
    series: [
      { label: 'time', value: (u, v) => (v == null ? '—' : new Date(v * 1000).toLocaleTimeString([], { hour12: false })) },
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width || 1.5,
        dash: s.dash || undefined,
        fill: s.fill || undefined,
        points: { show: false },
        spanGaps: false,
        value: s.format || ((u, v) => (v == null ? '—' : num(v, 2))),
      })),
    ],
    bands: spec.bands,
    hooks: {
      ...(spec.group ? spec.group.hooks() : {}),
      drawClear: [(u) => shadeIncidents(u, spec.incidents ? spec.incidents() : [])],
      draw: [(u) => drawThresholds(u, thresholds)],
    },
  };
  const data = [spec.xs, ...spec.series.map((s) => s.values)];
  const u = new uPlot(opts, data, el);
  if (spec.group) spec.group.add(u);
  return u;
}

const pad2 = (n) => String(n).padStart(2, '0');

/** Time-axis steps in whole seconds: reports come every 2 s, so a finer tick would repeat a label. */
export const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400];

/** Time-axis labels in 24-hour local time: seconds when the view is short, the date when it spans days. */
export function timeTicks(u, splits) {
  const span = u.scales.x.max - u.scales.x.min;
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    if (span > 2 * 86400) return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}`;
    return span <= 30 * 60 ? `${hm}:${pad2(d.getSeconds())}` : hm;
  });
}

/** y range: from 0 (or the lowest value), to the data's top; a threshold is kept in view when the
 * data comes within half of it, so the headroom shows; a far-away threshold is named in the note. */
function yRange(min, max, thresholds, spec) {
  if (spec.yMin != null && spec.yMax != null) return [spec.yMin, spec.yMax];
  if (min == null || max == null) { min = 0; max = 1; }
  let top = max;
  for (const t of thresholds) if (max >= 0.5 * t.value) top = Math.max(top, t.value);
  if (spec.yMax != null) top = spec.yMax;
  const bottom = Math.min(0, min);
  if (top === bottom) top = bottom + 1;
  return [bottom, top + (top - bottom) * 0.06];
}

function shadeIncidents(u, incidents) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  for (const inc of incidents) {
    let x0 = u.valToPos(inc.from, 'x', true);
    let x1 = u.valToPos(inc.to, 'x', true);
    if (x1 < left || x0 > left + width) continue;
    x0 = Math.max(left, x0);
    x1 = Math.min(left + width, Math.max(x1, x0 + 2));
    ctx.fillStyle = inc.focus ? INCIDENT_FOCUS : INCIDENT_FILL;
    ctx.fillRect(x0, top, x1 - x0, height);
  }
  ctx.restore();
}

function drawThresholds(u, thresholds) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const [ymin, ymax] = [u.scales.y.min, u.scales.y.max];
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  for (const t of thresholds) {
    if (t.value < ymin || t.value > ymax) continue;
    const y = Math.round(u.valToPos(t.value, 'y', true)) + 0.5;
    ctx.strokeStyle = GRADE_COLORS[t.grade] || '#6b7280';
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    const labelY = y - 3 * devicePixelRatio < top + 10 * devicePixelRatio ? y + 12 * devicePixelRatio : y - 3 * devicePixelRatio;
    ctx.fillText(t.label, left + width - 4 * devicePixelRatio, Math.min(labelY, top + height));
  }
  ctx.restore();
}

/** A scorer threshold (DescribeSessionQuality.Thresholds item) as the two lines drawn on a chart. */
export function thresholdLines(t) {
  const sign = t.Direction === 'below' ? '<' : '>';
  const unit = t.Unit ? ` ${t.Unit}` : '';
  const out = [];
  if (Number.isFinite(t.Normal)) out.push({ value: t.Normal, grade: 'normal', label: `normal ${sign} ${num(t.Normal, 2)}${unit}` });
  if (Number.isFinite(t.Bad)) out.push({ value: t.Bad, grade: 'bad', label: `bad ${sign} ${num(t.Bad, 2)}${unit}` });
  return out;
}
