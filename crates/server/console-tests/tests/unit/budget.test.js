// Unit tests of the latency budget's numbers (session/budget.js) and the links' (session/links.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetColumns, budgetStack } from '../../../console/session/budget.js';
import { linkColumns } from '../../../console/session/links.js';
import { buildTimeline } from '../../../console/session/timeline.js';

const range = (a, b, step) => Array.from({ length: Math.floor((b - a) / step) + 1 }, (_, i) => a + i * step);

function part(type, times, columns) {
  const start = times[0];
  return { DeviceType: type, DeviceId: `${type}_1`, StartTime: start, EndTime: times[times.length - 1], TimeOffset: times.map((t) => t - start), ...columns(times) };
}

/** Field at even seconds (capture 10, encode 20, RTT 100) with an outage 1010 -> 1030; remote at odd seconds (decode 5, render 5, RTT 60). */
function session({ remoteRtt = true } = {}) {
  const field = part('field', [...range(1000, 1010, 2), ...range(1030, 1040, 2)], (ts) => ({
    CaptureCost: ts.map(() => 10), EncodeCost: ts.map(() => 20), NetworkLatency: ts.map(() => 100),
  }));
  const remote = part('remote', range(1001, 1039, 2), (ts) => ({
    DecodeCost: ts.map(() => 5), RenderCost: ts.map(() => 5), NetworkLatency: remoteRtt ? ts.map(() => 60) : [],
  }));
  return buildTimeline([field, remote], 2);
}

test('a stage is unknown inside a device\'s missing reports: no report borrowed across the gap', () => {
  const tl = session();
  const cols = budgetColumns(tl, 2);
  assert.deepEqual(cols.map((c) => c.id), ['capture', 'encode', 'network', 'decode', 'render']);
  const capture = cols[0];
  for (let i = 0; i < tl.xs.length; i++) {
    const x = tl.xs[i];
    if (x > 1010 && x < 1030) assert.equal(capture.values[i], null, `capture at ${x} borrowed ${capture.values[i]}`);
  }
  // Between two of its reports, a device's value is its nearest report (the other device's seconds).
  assert.equal(capture.values[tl.xs.indexOf(1001)], 10);
  // The network stage: half of each round trip, field -> server plus server -> remote.
  assert.equal(cols[2].values[tl.xs.indexOf(1001)], 50 + 30);
});

test('the verdict counts only the seconds a device reported whose stages are all known', () => {
  const tl = session();
  const cols = budgetColumns(tl, 2);
  const stack = budgetStack(tl, cols, 100);
  // Every moment: 10 + 20 + 80 + 5 + 5 = 120 ms. Reported seconds: field 12, remote 20; those inside the
  // field's outage (the remote's 1011..1029) and the remote's last second gone, none is the gap's marker.
  const reported = new Set([...tl.parts[0].times, ...tl.parts[1].times]);
  const known = tl.xs.filter((x, i) => reported.has(x) && stack.total[i] != null);
  assert.ok(!tl.xs.filter((x, i) => stack.total[i] != null).some((x) => x > 1010 && x < 1030), 'a moment inside the outage');
  assert.equal(stack.moments, known.length);
  assert.equal(stack.over, stack.moments);
  assert.equal(stack.culprit, 'network');
  assert.deepEqual(stack.tops.map((t) => t[tl.xs.indexOf(1001)]), [10, 30, 110, 115, 120]);
});

test('with only one device\'s round trip, the network stage says it holds one leg', () => {
  const cols = budgetColumns(session({ remoteRtt: false }), 2);
  const network = cols.find((c) => c.id === 'network');
  assert.equal(network.partial, 'field');
  assert.match(network.label, /field leg only/);
  assert.equal(network.values[0], 50);
  assert.equal(budgetColumns(session(), 2).find((c) => c.id === 'network').partial, null);
});

test('links: share of throughput per report, the session share, and a failover', () => {
  const times = range(1000, 1010, 2);
  const nets = [
    { NetId: 1, NetIp: '10.0.1.2', Rtt: [50, 50, 50, 50, 50, 50], Lost: [0, 0, 0, 0, 0, 0], SendBps: [10, 10, 90, 90, 90, 90], RecvBps: [0, 0, 0, 0, 0, 0] },
    { NetId: 0, NetIp: '10.0.0.2', Rtt: [20, -1, 0, 20, 20, 20], Lost: [0, -1, 1, 0, 0, 0], SendBps: [90, 90, 10, 10, 10, 10], RecvBps: [0, 0, 0, 0, 0, 0] },
  ];
  const tl = buildTimeline([part('field', times, () => ({ MultiNet: nets }))], 2);
  const [{ links, failovers }] = linkColumns(tl);
  assert.deepEqual(links.map((l) => l.NetId), [0, 1], 'links in NetId order');
  assert.deepEqual(links[0].shareRaw, [90, 90, 10, 10, 10, 10]);
  assert.deepEqual(links[0].rttRaw, [20, null, null, 20, 20, 20], 'an RTT of -1 or 0 is unknown');
  assert.deepEqual(links[0].lossRaw, [0, null, 1, 0, 0, 0]);
  assert.equal(Math.round(links[1].shareOfSession), 63);
  assert.deepEqual(failovers, [{ at: 1004, from: 0, to: 1 }]);
});
