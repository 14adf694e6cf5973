// The session page: what happened in one session, on both ends, on one time axis.
// Data: DescribeDeviceSessionDetails (the samples, vendor action) and DescribeSessionQuality (grade,
// reasons, incidents, thresholds, latency budget; docs/api.md). While the session runs, session/live.js
// asks every 2 s for the points after the last one the page holds, and the page extends its charts.
//
// Layout: the verdict and both devices at the top; the overview brush; the latency budget; the charts
// grouped video / network (with the links) / device; the incidents beside them. Every chart shares the
// cursor and the zoom (charts/chart-group.js), and goes with the page (ChartGroup.destroy).

import { h, mount } from '../dom.js';
import { clock, dateTime, duration } from '../format.js';
import { href } from '../routes.js';
import { ChartGroup } from '../charts/chart-group.js';
import { latencyBudgetView } from '../charts/latency-budget.js';
import { linksView } from '../charts/links.js';
import { overviewBrush } from '../charts/overview-brush.js';
import { timeSeriesCard } from '../charts/timeseries.js';
import { sessionCsv, download } from '../session/csv.js';
import { gradeChanged, pollLive } from '../session/live.js';
import { DEVICE_COLORS, GROUPS } from '../session/metrics.js';
import { brushSeries, chartSpecs, specKey } from '../session/specs.js';
import { appendDetails, buildTimeline } from '../session/timeline.js';
import { gradeBadge, reasonList } from '../widgets/grade-badge.js';
import { incidentList } from '../widgets/incident-list.js';
import { errorBox } from '../widgets/messages.js';
import { swatch } from '../widgets/swatch.js';

const INTERVAL = 2; // seconds between a device's reports (docs/api.md §1)
const DEFAULT_BUDGET_MS = 150;

