// The session page: what happened in one session, on both ends, on one time axis.
// Data: DescribeDeviceSessionDetails (the samples, vendor action) and DescribeSessionQuality (grade,
// reasons, incidents, thresholds, latency budget; docs/api.md). While the session runs, the page asks
// every 2 s for the points after the last one it holds (Details with StartTime) and extends the charts.
//
// Layout: the verdict and both devices at the top; the overview brush; the latency budget; the charts
// grouped video / network (with the links) / device; the incidents beside them. Every chart shares the
// cursor and the zoom (charts/chart-group.js).

import { h, mount } from '../dom.js';
import { dateTime, duration, withUnit } from '../format.js';
import { href } from '../routes.js';
import { ChartGroup } from '../charts/chart-group.js';
import { latencyBudgetView } from '../charts/latency-budget.js';
import { linksView } from '../charts/links.js';
import { overviewBrush } from '../charts/overview-brush.js';
import { thresholdLines, timeSeriesCard } from '../charts/timeseries.js';
import { sessionCsv, download } from '../session/csv.js';
import { CHARTS, DASHES, DEVICE_COLORS, GROUPS, METRICS, chartForThreshold } from '../session/metrics.js';
import { appendDetails, buildTimeline, describeColumn, plotted, spread } from '../session/timeline.js';
import { gradeBadge, reasonList } from '../widgets/grade-badge.js';
import { incidentList } from '../widgets/incident-list.js';
import { errorBox } from '../widgets/messages.js';

const INTERVAL = 2; // seconds between a device's reports (docs/api.md §1)
const LIVE_EVERY_MS = 2000;
const BUDGET_SIDE_WIDTH = 340; // console.css, .budget-view
const NO_QUALITY = { Quality: 'unknown', QualityFinal: true, Reasons: [], Incidents: [], Thresholds: [], LatencyBudgetMs: 150 };

export async function render(ctx) {
  const sessionId = ctx.arg;
  const { root, call } = ctx;
  mount(root, h('p.loading', `Loading session ${sessionId}…`));
  let details;
  let quality;
  try {
    // The grade is an extra: if only it fails, the samples are still shown, with the failure said.
    [details, quality] = await Promise.all([
      call('DescribeDeviceSessionDetails', { SessionId: sessionId }).then((r) => r.Details || []),
      call('DescribeSessionQuality', { SessionId: sessionId }).catch((e) => {
        if (e.code && e.code.startsWith('ResourceNotFound')) throw e;
        return { ...NO_QUALITY, error: e };
      }),
    ]);
  } catch (e) {
    mount(root, h('h1', 'Session'), h('p.muted.mono', sessionId), errorBox(e, 'This session cannot be shown'),
      h('p', h('a', { href: href('sessions', { project: ctx.params.project }) }, '← Back to the sessions')));
    return undefined;
  }
  const page = new SessionPage(root, ctx, sessionId, details, quality);
  page.draw();
  if (!quality.QualityFinal) page.startLive();
  return () => page.destroy();
}

