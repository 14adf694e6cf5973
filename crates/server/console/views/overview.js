// The fleet overview of a project for a period: the headline figures beside the previous period's
// (DescribeSessionStatistics), the same by hour, day or month (DescribeSessionStatisticsByInterval, bars
// that list their sessions when clicked), minutes by resolution class (GetTotalDuration), the quality mix,
// the worst sessions and the devices with most bad sessions (DescribeFleetOverview).

import { h, mount } from '../dom.js';
import { dateTime, duration, fromLocalInput, num, toLocalInput } from '../format.js';
import { periodOf, serverOffset, zoneName } from '../periods.js';
import { go, href } from '../routes.js';
import { BAR_COLORS, intervalBars } from '../charts/interval-bars.js';
import { gradeBadge, reasonList } from '../widgets/grade-badge.js';
import { swatch } from '../widgets/swatch.js';
import { empty, errorBox } from '../widgets/messages.js';

const PERIOD_WORDS = { '24h': '24 hours', '7d': '7 days', '30d': '30 days' };
const MEASURES = {
  sessions: { label: 'Sessions', key: 'SessionNum', unit: '' },
  minutes: { label: 'Minutes', key: 'TotalDuration', unit: 'min' },
  field: { label: 'Active field devices', key: 'ActiveFieldDeviceNum', unit: '' },
  remote: { label: 'Active remote devices', key: 'ActiveRemoteDeviceNum', unit: '' },
  notbad: { label: 'Not-bad sessions', key: 'NotBadSessionRatio', unit: '%' },
};

export async function render({ root, params, project, projects, call, isCurrent }) {
  const p = periodOf(params);
  const measure = MEASURES[params.measure] ? params.measure : 'sessions';
  const link = (extra) => href('overview', { project, period: p.period, from: params.from, to: params.to, measure, ...extra });
  const custom = h('form.inline', {
    onsubmit: (ev) => {
      ev.preventDefault();
      const f = ev.target.elements;
      go('overview', { project, period: 'custom', from: fromLocalInput(f.from.value), to: fromLocalInput(f.to.value), measure });
    },
  },
  h('div.field', h('label', { for: 'o-from' }, 'From'), h('input', { id: 'o-from', type: 'datetime-local', name: 'from', value: toLocalInput(p.start) })),
  h('div.field', h('label', { for: 'o-to' }, 'To'), h('input', { id: 'o-to', type: 'datetime-local', name: 'to', value: toLocalInput(p.end) })),
  h('button.quiet', { type: 'submit' }, 'Show'));
  const body = h('div.overview-body', h('p.loading', 'Loading…'));
  mount(root,
    h('div.page-head',
      h('div', h('h1', 'Fleet overview'), h('p.muted', `${dateTime(p.start)} – ${dateTime(p.end)}, compared with the ${PERIOD_WORDS[p.period] || duration(p.len)} before`)),
      h('span.spacer'),
      h('nav.segmented', ['24h', '7d', '30d'].map((k) => h('a', { href: link({ period: k, from: undefined, to: undefined }), class: p.period === k ? 'active' : null }, `Last ${k.replace('h', ' h').replace('d', ' days')}`)),
        h('a', { href: link({ period: 'custom', from: p.start, to: p.end }), class: p.period === 'custom' ? 'active' : null }, 'Custom')),
      p.period === 'custom' ? custom : null),
    body);

  const base = { ProjectId: project };
  let stats;
  let prev;
  let series;
  let prevSeries;
  let usage;
  let fleet;
  try {
    [stats, prev, series, prevSeries, usage, fleet] = await Promise.all([
      call('DescribeSessionStatistics', { ...base, StartTime: p.start, EndTime: p.end }),
      call('DescribeSessionStatistics', { ...base, StartTime: p.prevStart, EndTime: p.prevEnd }),
      call('DescribeSessionStatisticsByInterval', { ...base, StatisticInterval: p.interval, StartTime: p.start, EndTime: p.end }),
      call('DescribeSessionStatisticsByInterval', { ...base, StatisticInterval: p.interval, StartTime: p.prevStart, EndTime: p.prevEnd }),
      call('GetTotalDuration', { ...base, StartTime: p.start, EndTime: p.end }),
      call('DescribeFleetOverview', { ...base, StartTime: p.start, EndTime: p.end }).catch((e) => ({ error: e })),
    ]);
  } catch (e) {
    // The period stays on screen with its form, so a wrong range can be put right.
    if (isCurrent()) mount(body, errorBox(e, 'The overview cannot be shown for this period'));
    return undefined;
  }
  if (!isCurrent()) return undefined;

  const m = MEASURES[measure];
  const buckets = series.SessionStatistics || [];
  const prevBuckets = prevSeries.SessionStatistics || [];
  const offset = serverOffset({
    buckets: [...buckets, ...prevBuckets], interval: p.interval, iso: (projects.find((x) => x.ProjectId === project) || {}).ModifyTime,
  });
  const browserOffset = -new Date(p.end * 1000).getTimezoneOffset() * 60;
  const cards = h('div.cards', Object.entries(MEASURES).map(([k, mm]) => statCard(mm, stats[mm.key], prev[mm.key], prev.SessionNum, link({ measure: k }), k === measure)));
  const barsHost = h('div.bars-plot');
  const barsCard = h('section.card',
    h('div.card-head', h('h2', `${m.label} by ${p.interval}`), h('span.spacer'),
      h('span.legend-row', h('span', swatch(BAR_COLORS.current), 'this period'), h('span', swatch(BAR_COLORS.previous), 'previous period'))),
    h('p.muted.small', 'Click a bar to list its sessions.',
      offset !== browserOffset ? ` The ${p.interval === 'hour' ? 'hours' : p.interval === 'day' ? 'days' : 'months'} are the server's (${zoneName(offset)}).` : ''),
    barsHost);
  const mid = h('div.row', qualityMixCard(fleet, stats), usageCard(usage));
  const lists = h('div.row', worstSessionsCard(fleet, project), worstDevicesCard(fleet, project));
  mount(body, cards, barsCard, mid, lists);
  const bars = intervalBars(barsHost, {
    current: buckets,
    previous: prevBuckets,
    key: m.key,
    unit: m.unit,
    interval: p.interval,
    offset,
    start: p.start,
    end: p.end,
    shift: p.len,
    // The sessions the bar counts: those that started in its bucket.
    onPick: (bucket) => go('sessions', { project, from: bucket.StartTime, to: bucket.EndTime, by: 'start' }),
  });
  return () => bars.destroy();
}

