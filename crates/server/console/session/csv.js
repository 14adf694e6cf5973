// The session as CSV, built in the browser from the Details answer the page already holds (no second
// query): one row per device report, both devices in one file, absolute time first so a spreadsheet can
// sort them onto one axis; links as NIC<id>_<metric> columns. Values are written exactly as the API
// gave them (-1 stays -1).

import { METRIC_NAMES } from './metrics.js';

const LINK_METRICS = ['Rtt', 'Lost', 'SendBps', 'RecvBps'];

export function sessionCsv(details) {
  const metrics = METRIC_NAMES.filter((m) => details.some((d) => d[m] && d[m].length));
  const netIds = [...new Set(details.flatMap((d) => (d.MultiNet || []).map((n) => n.NetId)))].sort((a, b) => a - b);
  const header = ['Time', 'TimeIso', 'DeviceType', 'DeviceId', 'TimeOffset', ...metrics,
    ...netIds.flatMap((id) => LINK_METRICS.map((m) => `NIC${id}_${m}`))];
  const rows = [];
  for (const d of details) {
    (d.TimeOffset || []).forEach((off, i) => {
      const t = d.StartTime + off;
      const nets = new Map((d.MultiNet || []).map((n) => [n.NetId, n]));
      rows.push([t, new Date(t * 1000).toISOString(), d.DeviceType, d.DeviceId, off,
        ...metrics.map((m) => (d[m] && d[m].length ? d[m][i] : '')),
        ...netIds.flatMap((id) => LINK_METRICS.map((m) => (nets.has(id) ? nets.get(id)[m][i] : '')))]);
    });
  }
  rows.sort((a, b) => a[0] - b[0] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0));
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

function cell(v) {
  const s = String(v ?? '');
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Offers `text` as a file download (a blob URL: same origin, nothing leaves the machine). */
export function download(filename, text, type = 'text/csv') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