class SessionPage {
  constructor(root, ctx, sessionId, details, quality) {
    this.root = root;
    this.ctx = ctx;
    this.sessionId = sessionId;
    this.details = details;
    this.quality = quality;
    this.group = new ChartGroup();
    this.focus = -1;
    this.timer = null;
    this.cards = [];
    this.onResize = () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.resize(), 150);
    };
    window.addEventListener('resize', this.onResize);
  }

  destroy() {
    clearTimeout(this.timer);
    this.timer = null;
    window.removeEventListener('resize', this.onResize);
    this.group.destroy();
  }

  incidents() {
    return (this.quality.Incidents || []).map((inc, i) => ({
      from: inc.StartTime - INTERVAL / 2,
      to: Math.max(inc.EndTime, inc.StartTime) + INTERVAL / 2,
      focus: i === this.focus,
    }));
  }

  draw() {
    const t0 = performance.now();
    this.group.destroy();
    this.group = new ChartGroup();
    this.timeline = buildTimeline(this.details, INTERVAL);
    this.group.setFull(this.timeline.start, this.timeline.end);
    const incidents = () => this.incidents();
    this.specKey = '';

    const head = this.header();
    this.asideEl = h('aside.session-aside', this.asideContent());
    const main = h('div.session-main');
    mount(this.root, head, h('div.session-body', main, this.asideEl));

    if (!this.timeline.xs.length) {
      mount(main, h('p.empty', 'No device has reported any sample for this session yet.'));
      return;
    }
    const cards = [];
    const brush = overviewBrush({
      xs: this.timeline.xs,
      series: brushSeries(this.timeline),
      group: this.group,
      incidents,
    });
    this.brush = brush;
    this.group.onRange((range) => {
      brush.showRange(range);
      this.root.querySelector('.session-main').dataset.zoomed = range ? 'yes' : 'no';
    });
    const budget = latencyBudgetView({
      timeline: this.timeline, budgetMs: this.quality.LatencyBudgetMs || 150, group: this.group, incidents, interval: INTERVAL,
    });
    const { specs, folded, missing } = chartSpecs(this.timeline, this.quality.Thresholds || []);
    this.specKey = specs.map((s) => s.id + ':' + s.series.map((x) => x.label).join('|')).join(',');
    const links = linksView({
      timeline: this.timeline, group: this.group, incidents, thresholds: this.quality.Thresholds, allIncidents: this.quality.Incidents || [],
    });
    const sections = [h('div.brush-wrap', brush)];
    if (budget) sections.push(h('section.group', { dataset: { group: 'budget' } }, h('h2', 'Latency budget'), budget));
    for (const g of GROUPS) {
      const gs = specs.filter((s) => s.group === g.id);
      const groupCards = gs.map((s) => timeSeriesCard({ ...s, incidents, group: this.group }));
      cards.push(...groupCards);
      const extra = g.id === 'network' && links ? [h('h3.subhead', 'Links'), links] : [];
      sections.push(h('section.group', { dataset: { group: g.id } },
        h('h2', g.title), h('p.group-help', g.help),
        groupCards.length ? h('div.chart-grid', groupCards) : null,
        extra,
        folded[g.id].length ? h('p.folded', h('strong', 'Constant throughout, not drawn: '), folded[g.id].join(' · ')) : null,
        missing[g.id].length ? h('p.muted.small', `Not reported: ${missing[g.id].join(', ')}.`) : null));
    }
    mount(main, sections);
    this.cards = [brush, ...(budget ? [budget.card] : []), ...cards, ...(links ? links.cards : [])];
    this.budget = budget;
    this.links = links;
    this.layoutAndAttach();
    this.root.dataset.renderedMs = String(Math.round(performance.now() - t0));
    this.root.dataset.points = this.timeline.parts.map((p) => `${p.type}:${p.times.length}`).join(' ');
  }

  widths() {
    const main = this.root.querySelector('.session-main');
    const full = Math.floor(main.clientWidth);
    const grid = main.querySelector('.chart-grid');
    const columns = (el) => (el ? getComputedStyle(el).gridTemplateColumns.split(' ').length : 1);
    const two = columns(grid) > 1;
    const budgetBeside = columns(main.querySelector('.budget-view')) > 1;
    const gap = 16;
    const pad = 24; // chart-card padding, both sides
    return {
      full: full - pad,
      half: two ? Math.floor((full - gap) / 2) - pad : full - pad,
      budget: budgetBeside ? full - BUDGET_SIDE_WIDTH - gap - pad : full - pad,
    };
  }

  layoutAndAttach() {
    const w = this.widths();
    this.brush.attach(w.full);
    if (this.budget) this.budget.attach(w.budget);
    for (const c of this.cards) {
      if (c === this.brush || (this.budget && c === this.budget.card)) continue;
      c.attach(w.half);
    }
  }

  resize() {
    const w = this.widths();
    for (const c of this.cards) {
      if (!c.uplot) continue;
      const width = c === this.brush ? w.full : this.budget && c === this.budget.card ? w.budget : w.half;
      c.uplot.setSize({ width, height: c.uplot.height });
    }
    if (this.brush) this.brush.showRange(this.group.range);
  }

  header() {
    const q = this.quality;
    const field = this.details.find((d) => d.DeviceType === 'field');
    const remote = this.details.find((d) => d.DeviceType === 'remote');
    const projectId = (field || remote || {}).ProjectId || q.ProjectId || this.ctx.params.project;
    const tl = buildTimeline(this.details, INTERVAL);
    const devLink = (d) => (d ? h('a', { href: href('device', d.DeviceId, { project: projectId }) }, d.DeviceId) : h('span.muted', 'not reported'));
    this.liveEl = h('span.live-badge', { hidden: !!q.QualityFinal }, 'Live');
    return h('header.session-head',
      h('div.title-row',
        h('h1', 'Session ', h('span.mono', this.sessionId)),
        gradeBadge(q.Quality, q.QualityFinal),
        this.liveEl,
        h('span.spacer'),
        h('button.quiet', { type: 'button', onclick: () => download(`session-${this.sessionId}.csv`, sessionCsv(this.details)) }, 'Download CSV')),
      h('dl.facts',
        h('div', h('dt', 'When'), h('dd', tl.xs.length ? `${dateTime(tl.start)} – ${dateTime(tl.end)} (${duration(tl.end - tl.start + INTERVAL)})` : '—')),
        h('div', h('dt', 'Field device'), h('dd', devLink(field))),
        h('div', h('dt', 'Remote device'), h('dd', devLink(remote))),
        h('div', h('dt', 'Video'), h('dd', field && field.Width ? `${field.Width}×${field.Height}${field.ConfigWidth ? ` (configured ${field.ConfigWidth}×${field.ConfigHeight})` : ''}` : '—')),
        h('div', h('dt', 'Project'), h('dd', h('a', { href: href('sessions', { project: projectId }) }, projectId || '—')))),
      h('div.verdict-row',
        h('div.reasons-box', h('h2', q.QualityFinal ? 'Why this grade' : 'Grade so far'),
          q.error ? errorBox(q.error, 'The grade cannot be shown') : reasonList(q.Reasons)),
        h('div.parts-box', h('h2', 'Reports'), h('ul.parts', tl.parts.map((p) => partSummary(p))))));
  }

  asideContent() {
    return incidentList(this.quality.Incidents || [], {
      onPick: (inc, i, li) => {
        this.focus = i;
        for (const el of this.asideEl.querySelectorAll('.incident.picked')) el.classList.remove('picked');
        li.classList.add('picked');
        const len = Math.max(inc.EndTime - inc.StartTime, INTERVAL);
        const pad = Math.max(10, len);
        const [s, e] = [this.timeline.start, this.timeline.end];
        this.group.setRange([Math.max(s, inc.StartTime - pad), Math.min(e, inc.EndTime + pad)]);
        for (const c of this.cards) if (c.uplot) c.uplot.redraw(false);
      },
    });
  }

  startLive() {
    const tick = async () => {
      if (!this.timer && this.timer !== 0) return;
      try {
        await this.pull();
      } catch (e) {
        const bar = this.root.querySelector('.live-error') || h('div.live-error');
        mount(bar, errorBox(e, 'Live update failed (retrying)'));
        this.root.querySelector('.session-head').append(bar);
      }
      if (this.timer !== null) this.timer = setTimeout(tick, LIVE_EVERY_MS);
    };
    this.timer = setTimeout(tick, LIVE_EVERY_MS);
  }

  /** Fetches the points after the last one held, and the grade so far; redraws what changed. */
  async pull() {
    const lasts = this.details.map((d) => d.StartTime + (d.TimeOffset.length ? d.TimeOffset[d.TimeOffset.length - 1] : -1));
    const since = lasts.length ? Math.min(...lasts) + 1 : 0;
    const [fresh, quality] = await Promise.all([
      this.ctx.call('DescribeDeviceSessionDetails', { SessionId: this.sessionId, StartTime: since }).then((r) => r.Details || []),
      this.ctx.call('DescribeSessionQuality', { SessionId: this.sessionId }).catch((e) => ({ ...NO_QUALITY, QualityFinal: false, error: e })),
    ]);
    if (this.timer === null) return;
    const old = this.root.querySelector('.live-error');
    if (old) old.remove();
    const added = appendDetails(this.details, fresh);
    const gradeChanged = quality.Quality !== this.quality.Quality || quality.QualityFinal !== this.quality.QualityFinal
      || (quality.Incidents || []).length !== (this.quality.Incidents || []).length;
    this.quality = quality;
    if (quality.QualityFinal) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!added && !gradeChanged) return;
    if (!this.extend() || gradeChanged) {
      const range = this.group.range;
      this.draw();
      if (range) this.group.setRange(range);
    }
  }

  /** Extends the charts in place with the held details; false when the set of charts changed. */
  extend() {
    const timeline = buildTimeline(this.details, INTERVAL);
    const { specs } = chartSpecs(timeline, this.quality.Thresholds || []);
    const key = specs.map((s) => s.id + ':' + s.series.map((x) => x.label).join('|')).join(',');
    if (key !== this.specKey || !this.timeline.xs.length) return false;
    this.timeline = timeline;
    this.group.setFull(timeline.start, timeline.end);
    const keepZoom = !!this.group.range;
    const byId = new Map(specs.map((s) => [s.id, s]));
    for (const c of this.cards) {
      const s = byId.get(c.dataset.chart);
      if (s && c.uplot) c.uplot.setData([timeline.xs, ...s.series.map((x) => x.values)], !keepZoom);
    }
    this.brush.uplot.setData([timeline.xs, ...brushSeries(timeline).map((x) => x.values)]);
    this.brush.showRange(this.group.range);
    // The latency budget and the links sum the whole session up: they are rebuilt, not extended.
    const incidents = () => this.incidents();
    const w = this.widths();
    const replace = (old, fresh, attach) => {
      for (const c of old.cards || [old.card]) if (c && c.uplot) { this.group.remove(c.uplot); c.uplot.destroy(); }
      old.replaceWith(fresh);
      attach(fresh);
    };
    if (this.budget) {
      const fresh = latencyBudgetView({ timeline, budgetMs: this.quality.LatencyBudgetMs || 150, group: this.group, incidents, interval: INTERVAL });
      replace(this.budget, fresh, (v) => v.attach(w.budget));
      this.budget = fresh;
    }
    if (this.links) {
      const fresh = linksView({ timeline, group: this.group, incidents, thresholds: this.quality.Thresholds, allIncidents: this.quality.Incidents || [] });
      replace(this.links, fresh, (v) => v.cards.forEach((c) => c.attach(w.half)));
      this.links = fresh;
    }
    this.cards = [this.brush, ...(this.budget ? [this.budget.card] : []),
      ...this.cards.filter((c) => byId.has(c.dataset.chart)), ...(this.links ? this.links.cards : [])];
    const head = this.root.querySelector('.session-head');
    if (head) head.replaceWith(this.header());
    this.root.dataset.points = timeline.parts.map((p) => `${p.type}:${p.times.length}`).join(' ');
    return true;
  }
}