function statCard(m, value, before, sessionsBefore, link, active) {
  const v = value ?? 0;
  const b = before ?? 0;
  const diff = v - b;
  // Without a session before, there is nothing to compare with (a ratio of 0 % would read as a rise).
  const none = !sessionsBefore;
  const deltaText = none ? 'no sessions before'
    : diff === 0 ? 'same as the previous period'
      : `${diff > 0 ? '+' : '−'}${num(Math.abs(diff), 0)}${m.unit === '%' ? ' points' : ''} vs ${num(b, 0)}${m.unit ? ' ' + m.unit : ''} before`;
  // Only the not-bad ratio has a good direction; more sessions is neither good nor bad.
  const direction = m.key === 'NotBadSessionRatio' && !none ? (diff > 0 ? '.up' : diff < 0 ? '.down' : '') : '';
  return h('a.card.stat', { href: link, class: active ? 'selected' : null, dataset: { stat: m.key } },
    h('span.label', m.label),
    h('span.value', `${num(v, 0)}${m.unit === '%' ? ' %' : ''}`),
    h(`span.delta${direction}`, deltaText));
}

function qualityMixCard(fleet, stats) {
  const card = h('section.card', h('h2', 'Quality mix'));
  if (fleet.error) return mount(card, h('h2', 'Quality mix'), errorBox(fleet.error));
  const mix = fleet.QualityMix || { Good: 0, Normal: 0, Bad: 0 };
  const total = mix.Good + mix.Normal + mix.Bad;
  if (!total) return mount(card, h('h2', 'Quality mix'), empty('No session in this period.'));
  const bar = h('div.mix');
  for (const k of ['Good', 'Normal', 'Bad']) {
    const seg = h(`span.${k.toLowerCase()}`, { title: `${k}: ${mix[k]}` });
    seg.style.width = `${(100 * mix[k]) / total}%`;
    bar.append(seg);
  }
  card.append(bar, h('div.legend-row', ['Good', 'Normal', 'Bad'].map((k) =>
    h('span', h(`span.key.${k.toLowerCase()}`), `${k}: ${mix[k]} (${num((100 * mix[k]) / total, 0)} %)`))),
  h('p.muted.small', `Not-bad ratio ${stats.NotBadSessionRatio ?? 0} %: the share of sessions graded good or normal.`));
  return card;
}

