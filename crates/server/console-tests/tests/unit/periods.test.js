// Unit tests of the overview's periods and the server's calendar (periods.js), and of the URL routes
// (routes.js). Run in another time zone than the server's on purpose: a bucket's label is the server's day.

process.env.TZ = 'America/New_York';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketLabel, bucketStart, bucketTitle, offsetOfIso, offsetOfMidnight, periodOf, serverOffset, zoneName } from '../../../console/periods.js';
import { href, parseHash } from '../../../console/routes.js';

const H = 3600;
// 2026-11-30 00:00 at +08:00 (2026-11-29 16:00 UTC, 11:00 in New York on the 29th).
const MIDNIGHT_SHANGHAI = Date.UTC(2026, 10, 29, 16) / 1000;

test('a preset period ends at the next whole minute; the previous period is as long, just before', () => {
  const now = Date.UTC(2026, 10, 30, 12, 0, 30) / 1000;
  const p = periodOf({ period: '24h' }, now);
  assert.equal(p.end, now + 30);
  assert.equal(p.start, p.end - 86400);
  assert.equal(p.prevEnd, p.start - 1);
  assert.equal(p.prevStart, p.start - 86400);
  assert.equal(p.interval, 'hour');
  assert.equal(periodOf({}, now).interval, 'day');
  assert.equal(periodOf({ period: '30d' }, now).interval, 'day');
  const c = periodOf({ period: 'custom', from: '1000', to: '1000000000' }, now);
  assert.deepEqual([c.start, c.end, c.interval], [1000, 1000000000, 'month']);
});

test('the server\'s offset, from a bucket\'s midnight or from an ISO time it wrote', () => {
  assert.equal(offsetOfMidnight(MIDNIGHT_SHANGHAI), 8 * H);
  assert.equal(offsetOfMidnight(Date.UTC(2026, 10, 30, 5) / 1000), -5 * H, 'New York midnight is 05:00 UTC');
  assert.equal(offsetOfMidnight(Date.UTC(2026, 10, 29, 18, 15) / 1000), 5 * H + 45 * 60, 'Kathmandu');
  assert.equal(offsetOfIso('2026-11-30T12:00:00+08:00'), 8 * H);
  assert.equal(offsetOfIso('2026-11-30T12:00:00-03:30'), -3.5 * H);
  assert.equal(offsetOfIso('2026-11-30T12:00:00Z'), 0);
  assert.equal(offsetOfIso('garbage'), null);
  assert.equal(serverOffset({ interval: 'day', buckets: [{ StartTime: MIDNIGHT_SHANGHAI }], iso: '2026-11-30T12:00:00Z' }), 8 * H);
  assert.equal(serverOffset({ interval: 'hour', buckets: [{ StartTime: MIDNIGHT_SHANGHAI + 5 * H }], iso: '2026-11-30T12:00:00+08:00' }), 8 * H);
  assert.equal(zoneName(8 * H), 'UTC+08:00');
  assert.equal(zoneName(-3.5 * H), 'UTC−03:30');
});

test('a bucket is labelled with the server\'s day, whatever the browser\'s zone', () => {
  // The browser's own calendar would call this bucket the 29th: the test is in New York.
  assert.equal(new Date(MIDNIGHT_SHANGHAI * 1000).getDate(), 29);
  assert.equal(bucketLabel(MIDNIGHT_SHANGHAI, 'day', 8 * H), '11-30');
  assert.equal(bucketTitle(MIDNIGHT_SHANGHAI, 'day', 8 * H), 'Nov 30, 2026');
  assert.equal(bucketLabel(MIDNIGHT_SHANGHAI + 14 * H, 'hour', 8 * H), '14:00');
  assert.equal(bucketLabel(MIDNIGHT_SHANGHAI, 'month', 8 * H), '2026-11');
  assert.equal(bucketStart(MIDNIGHT_SHANGHAI + 23 * H, 'day', 8 * H), MIDNIGHT_SHANGHAI);
  assert.equal(bucketStart(MIDNIGHT_SHANGHAI + 5 * H + 59 * 60, 'hour', 8 * H), MIDNIGHT_SHANGHAI + 5 * H);
});

test('routes: a permalink round-trips, and a malformed one does not throw', () => {
  const link = href('session', 'a/b c%', { project: 'p1', page: 2, live: '', q: undefined });
  assert.equal(link, '#/session/a%2Fb%20c%25?project=p1&page=2');
  assert.deepEqual(parseHash(link), { view: 'session', arg: 'a/b c%', params: { project: 'p1', page: '2' } });
  assert.deepEqual(parseHash('#/session/%E0%A4?project=p1'), { view: 'session', arg: '%E0%A4', params: { project: 'p1' } });
  assert.deepEqual(parseHash(''), { view: '', arg: '', params: {} });
  assert.deepEqual(parseHash('#/overview'), { view: 'overview', arg: '', params: {} });
});