/** The overview brush's series: each device's bitrate. */
function brushSeries(timeline) {
  return timeline.parts.filter((p) => p.detail.Rate && p.detail.Rate.length).map((p) => ({
    color: DEVICE_COLORS[p.type][0],
    values: spread(timeline, p, p.detail.Rate),
  }));
}

/** "field dev_x · v2.4 server2 · 30 reports over 58 s · 2 links · 4 missed reports" */
function partSummary(p) {
  const d = p.detail;
  const n = p.times.length;
  const span = n ? p.times[n - 1] - p.times[0] : 0;
  const missed = p.gaps.reduce((a, g) => a + Math.max(1, Math.round((g.to - g.from) / INTERVAL) - 1), 0);
  const links = (d.MultiNet || []).length;
  return h('li', { dataset: { device: p.type, reports: n } },
    h(`span.device-dot.${p.type}`), h('strong', p.type), ' ', h('span.mono', d.DeviceId),
    ` · ${n} reports over ${duration(span)}`,
    links ? ` · ${links} links${d.MultiMode ? ' (bonded)' : ''}` : '',
    missed ? h('span.warn-text', ` · ${missed} missed reports (drawn as gaps)`) : ' · no missed report',
    d.Ver ? h('span.muted', ` · SDK ${d.Ver} ${d.SdkMode || ''}`) : null);
}