/** The grade when DescribeSessionQuality failed: unknown, and asked again every 2 s until it comes. */
function gradeUnknown(error) {
  return { Quality: 'unknown', QualityFinal: false, Reasons: [], Incidents: [], Thresholds: [], LatencyBudgetMs: DEFAULT_BUDGET_MS, error };
}

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
        return gradeUnknown(e);
      }),
    ]);
  } catch (e) {
    if (!ctx.isCurrent()) return undefined;
    mount(root, h('h1', 'Session'), h('p.muted.mono', sessionId), errorBox(e, 'This session cannot be shown'),
      h('p', h('a', { href: href('sessions', { project: ctx.params.project }) }, '← Back to the sessions')));
    return undefined;
  }
  if (!ctx.isCurrent()) return undefined;
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
    this.stopLive = null;
    this.resizeTimer = null;
    this.cards = [];
    this.liveErrorEl = h('div.live-error');
    this.onResize = () => {
      clearTimeout(this.resizeTimer);
      this.resizeTimer = setTimeout(() => this.resize(), 150);
    };
    window.addEventListener('resize', this.onResize);
  }

  destroy() {
    if (this.stopLive) this.stopLive();
    this.stopLive = null;
    clearTimeout(this.resizeTimer);
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
    this.cards = [];
    this.brush = null;
    this.budget = null;
    this.links = null;

    const head = this.header();
    this.asideEl = h('aside.session-aside', this.asideContent());
    const main = h('div.session-main');
    mount(this.root, head, this.liveErrorEl, h('div.session-body', main, this.asideEl));

    if (!this.timeline.xs.length) {
      mount(main, h('p.empty', 'No device has reported any sample for this session yet.'));
      return;
    }
    const brush = overviewBrush({
      xs: this.timeline.xs,
      series: brushSeries(this.timeline),
      group: this.group,
      incidents,
    });
    this.group.onRange((range) => {
      brush.showRange(range);
      main.dataset.zoomed = range ? 'yes' : 'no';
    });
    const budget = latencyBudgetView({
      timeline: this.timeline, budgetMs: this.budgetMs(), group: this.group, incidents, interval: INTERVAL,
    });
    const { specs, folded, missing } = chartSpecs(this.timeline, this.quality.Thresholds || []);
    this.specKey = specKey(specs);
    const links = linksView({
      timeline: this.timeline, group: this.group, incidents, thresholds: this.quality.Thresholds, allIncidents: this.quality.Incidents || [],
    });
    const cards = [];
    const sections = [h('div.brush-wrap', brush)];
    if (budget) sections.push(h('section.group', { dataset: { group: 'budget' } }, h('h2', 'Latency budget'), budget));
    for (const g of GROUPS) {
      const groupCards = specs.filter((s) => s.group === g.id).map((s) => timeSeriesCard({ ...s, incidents, group: this.group }));
      cards.push(...groupCards);
      sections.push(h('section.group', { dataset: { group: g.id } },
        h('h2', g.title), h('p.group-help', g.help),
        groupCards.length ? h('div.chart-grid', groupCards) : null,
        folded[g.id].length ? h('p.folded', h('strong', 'Constant throughout, not drawn: '), folded[g.id].join(' · ')) : null,
        missing[g.id].length ? h('p.muted.small', `Not reported: ${missing[g.id].join(', ')}.`) : null,
        g.id === 'network' && links ? [h('h3.subhead', 'Links'), links] : null));
    }
    mount(main, sections);
    this.brush = brush;
    this.budget = budget;
    this.links = links;
    this.cards = [brush, ...(budget ? [budget.card] : []), ...cards, ...(links ? links.cards : [])];
    // Every width first (one layout), then every chart: reading a width after a chart is made would lay
    // the page out again for each chart.
    const widths = this.cards.map((c) => c.plotWidth());
    this.cards.forEach((c, i) => c.attach(widths[i]));
    this.root.dataset.renderedMs = String(Math.round(performance.now() - t0));
    this.root.dataset.points = this.timeline.parts.map((p) => `${p.type}:${p.times.length}`).join(' ');
  }

  budgetMs() {
    return this.quality.LatencyBudgetMs || DEFAULT_BUDGET_MS;
  }

  resize() {
    const widths = this.cards.map((c) => c.plotWidth());
    this.cards.forEach((c, i) => {
      if (c.uplot) c.uplot.setSize({ width: widths[i], height: c.uplot.height });
    });
    if (this.brush) this.brush.showRange(this.group.range);
  }

  /** The session's span as the API gives it: the earliest part start to the latest part end. */
  span() {
    if (!this.details.length) return null;
    const start = Math.min(...this.details.map((d) => d.StartTime));
    const end = Math.max(...this.details.map((d) => d.EndTime || d.StartTime));
    return { start, end };
  }

  header() {
    const q = this.quality;
    const field = this.details.find((d) => d.DeviceType === 'field');
    const remote = this.details.find((d) => d.DeviceType === 'remote');
    const projectId = (field || remote || {}).ProjectId || q.ProjectId || this.ctx.params.project;
    const span = this.span();
    const devLink = (d) => (d ? h('a', { href: href('device', d.DeviceId, { project: projectId }) }, d.DeviceId) : h('span.muted', 'not reported'));
    const running = !q.QualityFinal && !q.error;
    return h('header.session-head',
      h('div.title-row',
        h('h1', 'Session ', h('span.mono', this.sessionId)),
        gradeBadge(q.Quality, !running),
        running ? h('span.live-badge', 'Live') : null,
        h('span.spacer'),
        h('button.quiet', { type: 'button', onclick: () => download(`session-${this.sessionId}.csv`, sessionCsv(this.details)) }, 'Download CSV')),
      h('dl.facts',
        h('div', h('dt', 'When'), h('dd', span ? `${dateTime(span.start)} – ${dateTime(span.end)} (${duration(span.end - span.start)}${running ? ' so far' : ''})` : '—')),
        h('div', h('dt', 'Field device'), h('dd', devLink(field))),
        h('div', h('dt', 'Remote device'), h('dd', devLink(remote))),
        h('div', h('dt', 'Video'), h('dd', field && field.Width ? `${field.Width}×${field.Height}${field.ConfigWidth ? ` (configured ${field.ConfigWidth}×${field.ConfigHeight})` : ''}` : '—')),
        h('div', h('dt', 'Project'), h('dd', h('a', { href: href('sessions', { project: projectId }) }, projectId || '—')))),
      h('div.verdict-row',
        h('div.reasons-box', h('h2', running ? 'Grade so far' : 'Why this grade'),
          q.error ? errorBox(q.error, 'The grade cannot be shown') : reasonList(q.Reasons)),
        h('div.parts-box', h('h2', 'Reports'), h('ul.parts', this.timeline.parts.map((p) => partSummary(p))))));
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
    this.stopLive = pollLive({
      call: this.ctx.call,
      sessionId: this.sessionId,
      held: () => this.details,
      onData: (fresh, quality, qualityError) => this.take(fresh, quality, qualityError),
      onError: (e) => this.liveFailed(e, 'Live update failed (retrying)'),
    });
  }

  liveFailed(e, what) {
    mount(this.liveErrorEl, e ? errorBox(e, what) : null);
  }

  /**
   * New points and the grade so far (null when its request failed: the last grade stays, and the failure
   * is said). Redraws what changed; false once the grade is final (the polling stops).
   */
  take(fresh, quality, qualityError) {
    this.liveFailed(qualityError, 'The grade could not be updated (retrying)');
    const added = appendDetails(this.details, fresh);
    const next = quality || this.quality;
    const changed = gradeChanged(this.quality, next);
    this.quality = next;
    if (changed || (added && !this.extend())) {
      const range = this.group.range;
      this.draw();
      if (range) this.group.setRange(range);
    }
    return !next.QualityFinal;
  }

  /** Extends the charts in place with the held details; false when the set of charts changed. */
  extend() {
    const timeline = buildTimeline(this.details, INTERVAL);
    const { specs } = chartSpecs(timeline, this.quality.Thresholds || []);
    if (specKey(specs) !== this.specKey || !this.timeline.xs.length) return false;
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
    const rebuild = (old, fresh) => {
      for (const c of old.cards || [old.card]) if (c.uplot) this.group.drop(c.uplot);
      old.replaceWith(fresh);
      const cards = fresh.cards || [fresh.card];
      const widths = cards.map((c) => c.plotWidth());
      cards.forEach((c, i) => c.attach(widths[i]));
      return fresh;
    };
    if (this.budget) {
      this.budget = rebuild(this.budget, latencyBudgetView({ timeline, budgetMs: this.budgetMs(), group: this.group, incidents, interval: INTERVAL }));
    }
    if (this.links) {
      this.links = rebuild(this.links, linksView({ timeline, group: this.group, incidents, thresholds: this.quality.Thresholds, allIncidents: this.quality.Incidents || [] }));
    }
    this.cards = [this.brush, ...(this.budget ? [this.budget.card] : []),
      ...this.cards.filter((c) => byId.has(c.dataset.chart)), ...(this.links ? this.links.cards : [])];
    const head = this.root.querySelector('.session-head');
    if (head) head.replaceWith(this.header());
    this.root.dataset.points = timeline.parts.map((p) => `${p.type}:${p.times.length}`).join(' ');
    return true;
  }
}

/** "field dev_x · 30 reports from 16:19:29 to 16:20:27 · 2 links · no missed report · SDK 2.4 server2" */
function partSummary(p) {
  const d = p.detail;
  const n = p.times.length;
  const missed = p.gaps.reduce((a, g) => a + Math.max(1, Math.round((g.to - g.from) / INTERVAL) - 1), 0);
  const links = (d.MultiNet || []).length;
  return h('li', { dataset: { device: p.type, reports: n } },
    swatch(DEVICE_COLORS[p.type][0]), h('strong', p.type), ' ', h('span.mono', d.DeviceId),
    n ? ` · ${n} reports from ${clock(p.times[0])} to ${clock(p.times[n - 1])}` : ' · no report yet',
    links ? ` · ${links} links${d.MultiMode ? ' (bonded)' : ''}` : '',
    missed ? h('span.warn-text', ` · ${missed} missed reports (drawn as gaps)`) : ' · no missed report',
    d.Ver ? h('span.muted', ` · SDK ${d.Ver} ${d.SdkMode || ''}`) : null);
}
