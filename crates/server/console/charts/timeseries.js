// One time-series chart of the session page (uPlot): a titled card whose series share the session's
// time axis, with the scorer's thresholds drawn as dotted lines labelled in a box, incidents shaded
// behind the lines, and a legend that shows every series' value under the shared cursor. The uPlot
// instance is kept on the chart's element (`el.uplot`) so the browser tests can read exactly the points
// it holds.

import { h } from '../dom.js';
import { num } from '../format.js';
import { newPlot } from './plots.js';

const GRADE_COLORS = { normal: '#b45309', bad: '#dc2626' };
const INCIDENT_FILL = 'rgba(220, 38, 38, 0.10)';
const INCIDENT_FOCUS = 'rgba(220, 38, 38, 0.24)';
const AXIS = { stroke: '#4b5563', grid: { stroke: '#e5e7eb', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 }, font: '11px system-ui, sans-serif' };

/**
 * spec: {id, title, unit, note, xs, series: [{label, values, color, dash, fill, width, format}],
 * bands: uPlot bands (a stack's fills between its series), thresholds: [{value, grade, label}],
 * incidents: () => [{from, to, focus}], group, height, yMin, yMax}
 * Returns the card element; the chart is created once the card is in the document (`attach()`), as
 * wide as the card's plot area then (`plotWidth()`).
 */
export function timeSeriesCard(spec) {
  const plot = h('div.plot');
  const card = h('section.chart-card', { dataset: { chart: spec.id } },
    h('header.chart-head', h('h3', spec.title), spec.unit ? h('span.unit', spec.unit) : null),
    spec.note ? h('p.chart-note', spec.note) : null,
    plot);
  card.plotWidth = () => plot.clientWidth;
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
  const u = newPlot(opts, data, el);
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

/** y range: from 0 (or the lowest value) to the data's top. A threshold is kept in view when the data
 * comes within half of it, so the headroom shows; one further above is left off the scale rather than
 * squashing the line to the bottom of the chart. */
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

/**
 * The thresholds as dotted lines (a series line is solid or dashed, never dotted), each labelled in a
 * white box above its line at the right (below it near the top): the line never runs through its words,
 * and a label that would cover another one moves to its left.
 */
function drawThresholds(u, thresholds) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const [ymin, ymax] = [u.scales.y.min, u.scales.y.max];
  const px = devicePixelRatio;
  const placed = [];
  ctx.save();
  ctx.font = `${Math.round(11 * px)}px system-ui, sans-serif`;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.lineCap = 'round';
  for (const t of thresholds) {
    if (t.value < ymin || t.value > ymax) continue;
    const color = GRADE_COLORS[t.grade] || '#6b7280';
    const y = Math.round(u.valToPos(t.value, 'y', true)) + 0.5;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.25 * px;
    ctx.setLineDash([0.5 * px, 3.5 * px]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    const w = ctx.measureText(t.label).width + 8 * px;
    const hgt = 15 * px;
    let boxTop = y - 2 * px - hgt;
    if (boxTop < top) boxTop = Math.min(y + 2 * px, top + height - hgt);
    let boxLeft = left + width - 4 * px - w;
    for (let moved = true; moved;) {
      moved = false;
      for (const r of placed) {
        if (boxLeft < r.left + r.w && boxLeft + w > r.left && boxTop < r.top + r.h && boxTop + hgt > r.top) {
          boxLeft = r.left - 6 * px - w;
          moved = true;
        }
      }
    }
    placed.push({ left: boxLeft, top: boxTop, w, h: hgt });
    ctx.setLineDash([]);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.92)';
    ctx.fillRect(boxLeft, boxTop, w, hgt);
    ctx.lineWidth = px;
    ctx.strokeRect(boxLeft + 0.5 * px, boxTop + 0.5 * px, w - px, hgt - px);
    ctx.fillStyle = color;
    ctx.fillText(t.label, boxLeft + 4 * px, boxTop + hgt / 2 + 0.5 * px);
  }
  ctx.restore();
}