/**
 * What the metric charts draw: every metric a device reported, both devices on each chart. A series
 * that is constant (or never known) is folded into a note rather than drawn; a metric never reported
 * is left out and named once under its group.
 */
export function chartSpecs(timeline, thresholds) {
  const specs = [];
  const folded = { video: [], network: [], device: [] };
  const missing = { video: [], network: [], device: [] };
  const multi = (type) => timeline.parts.filter((p) => p.type === type).length > 1;
  for (const c of CHARTS) {
    const series = [];
    const notes = [];
    const chartFolded = [];
    c.metrics.forEach((m, mi) => {
      const meta = METRICS[m];
      let seen = 0;
      timeline.parts.forEach((part) => {
        const vals = part.detail[m];
        const nth = multi(part.type) ? ` (part from ${new Date(part.detail.StartTime * 1000).toLocaleTimeString([], { hour12: false })})` : '';
        const name = `${part.type} ${meta.label}${nth}`;
        if (!vals || !vals.length) return;
        seen++;
        const d = describeColumn(m, vals);
        if (d.known === 0) {
          chartFolded.push(`${name}: never known`);
          return;
        }
        if (d.constant && d.unknown === 0) {
          chartFolded.push(`${name} ${withUnit(d.min, meta.unit)}`);
          return;
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
      });
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