const USAGE = [['Voice', 'Voice'], ['SD', 'SD'], ['HD', 'HD'], ['FHD', 'Full HD'], ['TwoK', '2K'], ['FourK', '4K'],
  ['MultiSD', 'SD, multi-network'], ['MultiHD', 'HD, multi-network'], ['MultiFHD', 'Full HD, multi-network'],
  ['MultiTwoK', '2K, multi-network'], ['MultiFourK', '4K, multi-network']];

function usageCard(u) {
  const rows = USAGE.filter(([k]) => u[k]);
  const max = Math.max(1, ...rows.map(([k]) => u[k]));
  return h('section.card',
    h('h2', 'Minutes by resolution class'),
    rows.length ? h('table.compact.usage',
      h('tbody', rows.map(([k, label]) => {
        const bar = h('span.usage-bar');
        bar.style.width = `${(100 * u[k]) / max}%`;
        return h('tr', h('td.nowrap', label), h('td.bar-cell', bar), h('td.num', `${num(u[k], 0)} min`));
      }))) : empty('No minutes in this period.'),
    h('p.muted.small', deviceMinutes(u)));
}

/** Online and MultiOnline are the device minutes of single- and multi-network sessions (docs/api.md §6). */
function deviceMinutes(u) {
  const single = u.Online || 0;
  const multi = u.MultiOnline || 0;
  const split = single && multi ? ` (${num(single, 0)} single-network, ${num(multi, 0)} multi-network)`
    : multi ? ' (all multi-network)' : '';
  return `Device minutes in sessions, both ends counted: ${num(single + multi, 0)}${split} · weighted minutes billed by the vendor's weights: ${num(u.DeductDuration || 0, 1)}.`;
}

function worstSessionsCard(fleet, project) {
  const card = h('section.card', h('h2', 'Worst sessions'));
  if (fleet.error) return mount(card, h('h2', 'Worst sessions'), errorBox(fleet.error));
  const list = (fleet.WorstSessions || []).filter((s) => s.Quality !== 'good');
  if (!list.length) return mount(card, h('h2', 'Worst sessions'), empty('No bad or normal session in this period.'));
  card.append(h('table.compact.worst', h('thead', h('tr', h('th', 'grade'), h('th', 'started'), h('th', 'field → remote'), h('th', 'reasons'))),
    h('tbody', list.map((s) => h('tr',
      h('td', h('a', { href: href('session', s.SessionId, { project }) }, gradeBadge(s.Quality, s.QualityFinal))),
      h('td.nowrap', h('a', { href: href('session', s.SessionId, { project }) }, dateTime(s.StartTime))),
      h('td', h('div', s.FieldDeviceId), h('div.muted', `→ ${s.RemoteDeviceId}`)),
      h('td', reasonList(s.Reasons, { compact: true })))))));
  return card;
}

function worstDevicesCard(fleet, project) {
  const card = h('section.card', h('h2', 'Devices with most bad sessions'));
  if (fleet.error) return mount(card, h('h2', 'Devices with most bad sessions'), errorBox(fleet.error));
  const list = (fleet.DevicesWithMostBadSessions || []).filter((d) => d.BadSessions > 0);
  if (!list.length) return mount(card, h('h2', 'Devices with most bad sessions'), empty('No device had a bad session in this period.'));
  card.append(h('table.compact', h('thead', h('tr', h('th', 'device'), h('th', 'type'), h('th.num', 'bad'), h('th.num', 'sessions'))),
    h('tbody', list.map((d) => h('tr',
      h('td', h('a', { href: href('device', d.DeviceId, { project }) }, d.DeviceId)),
      h('td', d.DeviceType),
      h('td.num', h('a', { href: href('sessions', { project, device: d.DeviceId, quality: 'bad' }) }, String(d.BadSessions))),
      h('td.num', String(d.Sessions)))))));
  return card;
}
