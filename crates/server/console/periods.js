// The overview's periods, and the server's calendar. The hour, day and month buckets of the statistics
// are the server's (its configured time zone, +08:00 by default, docs/api.md §2.10), not the browser's:
// a bucket is labelled with the server's wall clock, or a browser in New York would call the server's
// Tuesday "Monday".

const PERIODS = { '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };
const DAY = 86400;

/** The period's window [start, end], the previous one of the same length, and the bucket size. */
export function periodOf(params, now = Math.floor(Date.now() / 1000)) {
  const period = params.period || '7d';
  let start;
  let end;
  if (period === 'custom') {
    start = Number(params.from) || now - PERIODS['7d'];
    end = Number(params.to) || now;
  } else {
    end = Math.ceil(now / 60) * 60;
    start = end - (PERIODS[period] || PERIODS['7d']);
  }
  const len = Math.max(60, end - start);
  const interval = len <= 2 * DAY ? 'hour' : len <= 92 * DAY ? 'day' : 'month';
  return { period, start, end, len, prevStart: start - len, prevEnd: start - 1, interval };
}

/** The UTC offset (seconds) in an ISO-8601 time the server wrote ("2026-11-30T12:00:00+08:00"), or null. */
export function offsetOfIso(iso) {
  const m = /(Z|([+-])(\d{2}):?(\d{2}))$/.exec(iso || '');
  if (!m) return null;
  if (m[1] === 'Z') return 0;
  return (m[2] === '-' ? -1 : 1) * (Number(m[3]) * 3600 + Number(m[4]) * 60);
}

/** The UTC offset (seconds) of the zone whose midnight `startTime` is (a day or month bucket's start). */
export function offsetOfMidnight(startTime) {
  const off = (DAY - (((startTime % DAY) + DAY) % DAY)) % DAY;
  return off > 14 * 3600 ? off - DAY : off; // zones run from −12:00 to +14:00
}

/**
 * The server's UTC offset: from a day or month bucket it returned when there is one, else from an ISO
 * time it wrote (a project's ModifyTime), else the browser's own.
 */
export function serverOffset({ buckets = [], interval, iso } = {}) {
  if (interval !== 'hour' && buckets.length) return offsetOfMidnight(buckets[0].StartTime);
  const fromIso = offsetOfIso(iso);
  if (fromIso != null) return fromIso;
  return -new Date().getTimezoneOffset() * 60;
}

/** "UTC+08:00" */
export function zoneName(offset) {
  const a = Math.abs(offset);
  const pad = (n) => String(n).padStart(2, '0');
  return `UTC${offset < 0 ? '−' : '+'}${pad(Math.floor(a / 3600))}:${pad(Math.floor((a % 3600) / 60))}`;
}

/** The start of the bucket holding `t`, in the zone at `offset` (months: the bucket's own start). */
export function bucketStart(t, interval, offset) {
  const step = interval === 'hour' ? 3600 : DAY;
  return Math.floor((t + offset) / step) * step - offset;
}

/** The server's wall clock at `t`, read with the Date's UTC getters. */
function wall(t, offset) {
  return new Date((t + offset) * 1000);
}

const pad2 = (n) => String(n).padStart(2, '0');

/** "14:00" for an hour, "11-30" for a day, "2026-11" for a month, in the zone at `offset`. */
export function bucketLabel(t, interval, offset) {
  const d = wall(t, offset);
  if (interval === 'hour') return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  if (interval === 'day') return `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`;
}

/** "Nov 30, 14:00", "Nov 30, 2026", "Nov 2026": the bucket under the cursor, in the zone at `offset`. */
export function bucketTitle(t, interval, offset) {
  const opts = interval === 'hour'
    ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false }
    : interval === 'day' ? { year: 'numeric', month: 'short', day: 'numeric' } : { year: 'numeric', month: 'short' };
  return wall(t, offset).toLocaleString('en-US', { ...opts, timeZone: 'UTC' });
}
