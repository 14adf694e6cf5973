// The charts of one session page move together: one cursor (uPlot's cursor sync) and one zoom. Dragging
// across any chart, or the overview brush, or clicking an incident, sets the same x range on every chart;
// double-click on a chart shows the whole session again. The group also owns the charts' lives: one
// `destroy()` destroys every chart of the page, the brush included.

let groups = 0;

export class ChartGroup {
  constructor() {
    this.key = `session-${++groups}`;
    this.charts = new Set(); // zoomed together
    this.others = new Set(); // destroyed with the group, not zoomed by it (the brush)
    this.listeners = new Set();
    this.range = null; // null = whole session
    this.full = [0, 1];
    this.applying = false;
  }

  /** Cursor options for a member chart: shared cursor, drag to zoom on x. */
  cursor() {
    return {
      sync: { key: this.key, setSeries: false },
      drag: { x: true, y: false, setScale: true },
      points: { size: 6 },
    };
  }

  /** uPlot hooks a member chart needs to follow and lead the group. */
  hooks() {
    return {
      setScale: [(u, key) => {
        if (key !== 'x' || this.applying) return;
        const { min, max } = u.scales.x;
        const whole = min <= this.full[0] + 1e-6 && max >= this.full[1] - 1e-6;
        this.setRange(whole ? null : [min, max], u);
      }],
    };
  }

  add(chart) {
    this.charts.add(chart);
    if (this.range) this.applyTo(chart, this.range);
  }

  /** A chart of the page the group does not zoom, destroyed with it. */
  keep(chart) {
    this.others.add(chart);
  }

  /** Destroys one chart of the group (a view rebuilt while the page stays). */
  drop(chart) {
    this.charts.delete(chart);
    this.others.delete(chart);
    chart.destroy();
  }

  /** Called with the new range (or null) whenever the zoom changes. */
  onRange(fn) {
    this.listeners.add(fn);
  }

  setFull(start, end) {
    this.full = [start, end];
  }

  /** Zooms every chart to [min, max] (null: the whole session). `from` has already moved. */
  setRange(range, from) {
    if (range && range[1] - range[0] < 1) range = [range[0] - 0.5, range[1] + 0.5];
    this.range = range;
    this.applying = true;
    try {
      for (const c of this.charts) if (c !== from) this.applyTo(c, range);
    } finally {
      this.applying = false;
    }
    for (const fn of this.listeners) fn(range);
  }

  applyTo(u, range) {
    const [min, max] = range || this.full;
    u.setScale('x', { min, max });
  }

  destroy() {
    for (const c of [...this.charts, ...this.others]) c.destroy();
    this.charts.clear();
    this.others.clear();
    this.listeners.clear();
  }
}
