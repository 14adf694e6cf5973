// The overview brush above the session's charts: the whole session in one strip (both devices'
// bitrate), incidents shaded. Dragging across it zooms every chart to that window; the window stays
// marked on the strip while the charts are zoomed. The strip is the group's too (`group.keep`): the
// group does not zoom it, and destroys it with the page's charts.

import { h } from '../dom.js';
import { newPlot } from './plots.js';
import { TIME_INCRS, timeTicks } from './timeseries.js';

export function overviewBrush({ xs, series, group, incidents }) {
  const plot = h('div.plot.brush-plot');
  const reset = h('button.quiet.small', { type: 'button', onclick: () => group.setRange(null) }, 'Show the whole session');
  reset.disabled = true;
  const card = h('section.brush-card', { dataset: { chart: 'brush' } },
    h('header.chart-head', h('h3', 'Whole session'), h('span.unit', 'drag across this strip or any chart to zoom; double-click a chart to zoom out'), reset),
    plot);
  let u = null;
  let own = false;
  card.plotWidth = () => plot.clientWidth;
  card.attach = (width) => {
    u = newPlot({
      width,
      height: 64,
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
      select: { show: true },
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), (max ?? 1) * 1.05 || 1] } },
      axes: [{ stroke: '#6b7280', grid: { show: false }, ticks: { size: 4 }, size: 22, space: 70, incrs: TIME_INCRS, font: '10px system-ui, sans-serif', values: timeTicks }, { show: false }],
      series: [{}, ...series.map((s) => ({ stroke: s.color, width: 1, fill: s.fill, points: { show: false }, spanGaps: false }))],
      hooks: {
        drawClear: [(uu) => {
          const { ctx } = uu;
          const { top, height } = uu.bbox;
          ctx.save();
          ctx.fillStyle = 'rgba(220, 38, 38, 0.16)';
          for (const inc of incidents()) {
            const x0 = uu.valToPos(inc.from, 'x', true);
            const x1 = uu.valToPos(inc.to, 'x', true);
            ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
          }
          ctx.restore();
        }],
        setSelect: [(uu) => {
          if (own || uu.select.width < 3) return;
          const min = uu.posToVal(uu.select.left, 'x');
          const max = uu.posToVal(uu.select.left + uu.select.width, 'x');
          group.setRange([min, max]);
        }],
      },
    }, [xs, ...series.map((s) => s.values)], plot);
    group.keep(u);
    plot.uplot = u;
    card.uplot = u;
    return u;
  };
  card.showRange = (range) => {
    reset.disabled = !range;
    if (!u) return;
    own = true;
    if (range) {
      const left = u.valToPos(range[0], 'x');
      const right = u.valToPos(range[1], 'x');
      u.setSelect({ left, width: Math.max(2, right - left), top: 0, height: u.bbox.height / devicePixelRatio }, false);
    } else {
      u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
    }
    own = false;
  };
  return card;
}
