// The session list of a project with the console's filters (DescribeSessions: device, time range —
// sessions running in it, or started in it as the statistics count them —, grade, reason, running now),
// paged by the server. Every filter is in the URL, so a filtered view is a
// permalink ("bad sessions of truck_7 last week").

import { h, mount, formValues } from '../dom.js';
import { dateTime, duration, fromLocalInput, toLocalInput } from '../format.js';
import { go, href } from '../routes.js';
import { gradeBadge, reasonList } from '../widgets/grade-badge.js';
import { empty, errorBox } from '../widgets/messages.js';
import { pager } from '../widgets/pager.js';

const PAGE_SIZE = 20;

/** Reasons a session can be filtered by: the scorer's metrics (docs/quality.md). */
const REASONS = [
  ['Lag150Duration', 'stalls'],
  ['VideoLatency', 'video latency'],
  ['ControlLatency', 'control latency'],
  ['NetworkLatency', 'network latency'],
  ['Lost', 'packet loss'],
  ['Fps', 'frame rate'],
  ['MultiNet.Rtt', 'link round trip'],
  ['MultiNet.Lost', 'link loss'],
];

export async function render({ root, params, project, call, isCurrent }) {
  const page = Math.max(1, Number(params.page) || 1);
  const filters = {
    device: params.device || '',
    from: Number(params.from) || 0,
    to: Number(params.to) || 0,
    quality: params.quality || '',
    reason: params.reason || '',
    live: params.live === '1',
    byStart: params.by === 'start',
  };
  const form = h('form.filters', {
    onsubmit: (ev) => {
      ev.preventDefault();
      const v = formValues(ev.target);
      go('sessions', {
        project, device: v.device, quality: v.quality, reason: v.reason, live: v.live ? '1' : '',
        from: fromLocalInput(v.from) || '', to: fromLocalInput(v.to) || '', by: v.by,
      });
    },
  },
  h('div.field', h('label', { for: 'f-device' }, 'Device'), h('input', { id: 'f-device', name: 'device', value: filters.device, placeholder: 'field or remote device id' })),
  h('div.field', h('label', { for: 'f-from' }, 'From'), h('input', { id: 'f-from', type: 'datetime-local', name: 'from', value: filters.from ? toLocalInput(filters.from) : '' })),
  h('div.field', h('label', { for: 'f-to' }, 'To'), h('input', { id: 'f-to', type: 'datetime-local', name: 'to', value: filters.to ? toLocalInput(filters.to) : '' })),
  h('div.field', h('label', { for: 'f-by' }, 'Sessions'), h('select', { id: 'f-by', name: 'by' },
    [['', 'running in the range'], ['start', 'started in the range']].map(([v, t]) => h('option', { value: v, selected: (filters.byStart ? 'start' : '') === v }, t)))),
  h('div.field', h('label', { for: 'f-quality' }, 'Grade'), h('select', { id: 'f-quality', name: 'quality' },
    [['', 'any'], ['bad', 'bad'], ['normal', 'normal'], ['good', 'good']].map(([v, t]) => h('option', { value: v, selected: filters.quality === v }, t)))),
  h('div.field', h('label', { for: 'f-reason' }, 'Reason'), h('select', { id: 'f-reason', name: 'reason' },
    h('option', { value: '' }, 'any'), REASONS.map(([v, t]) => h('option', { value: v, selected: filters.reason === v }, t)))),
  h('div.field.check', h('label', { for: 'f-live' }, 'Running now'), h('span.check-box', h('input', { id: 'f-live', type: 'checkbox', name: 'live', checked: filters.live }))),
  h('button', { type: 'submit' }, 'Filter'),
  h('a.button.quiet', { href: href('sessions', { project }) }, 'Clear'));
  const table = h('div.table-card', h('p.loading', 'Loading…'));
  const pagerBox = h('div');
  mount(root, h('div.page-head', h('div', h('h1', 'Sessions'), h('p.muted', 'Newest first. A grade marked "so far" belongs to a session still running.'))), form, table, pagerBox);

  const req = { ProjectId: project, PageNumber: page, PageSize: PAGE_SIZE };
  if (filters.device) req.DeviceId = filters.device;
  if (filters.from) req.StartTime = filters.from;
  if (filters.to) req.EndTime = filters.to;
  if (filters.quality) req.Quality = filters.quality;
  if (filters.reason) req.Reason = filters.reason;
  if (filters.live) req.Live = true;
  if (filters.byStart) req.ByStart = true;
  let r;
  try {
    r = await call('DescribeSessions', req);
  } catch (e) {
    // In the table's place: the filters stay as typed, to be put right.
    if (isCurrent()) mount(table, errorBox(e, 'The sessions cannot be listed'));
    return undefined;
  }
  if (!isCurrent()) return undefined;
  const sessions = r.Sessions || [];
  mount(table, sessions.length ? sessionTable(sessions, project)
    : empty(r.Total ? 'No session on this page.' : 'No session matches these filters.'));
  // Also past the last page, so there is a way back.
  if (r.Total || page > 1) {
    mount(pagerBox, pager({
      page, pageSize: PAGE_SIZE, total: r.Total, noun: r.Total === 1 ? 'session' : 'sessions',
      hrefFor: (n) => href('sessions', { ...params, project, page: n }),
    }));
  }
  return undefined;
}

/** The sessions table, shared with the device page. */
export function sessionTable(sessions, project) {
  return h('table.sessions',
    h('thead', h('tr', h('th', 'grade'), h('th', 'started'), h('th.num', 'duration'), h('th', 'field device'), h('th', 'remote device'), h('th', 'video'), h('th', 'reasons'))),
    h('tbody', sessions.map((s) => {
      const link = href('session', s.SessionId, { project });
      return h('tr', { dataset: { sessionId: s.SessionId } },
        h('td', h('a', { href: link }, gradeBadge(s.Quality, s.QualityFinal)), s.Live ? h('span.live-badge', 'Live') : null),
        h('td.nowrap', h('a', { href: link, title: s.SessionId }, dateTime(s.StartTime))),
        h('td.num', duration(s.Duration ?? (s.EndTime - s.StartTime))),
        h('td', h('a', { href: href('device', s.FieldDeviceId, { project }) }, s.FieldDeviceId)),
        h('td', h('a', { href: href('device', s.RemoteDeviceId, { project }) }, s.RemoteDeviceId)),
        h('td.nowrap', (s.Resolution || '—').replace('*', '×') + (s.MultiMode ? ' · multi-net' : '')),
        h('td', reasonList(s.Reasons, { compact: true })));
    })));
}
