// How numbers, times and durations read in the console. Times are shown in the browser's time zone,
// with the zone named where it matters; the API's times are UNIX seconds.

const pad = (n) => String(n).padStart(2, '0');

/** 2024-11-12 16:19:29 (local time). */
export function dateTime(unixSeconds) {
  if (!unixSeconds) return '—';
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 16:19:29 (local time). */
export function clock(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** 1 h 02 min, 4 min 10 s, 58 s. */
export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  if (m < 60) return s ? `${m} min ${pad(s)} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${pad(m % 60)} min`;
}

/** "12 s ago", "3 min ago". */
export function ago(unixSeconds, now = Date.now() / 1000) {
  const d = Math.max(0, now - unixSeconds);
  if (d < 60) return `${Math.round(d)} s ago`;
  return `${duration(d - (d % 60))} ago`;
}

/** A number with at most `digits` decimals and thin grouping: 12 345.6 */
export function num(v, digits = 1) {
  if (v == null || Number.isNaN(v)) return '—';
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits }).replace(/,/g, '\u202f');
}

/** A value with its unit: "326 ms", "35.02 %", "2 000 kbps". */
export function withUnit(v, unit, digits = 2) {
  if (v == null) return '—';
  const n = num(v, digits);
  return unit ? `${n} ${unit}` : n;
}

/** ISO-8601 API time (ModifyTime, LastReportTime) as local date-time. */
export function isoTime(s) {
  if (!s) return '—';
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : dateTime(t / 1000);
}

/** `<input type="datetime-local">` value for UNIX seconds, and back. */
export function toLocalInput(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(value) {
  if (!value) return 0;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}
