// Live: the sessions running now (DescribeRecentSessionList: a report in the last minute, by the
// server's clock) and every device's status (DescribeDeviceList: offline / ready / connected), refreshed
// every 2 s. A running session's page extends its charts as the devices report.

import { h, mount } from '../dom.js';
import { ago, clock, duration } from '../format.js';
import { href } from '../routes.js';
import { listAll, serverNow } from '../api.js';
import { gradeBadge, reasonList } from '../widgets/grade-badge.js';
import { empty, errorBox } from '../widgets/messages.js';

const EVERY_MS = 2000;
/** A session is running when one of its devices reported within this many seconds (the idle timeout). */
const RUNNING_WINDOW = 60;
/** Devices listed at most; the counts by status are the API's Totals. */
const MAX_DEVICES = 500;
const STATUSES = ['connected', 'ready', 'offline'];

export async function render({ root, project, call, isCurrent }) {
  const sessionsBox = h('section.table-card', h('p.loading', 'Loading…'));
  const devicesBox = h('section.table-card', h('p.loading', 'Loading…'));
  const updated = h('span.updated');
  const problem = h('div');
  mount(root,
    h('div.page-head', h('div', h('h1', 'Live'), h('p.muted', `Sessions with a report in the last minute, and every device's status. Refreshed every ${EVERY_MS / 1000} s.`)), h('span.spacer'), updated),
    problem,
    h('div.live-grid',
      h('div', h('h2', 'Running sessions'), sessionsBox),
      h('div', h('h2', 'Devices'), devicesBox)));
  let timer = null;
  let stopped = false;
  const gone = () => stopped || !isCurrent();
  const tick = async () => {
    try {
      // The server's clock: a browser clock that is off would ask for another minute than the server's.
      const now = serverNow();
      const [recent, devices, graded] = await Promise.all([
        call('DescribeRecentSessionList', { ProjectId: project, PageNumber: 1, PageSize: 100, StartTime: now - RUNNING_WINDOW, EndTime: now }),
        deviceStatuses(call, project),
        // The grades so far are a bonus: without them the list still shows what runs.
        call('DescribeSessions', { ProjectId: project, Live: true, PageNumber: 1, PageSize: 100 }).then((r) => r.Sessions || [], () => []),
      ]);
      if (gone()) return;
      mount(problem);
      const grades = new Map(graded.map((s) => [s.SessionId, s]));
      drawSessions(sessionsBox, recent.RecentSessionList || [], project, now, grades);
      drawDevices(devicesBox, devices, project);
      updated.textContent = `Updated ${clock(now)}`;
    } catch (e) {
      if (gone()) return;
      mount(problem, errorBox(e, 'Live update failed (retrying)'));
    }
    if (!gone()) timer = setTimeout(tick, EVERY_MS);
  };
  await tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Up to 500 devices and the number of devices in each status: counted from the list when it holds every
 * device, else asked of the API (its Total per status), so a large fleet is counted whole.
 */
async function deviceStatuses(call, project) {
  const base = { ProjectId: project, RegisterType: 1 };
  const { items, total } = await listAll('DescribeDeviceList', base, 'Devices', MAX_DEVICES);
  const counts = {};
  if (total <= items.length) {
    for (const st of STATUSES) counts[st] = items.filter((d) => d.DeviceStatus === st).length;
  } else {
    const totals = await Promise.all(STATUSES.map((st) => call('DescribeDeviceList', { ...base, DeviceStatus: st, PageNumber: 1, PageSize: 1 })));
    STATUSES.forEach((st, i) => { counts[st] = totals[i].Total; });
  }
  return { items, total, counts };
}

function drawSessions(box, list, project, now, grades) {
  if (!list.length) {
    mount(box, empty('No session is running in this project right now.'));
    return;
  }
  mount(box, h('table.live-sessions',
    h('thead', h('tr', h('th', 'session'), h('th', 'grade so far'), h('th', 'field → remote'), h('th.num', 'running for'), h('th', 'last report'), h('th', 'video'))),
    h('tbody', list.map((s) => h('tr', { dataset: { sessionId: s.SessionId } },
      h('td', h('span.live-badge', 'Live'), ' ', h('a.mono', { href: href('session', s.SessionId, { project }) }, shortId(s.SessionId))),
      h('td', grades.has(s.SessionId) ? [gradeBadge(grades.get(s.SessionId).Quality, grades.get(s.SessionId).QualityFinal), reasonList(grades.get(s.SessionId).Reasons, { compact: true })] : h('span.muted', '—')),
      h('td', h('a', { href: href('device', s.FieldDeviceId, { project }) }, s.FieldDeviceId), ' → ',
        h('a', { href: href('device', s.RemoteDeviceId, { project }) }, s.RemoteDeviceId)),
      h('td.num', duration(now - s.StartTime)),
      h('td', ago(s.LatestUpdateTime, now)),
      h('td', (s.Resolution || '—').replace('*', '×')))))));
}

function drawDevices(box, { items: devices, total, counts }, project) {
  if (!devices.length) {
    mount(box, empty('This project has no device yet.'));
    return;
  }
  const order = { connected: 0, ready: 1, offline: 2 };
  const sorted = devices.slice().sort((a, b) => (order[a.DeviceStatus] ?? 3) - (order[b.DeviceStatus] ?? 3) || a.DeviceId.localeCompare(b.DeviceId));
  const line = STATUSES.map((st) => `${counts[st]} ${st}`).join(' · ');
  mount(box,
    h('p.small.muted.device-counts', line, total > devices.length ? ` · ${devices.length} of ${total} devices listed` : ''),
    h('table.compact.device-status',
      h('thead', h('tr', h('th', 'device'), h('th', 'type'), h('th', 'status'))),
      h('tbody', sorted.map((d) => h('tr', { dataset: { deviceId: d.DeviceId } },
        h('td', h('a', { href: href('device', d.DeviceId, { project }) }, d.DeviceId)),
        h('td', d.DeviceType),
        h('td', h(`span.status.status-${d.DeviceStatus}`, d.DeviceStatus)))))));
}

/** Session ids are long UUIDs: show the head and the tail. */
function shortId(id) {
  return id.length > 20 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}
