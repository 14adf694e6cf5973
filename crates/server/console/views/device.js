// One device: what it is and its status (DescribeDeviceInfo), its quality trend (its sessions of the last
// 30 days by day and grade, from DescribeSessions) and its recent sessions.

import { h, mount } from '../dom.js';
import { isoTime, num } from '../format.js';
import { href } from '../routes.js';
import { listAll, serverNow } from '../api.js';
import { sessionTable } from './sessions.js';
import { empty } from '../widgets/messages.js';

const DAYS = 30;

/** At most this many of the device's sessions are fetched for the trend; the count is the API's Total. */
const MAX_SESSIONS = 500;

export async function render({ root, arg: deviceId, project, call, isCurrent }) {
  mount(root, h('p.loading', `Loading device ${deviceId}…`));
  const now = serverNow();
  const [info, { items: sessions, total }] = await Promise.all([
    call('DescribeDeviceInfo', { ProjectId: project, DeviceId: deviceId }),
    listAll('DescribeSessions', { ProjectId: project, DeviceId: deviceId, StartTime: now - DAYS * 86400 }, 'Sessions', MAX_SESSIONS),
  ]);
  if (!isCurrent()) return undefined;
  mount(root,
    h('div.page-head',
      h('div', h('h1', `${info.DeviceType === 'field' ? 'Field' : 'Remote'} device `, h('span.mono', deviceId)),
        h('p.muted', info.DeviceName)),
      h('span.spacer'),
      h('a.button.quiet', { href: href('sessions', { project, device: deviceId }) }, 'All its sessions')),
    h('dl.facts',
      h('div', h('dt', 'Status'), h('dd', h(`span.status.status-${info.DeviceStatus}`, info.DeviceStatus))),
      h('div', h('dt', 'Status since'), h('dd', isoTime(info.LastReportTime))),
      h('div', h('dt', 'Modified'), h('dd', isoTime(info.ModifyTime))),
      h('div', h('dt', `Sessions, last ${DAYS} days`), h('dd.session-count', num(total, 0)))),
    h('section.card', h('div.card-head', h('h2', `Quality trend, last ${DAYS} days`),
      total > sessions.length ? h('span.muted.small', `its newest ${sessions.length} sessions`) : null, h('span.spacer'),
      h('span.legend-row', ['good', 'normal', 'bad'].map((g) => h('span', h(`span.key.${g}`), g)))),
    trend(sessions, now)),
    h('h2.subhead', 'Recent sessions'),
    sessions.length ? h('div.table-card', sessionTable(sessions.slice(0, 15), project)) : empty('No session in the last 30 days.'));
  return undefined;
}

/** One column per day: its sessions stacked by grade (heights set from script: the CSP allows that). */
function trend(sessions, now) {
  const dayOf = (t) => {
    const d = new Date(t * 1000);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() / 1000;
  };
  const today = dayOf(now);
  const days = [];
  for (let i = DAYS - 1; i >= 0; i--) days.push(dayOf(today - i * 86400 + 3600));
  const counts = new Map(days.map((d) => [d, { good: 0, normal: 0, bad: 0 }]));
  for (const s of sessions) {
    const c = counts.get(dayOf(s.StartTime));
    if (c && c[s.Quality] !== undefined) c[s.Quality]++;
  }
  const max = Math.max(1, ...[...counts.values()].map((c) => c.good + c.normal + c.bad));
  return h('div.trend', days.map((d) => {
    const c = counts.get(d);
    const total = c.good + c.normal + c.bad;
    const col = h('div.trend-col', { title: `${new Date(d * 1000).toDateString()}: ${total} sessions (${c.bad} bad, ${c.normal} normal, ${c.good} good)` });
    for (const g of ['bad', 'normal', 'good']) {
      if (!c[g]) continue;
      const seg = h(`span.${g}`);
      seg.style.height = `${(100 * c[g]) / max}%`;
      col.append(seg);
    }
    return h('div.trend-day', col, h('span.trend-label', new Date(d * 1000).getDate() === 1 || d === days[0] || d === today ? new Date(d * 1000).toLocaleDateString([], { month: 'short', day: 'numeric' }) : ''),
      total ? h('span.trend-count', num(total, 0)) : null);
  }));
}
