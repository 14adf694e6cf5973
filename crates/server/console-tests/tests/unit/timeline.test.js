// Unit tests of the session page's pure modules (no browser): both ends on one axis, and live polling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendDetails, buildTimeline, spread } from '../../../console/session/timeline.js';
import { gradeChanged, sinceOf } from '../../../console/session/live.js';

/** A device's detail reporting at `times` (absolute seconds) with Fps = the time. */
function detail(type, start, times, extra = {}) {
  return {
    DeviceType: type, DeviceId: `${type}_1`, StartTime: start, EndTime: times[times.length - 1],
    TimeOffset: times.map((t) => t - start), Fps: times.slice(), ...extra,
  };
}
const range = (a, b, step) => Array.from({ length: Math.floor((b - a) / step) + 1 }, (_, i) => a + i * step);

test('every x strictly inside a missing stretch is null, also where the other device reports', () => {
  // The field reports at even seconds with a 20 s outage (1010 -> 1030); the remote at every odd second.
  const fieldTimes = [...range(1000, 1010, 2), ...range(1030, 1040, 2)];
  const remoteTimes = range(1001, 1039, 2);
  const tl = buildTimeline([detail('field', 1000, fieldTimes), detail('remote', 1001, remoteTimes)], 2);
  const field = tl.parts[0];
  const col = spread(tl, field, field.detail.Fps);
  const inside = tl.xs.map((x, i) => [x, col[i]]).filter(([x]) => x > 1010 && x < 1030);
  assert.ok(inside.length >= 10, `only ${inside.length} x inside the outage`);
  for (const [x, v] of inside) assert.equal(v, null, `field at ${x} is ${v}, not a gap`);
  // Outside it: the field's own samples, and `undefined` (drawn through) at the remote's seconds.
  assert.equal(col[tl.xs.indexOf(1010)], 1010);
  assert.equal(col[tl.xs.indexOf(1030)], 1030);
  assert.equal(col[tl.xs.indexOf(1009)], undefined);
  assert.deepEqual(field.gaps.map((g) => [g.from, g.to]), [[1010, 1030]]);
  // The remote has no gap: nothing of it is null.
  assert.ok(spread(tl, tl.parts[1], tl.parts[1].detail.Fps).every((v) => v !== null));
});

test('a missing stretch no other device reports in still gets an x, and it is null', () => {
  const tl = buildTimeline([detail('field', 1000, [1000, 1002, 1010, 1012])], 2);
  assert.deepEqual(tl.xs, [1000, 1002, 1004, 1010, 1012]);
  assert.deepEqual(spread(tl, tl.parts[0], tl.parts[0].detail.Fps), [1000, 1002, null, 1010, 1012]);
});

test('reports a little late are not a gap (up to 1.5 reporting periods)', () => {
  const tl = buildTimeline([detail('field', 1000, [1000, 1003, 1005])], 2);
  assert.deepEqual(tl.parts[0].gaps, []);
});

test('appendDetails adds only the new points, and a device that joins later', () => {
  const held = [detail('field', 1000, [1000, 1002])];
  const added = appendDetails(held, [detail('field', 1000, [1002, 1004, 1006]), detail('remote', 1001, [1001, 1003])]);
  assert.equal(added, 4);
  assert.deepEqual(held.map((d) => [d.DeviceType, d.TimeOffset]), [['field', [0, 2, 4, 6]], ['remote', [0, 2]]]);
  assert.deepEqual(held[0].Fps, [1000, 1002, 1004, 1006]);
  assert.equal(held[0].EndTime, 1006);
});

test('live polling asks for everything until both devices have reported, then after the last point held', () => {
  assert.equal(sinceOf([]), 0);
  assert.equal(sinceOf([detail('field', 1000, [1000, 1002, 1004])]), 0, 'the remote has not joined: its first points would be lost');
  assert.equal(sinceOf([detail('field', 1000, [1000, 1002, 1004]), detail('remote', 1001, [1001, 1003])]), 1004);
});

test('a grade known again after a failure redraws; the same grade does not', () => {
  const q = { Quality: 'good', QualityFinal: false, Incidents: [] };
  assert.equal(gradeChanged(q, { ...q }), false);
  assert.equal(gradeChanged(q, { ...q, QualityFinal: true }), true);
  assert.equal(gradeChanged({ ...q, Quality: 'unknown', error: new Error('x') }, q), true);
  assert.equal(gradeChanged(q, { ...q, Incidents: [{}] }), true);
});
