// End-to-end tests of the web console (docs/console.md) in headless Chromium against a real
// `teleoscope serve`: what an operator does and sees, and what must never happen (a secret left in the
// browser, a request leaving the machine, a CSP violation, an old page painted over a new one, a chart
// left alive). The pages' screenshots are written to docs/screenshots/ for the README.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Console, GOLDEN, REPO, Server } from '../lib/teleoscope.js';
import { launch } from '../lib/browser.js';

const SHOTS = join(REPO, 'docs/screenshots');
const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')).Response.Details;
const GOLDEN_ID = golden[0].SessionId;
const FOREIGN_ID = 'foreign-tenant-session-1';
const GAP_ID = 'gap-interleaved-1';
const H = 3600;
/** The server's default time zone (docs/api.md §2.10): its statistics' days start at +08:00 midnights. */
const SERVER_OFFSET = 8 * H;

let srv;
let browser;
let page;
let key;
let api;
let project;
let setUpAt;
let gapStart;
const requests = [];
const cspViolations = [];
const pageErrors = [];

function watch(p) {
  p.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  return p;
}

async function shot(name, { fullPage = false } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

async function open(hash, selector, p = page) {
  await p.goto(`${srv.base}/console/${hash}`);
  await p.waitForSelector(selector);
}

async function signIn(p, id, secret) {
  await p.goto(`${srv.base}/console/`);
  await p.waitForSelector('form.signin');
  await p.fill('#secret-id', id);
  await p.fill('#secret-key', secret);
  await p.click('form.signin button[type=submit]');
}

/** Every metric chart's series as drawn: [{chart, label, points: [[x, y]...] (numbers only)}]. */
async function drawnSeries(p) {
  return p.$$eval('[data-chart] .plot', (els) => els.flatMap((el) => {
    const u = el.uplot;
    const chart = el.closest('[data-chart]').dataset.chart;
    return u.series.slice(1).map((s, k) => ({
      chart,
      label: s.label,
      points: u.data[0].map((x, i) => [x, u.data[k + 1][i]]).filter(([, y]) => typeof y === 'number'),
    }));
  }));
}

async function xRanges(p) {
  return p.$$eval('.chart-card[data-chart] .plot', (els) => els.map((el) => ({
    chart: el.closest('[data-chart]').dataset.chart,
    min: el.uplot.scales.x.min,
    max: el.uplot.scales.x.max,
  })));
}

/** How many uPlot charts are alive (charts/plots.js counts them) and how many are in the page. */
async function charts(p = page) {
  return p.evaluate(() => ({ alive: Number(document.documentElement.dataset.charts || 0), shown: document.querySelectorAll('.uplot').length }));
}

/**
 * Holds every request to `action` (matching `when`) until release(), then lets it through (or fails it,
 * as a lost connection would, with `abort`); `seen` resolves at the first one held.
 */
async function hold(p, action, when = () => true, { abort = false } = {}) {
  let release;
  const released = new Promise((r) => { release = r; });
  let seen;
  const seenOnce = new Promise((r) => { seen = r; });
  const handler = async (route) => {
    if (!when(route.request())) return route.continue();
    seen();
    await released;
    return (abort ? route.abort() : route.continue()).catch(() => {});
  };
  await p.route(`**/console/api/action/${action}`, handler);
  return { seen: seenOnce, release: () => release(), done: () => p.unroute(`**/console/api/action/${action}`, handler) };
}

/** A pause longer than the console's 2 s refresh, to see that nothing more happens. */
const pastOneTick = (p) => p.waitForTimeout(2600);

/**
 * A week of history for the overview: the golden session replayed 3 times a day over the last 7 days by
 * a few trucks and stations, one in four with a bad video latency, one in three with a slow link.
 */
function history() {
  const now = Math.floor(Date.now() / 1000);
  const sessions = [];
  for (let k = 0; k < 21; k++) {
    const start = now - 3600 - k * 8 * 3600 - (k % 5) * 1800;
    const s = JSON.parse(readFileSync(GOLDEN, 'utf8')).Response.Details;
    const [f, r] = s;
    for (const d of s) d.SessionId = `history-${k}`;
    f.DeviceId = `haul_truck_${1 + (k % 4)}`;
    r.DeviceId = `op_station_${1 + (k % 3)}`;
    r.StartTime = start + 3;
    f.StartTime = start;
    if (k % 4 === 1) r.VideoLatency = r.VideoLatency.map((v) => (v > 0 ? v * 4 : v));
    if (k % 3 !== 0) f.NetworkLatency = f.NetworkLatency.map((v) => (v > 300 ? 90 : v));
    sessions.push(...s);
  }
  const file = join(srv.dir, 'history.json');
  writeFileSync(file, JSON.stringify({ Response: { RequestId: 'history', Details: sessions } }));
  return file;
}

/** The golden detail `d` reshaped to report at `offsets` (its values cycled, so nothing is constant). */
function reshape(d, offsets, extra) {
  const out = { ...d, ...extra, TimeOffset: offsets };
  const cycle = (arr) => (arr.length ? offsets.map((_, i) => arr[(i + 2) % arr.length]) : []);
  for (const [k, v] of Object.entries(d)) if (Array.isArray(v) && k !== 'MultiNet' && k !== 'TimeOffset') out[k] = cycle(v);
  out.MultiNet = (d.MultiNet || []).map((n) => ({ ...n, Rtt: cycle(n.Rtt), Lost: cycle(n.Lost), SendBps: cycle(n.SendBps), RecvBps: cycle(n.RecvBps) }));
  out.EndTime = out.StartTime + offsets[offsets.length - 1];
  return out;
}

/**
 * Two devices reporting at interleaved seconds (field even, remote odd), as real ones do, and a 20 s
 * outage of the field device (its reports at +20 then +40): every chart must break the field's line
 * across the whole outage.
 */
function gapSession(start) {
  const range = (a, b) => Array.from({ length: (b - a) / 2 + 1 }, (_, i) => a + 2 * i);
  const [f, r] = JSON.parse(readFileSync(GOLDEN, 'utf8')).Response.Details;
  const details = [
    reshape(f, [...range(0, 20), ...range(40, 60)], { SessionId: GAP_ID, StartTime: start, DeviceId: 'gap_field' }),
    reshape(r, range(0, 58), { SessionId: GAP_ID, StartTime: start + 1, DeviceId: 'gap_remote' }),
  ];
  const file = join(srv.dir, 'gap.json');
  writeFileSync(file, JSON.stringify({ Response: { RequestId: 'gap', Details: details } }));
  return file;
}

/** A running simulated session's id (the newest: the likeliest to run on), from the API. */
async function liveSessionId() {
  const r = await api.call('DescribeSessions', { ProjectId: project, Live: true, PageNumber: 1, PageSize: 10 });
  assert.ok(r.Sessions.length, 'no simulated session is running');
  return r.Sessions[0].SessionId;
}

/** The frame-rate chart's series as drawn. */
async function fpsDrawn(p = page) {
  return p.$eval('.chart-card[data-chart="fps"] .plot', (el) => {
    const u = el.uplot;
    return u.series.slice(1).map((s, k) => ({
      label: s.label,
      points: u.data[0].map((x, i) => [x, u.data[k + 1][i]]).filter(([, y]) => typeof y === 'number'),
    }));
  });
}

/** Each drawn frame-rate series is exactly the API's points of its device up to its last drawn one. */
function assertFpsIsTheApis(drawn, details) {
  assert.ok(drawn.length > 0, 'no frame-rate series drawn');
  for (const s of drawn) {
    const d = details.find((x) => s.label === `${x.DeviceType} frame rate`);
    assert.ok(d, `no detail for ${s.label}`);
    const last = Math.max(...s.points.map(([x]) => x));
    const want = d.TimeOffset.map((o, i) => [d.StartTime + o, d.Fps[i]]).filter(([t]) => t <= last);
    assert.deepEqual(s.points, want, `${s.label} is not the API's points up to ${last}`);
  }
}

describe('web console', () => {
  before(async () => {
    srv = await Server.start();
    key = srv.createKey();
    api = await new Console(srv).signIn(key);
    ({ ProjectId: project } = await api.call('CreateProject', { ProjectName: 'mine_north', ProjectDescription: 'Open-pit mine, north pit', PolicyMode: 'black' }));
    await api.call('CreateProject', { ProjectName: 'port_cranes', ProjectDescription: 'Container terminal, quay cranes' });
    srv.importDetails(project, GOLDEN);
    srv.importDetails(project, history());
    gapStart = Math.floor(Date.now() / 1000) - 20 * 86400; // before both 7-day periods of the overview
    srv.importDetails(project, gapSession(gapStart));
    await api.call('CreateDevice', { ProjectId: project, DeviceId: 'truck_07', DeviceName: 'Truck_7', DeviceType: 'field', DeviceToken: 'A1b2C3d4E5f6G7h8' });
    await api.call('CreateDevice', { ProjectId: project, DeviceId: 'station_2', DeviceName: 'Station_2', DeviceType: 'remote', DeviceToken: 'Z9y8X7w6V5u4T3s2' });
    await api.call('ModifyPolicy', { ProjectId: project, RemoteDeviceId: 'station_2', FieldDeviceIds: ['truck_07'], PolicyMode: 'black', ModifyMode: 'add' });
    // Another tenant with its own session: its id must look exactly like a missing one.
    const other = srv.createKey();
    const otherApi = await new Console(srv).signIn(other);
    const { ProjectId: otherProject } = await otherApi.call('CreateProject', { ProjectName: 'other_tenant' });
    const foreign = JSON.parse(readFileSync(GOLDEN, 'utf8'));
    for (const d of foreign.Response.Details) d.SessionId = FOREIGN_ID;
    const foreignFile = join(srv.dir, 'foreign.json');
    writeFileSync(foreignFile, JSON.stringify(foreign));
    srv.importDetails(otherProject, foreignFile);
    setUpAt = Math.floor(Date.now() / 1000);
    // Live sessions: three simulated field/remote pairs reporting every 2 s through the device API.
    srv.simulate(key, project, { pairs: 3, seed: 11 });
    browser = await launch();
    browser.context.on('request', (r) => requests.push(r.url()));
    page = watch(await browser.context.newPage());
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.stop();
  });

  test('the console page carries a strict Content-Security-Policy and the other security headers', async () => {
    const res = await fetch(`${srv.base}/console/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy');
    assert.ok(csp, 'no Content-Security-Policy header');
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));
    assert.equal(directives['default-src'], "'none'");
    assert.equal(directives['script-src'], "'self'");
    assert.equal(directives['style-src'], "'self'");
    assert.equal(directives['connect-src'], "'self'");
    assert.equal(directives['frame-ancestors'], "'none'");
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/, `CSP allows too much: ${csp}`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const js = await fetch(`${srv.base}/console/app.js`);
    assert.ok(js.headers.get('content-security-policy'), 'the scripts are served under the CSP too');
  });

  test('a wrong key is refused with a clear message and shows no data', async () => {
    const p = watch(await browser.context.newPage());
    await signIn(p, key.SecretId, 'not-the-secret-key-000000000000');
    const msg = await p.waitForSelector('form.signin .message.error');
    assert.match(await msg.textContent(), /do not match a key/);
    assert.equal(await p.isVisible('#topbar'), false);
    assert.equal(await p.$$eval('table, .chart-card', (els) => els.length), 0);
    const cookies = await browser.context.cookies();
    assert.equal(cookies.filter((c) => c.name === 'teleoscope_console').length, 0, 'a refused sign-in left a cookie');
    // The typed secret is cleared from the form; the SecretId stays, to correct the key.
    assert.equal(await p.inputValue('#secret-key'), '');
    assert.equal(await p.inputValue('#secret-id'), key.SecretId);
    // No password manager is invited to keep the SecretKey.
    assert.equal(await p.getAttribute('#secret-key', 'autocomplete'), 'off');
    await p.screenshot({ path: join(SHOTS, 'signin-wrong-key.png') });
    await p.close();
  });

  test('signs in with a key made by the CLI; the secret is kept nowhere in the browser', async () => {
    await page.goto(`${srv.base}/console/`);
    await page.waitForSelector('form.signin');
    await shot('signin');
    await signIn(page, key.SecretId, key.SecretKey);
    await page.waitForSelector('#topbar:not([hidden])');
    await page.waitForSelector('h1');
    assert.match(await page.textContent('#who'), new RegExp(key.AccountId));
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
    assert.deepEqual(storage, { local: 0, session: 0 });
    // Where a secret could stay: a field's value (not in the markup), the storages, the markup.
    const kept = await page.evaluate((secret) => ({
      inputs: [...document.querySelectorAll('input, textarea')].filter((el) => el.value.includes(secret)).length,
      storage: [...Object.entries(localStorage), ...Object.entries(sessionStorage)].flat().filter((v) => v.includes(secret)).length,
      markup: document.documentElement.outerHTML.includes(secret),
    }), key.SecretKey);
    assert.deepEqual(kept, { inputs: 0, storage: 0, markup: false });
    const cookie = (await browser.context.cookies()).find((c) => c.name === 'teleoscope_console');
    assert.ok(cookie, 'no session cookie after sign-in');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(!cookie.value.includes(key.SecretKey));
  });

  test('lists the projects and the devices', async () => {
    await open('#/projects', 'table.projects');
    const names = await page.$$eval('table.projects tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    assert.deepEqual(names.sort(), ['mine_north', 'port_cranes']);
    assert.ok(!names.includes('other_tenant'));
    await shot('projects');
    await open(`#/devices?project=${project}`, 'table.devices');
    const ids = await page.$$eval('table.devices tbody tr', (trs) => trs.map((t) => t.dataset.deviceId));
    for (const id of ['dev_0240702040008', 'driver_456', 'truck_07', 'station_2']) assert.ok(ids.includes(id), `${id} not listed: ${ids}`);
    await shot('devices');
    // The API's own rule, in words: a device id already in use is refused, and nothing changes.
    await page.fill('#c-id', 'truck_07');
    await page.fill('#c-name', 'Another');
    await page.click('section.editor button[type=submit]');
    const refusal = await page.waitForSelector('.form-status .message.error');
    assert.match(await refusal.textContent(), /The device was not created: That value is not accepted\..*truck_07/);
    assert.equal(await page.$$eval('table.devices tbody tr', (trs) => trs.length), ids.length);
    // Past the last page there is still a way back.
    await open(`#/devices?project=${project}&page=99`, '.pager');
    assert.match(await page.textContent('.pager-text'), /Page 99 of 1 ·/);
    assert.equal(await page.getAttribute('.pager a.button', 'href'), `#/devices?project=${project}&page=1`);
    await open(`#/policies?project=${project}`, 'table.policies');
    assert.match(await page.textContent('table.policies tbody tr[data-remote="station_2"]'), /truck_07/);
    await shot('policies');
  });

  test('the imported session: charts hold exactly its points (30 field, 40 remote) and its two links', async () => {
    await open(`#/session/${GOLDEN_ID}?project=${project}`, '.chart-card[data-chart="fps"] .u-over');
    const [field, remote] = golden;
    const reports = await page.$$eval('ul.parts li', (lis) => lis.map((li) => [li.dataset.device, li.dataset.reports]));
    assert.deepEqual(reports, [['field', '30'], ['remote', '40']]);
    const series = await drawnSeries(page);
    const want = (d, metric) => d.TimeOffset.map((o, i) => [d.StartTime + o, d[metric][i]]);
    const fps = series.filter((s) => s.chart === 'fps');
    assert.deepEqual(fps.map((s) => s.label), ['field frame rate', 'remote frame rate']);
    assert.deepEqual(fps[0].points, want(field, 'Fps'));
    assert.deepEqual(fps[1].points, want(remote, 'Fps'));
    assert.equal(fps[0].points.length, 30);
    assert.equal(fps[1].points.length, 40);
    const rate = series.find((s) => s.chart === 'bitrate' && s.label === 'remote bitrate');
    assert.deepEqual(rate.points, want(remote, 'Rate'));
    // Every series of every metric chart holds only the session's own samples, at their own times.
    const times = { field: new Set(want(field, 'Fps').map(([t]) => t)), remote: new Set(want(remote, 'Fps').map(([t]) => t)) };
    for (const s of series.filter((x) => /^(field|remote) /.test(x.label))) {
      const dev = s.label.split(' ')[0];
      for (const [t] of s.points) assert.ok(times[dev].has(t), `${s.chart} ${s.label} has a point at ${t}, not a ${dev} sample time`);
    }
    // A missed report is a gap: the remote's 53 s -> 59 s is null at every x between, not a line across,
    // on its charts and on the measured video latency drawn over the latency budget.
    const between = await page.$$eval('[data-chart="fps"] .plot, [data-chart="latency-budget"] .plot', (els, [from, to]) => els.map((el) => {
      const u = el.uplot;
      const k = u.series.findIndex((s) => s.label === 'remote frame rate' || s.label === 'measured video latency');
      return u.data[0].map((x, i) => [x, u.data[k][i] === null ? 'null' : String(u.data[k][i])]).filter(([x]) => x > from && x < to);
    }), [remote.StartTime + 53, remote.StartTime + 59]);
    for (const xs of between) {
      assert.ok(xs.length > 0);
      for (const [x, v] of xs) assert.equal(v, 'null', `the remote's line at ${x} is ${v}: bridged`);
    }
    // The links: NIC 0 and NIC 1 of the field device, their round trips exactly as reported (0 = none).
    const links = await page.$$eval('.links-table tbody tr', (trs) => trs.map((t) => t.textContent));
    assert.equal(links.length, 2);
    assert.match(links[0], /NIC 0 192\.168\.11\.2/);
    assert.match(links[1], /NIC 1 192\.168\.10\.2/);
    const rtt = series.filter((s) => s.chart === 'links-field-rtt');
    assert.equal(rtt.length, 2);
    field.MultiNet.forEach((net, k) => {
      assert.deepEqual(rtt[k].points, field.TimeOffset.map((o, i) => [field.StartTime + o, net.Rtt[i]]).filter(([, v]) => v > 0));
    });
    // Constant series are folded into a note, never-reported metrics are not drawn at all.
    assert.match(await page.textContent('[data-group="device"]'), /constant, not drawn: field CPU 35\.02 %/);
    assert.ok(!series.some((s) => s.label.includes('control latency')));
    // The network group's own notes come before the links, not under them.
    assert.equal(await page.$eval('[data-group="network"]', (g) => {
      const note = g.querySelector(':scope > .folded');
      const links = g.querySelector(':scope > h3.subhead');
      return Boolean(note && links && note.compareDocumentPosition(links) & Node.DOCUMENT_POSITION_FOLLOWING);
    }), true);
    // The latency budget's legend reads as its table and its stack: capture at the bottom, render on top.
    const budgetLegend = await page.$eval('[data-chart="latency-budget"] .plot', (el) => el.uplot.series.slice(1).map((s) => s.label));
    const budgetTable = await page.$$eval('.budget-table tbody tr[data-stage]', (trs) => trs.map((tr) => tr.dataset.stage));
    assert.deepEqual(budgetTable, ['capture', 'encode', 'network', 'decode', 'render']);
    assert.deepEqual(budgetLegend, [...budgetTable, 'measured video latency']);
    assert.match(await page.textContent('.session-head'), /normal/i);
    // One duration for the session, as the API says (EndTime − StartTime: 16:19:29 to 16:21:04).
    const span = Math.max(...golden.map((d) => d.EndTime)) - Math.min(...golden.map((d) => d.StartTime));
    assert.equal(span, 95);
    assert.match(await page.textContent('.session-head dl.facts'), /\(1 min 35 s\)/);
    assert.doesNotMatch(await page.textContent('.session-head'), /1 min 3[0-46-9] s/);
    const c = await charts();
    assert.equal(c.alive, c.shown, 'a chart is alive that the page does not show');
    await shot('session', { fullPage: true });
  });

  test('zooming one chart zooms every chart; the brush shows the window; double-click zooms out', async () => {
    const full = await xRanges(page);
    const over = await page.$('.chart-card[data-chart="fps"] .u-over');
    await over.scrollIntoViewIfNeeded();
    const box = await over.boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const zoomed = await xRanges(page);
    assert.ok(zoomed.length >= 8, `only ${zoomed.length} charts`);
    const ref = zoomed.find((z) => z.chart === 'fps');
    assert.ok(ref.max - ref.min < (full[0].max - full[0].min) * 0.5, 'the dragged chart did not zoom');
    for (const z of zoomed) {
      assert.ok(Math.abs(z.min - ref.min) < 1e-6 && Math.abs(z.max - ref.max) < 1e-6, `${z.chart} did not follow: ${JSON.stringify(z)} vs ${JSON.stringify(ref)}`);
    }
    const brushWidth = await page.$eval('[data-chart="brush"] .u-select', (el) => el.getBoundingClientRect().width);
    assert.ok(brushWidth > 0, 'the brush does not show the zoomed window');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('session-zoomed');
    await page.dblclick('.chart-card[data-chart="fps"] .u-over');
    const back = await xRanges(page);
    for (const z of back) assert.deepEqual([z.min, z.max], [full[0].min, full[0].max], `${z.chart} did not zoom out`);
    // Clicking an incident zooms every chart to it: the remote's stall at 2 s (16:19:34).
    const incidents = await page.$$eval('.incident', (lis) => lis.map((li) => li.textContent));
    assert.ok(incidents.length >= 2, `incidents listed: ${incidents}`);
    const stall = await page.$('.incident[data-kind="stall"] button');
    await stall.click();
    const atIncident = await xRanges(page);
    const at = golden[1].StartTime + 2;
    for (const z of atIncident) {
      assert.ok(z.min <= at && z.max >= at && z.max - z.min < full[0].max - full[0].min, `${z.chart} did not jump to the stall: ${JSON.stringify(z)}`);
      assert.deepEqual([z.min, z.max], [atIncident[0].min, atIncident[0].max], `${z.chart} differs from the others`);
    }
  });

  test('a 20 s outage of one device, the other reporting at interleaved seconds, is a gap on every chart', async () => {
    await open(`#/session/${GAP_ID}?project=${project}`, '.chart-card[data-chart="fps"] .u-over');
    const [from, to] = [gapStart + 20, gapStart + 40];
    const inside = await page.$$eval('[data-chart] .plot', (els, [a, b]) => els.flatMap((el) => {
      const u = el.uplot;
      const chart = el.closest('[data-chart]').dataset.chart;
      return u.series.slice(1).map((s, k) => ({
        chart,
        // The brush draws each device's bitrate, field first; the budget's stages need the field's costs.
        field: /^field /.test(s.label) || chart.startsWith('links-field') || (chart === 'brush' && k === 0)
          || (chart === 'latency-budget' && s.label !== 'measured video latency'),
        label: s.label || `series ${k + 1}`,
        values: u.data[0].map((x, i) => [x, u.data[k + 1][i] === null ? 'null' : String(u.data[k + 1][i])]).filter(([x]) => x > a && x < b),
      }));
    }), [from, to]);
    const fieldSeries = inside.filter((s) => s.field);
    assert.ok(fieldSeries.some((s) => s.chart === 'fps') && fieldSeries.some((s) => s.chart === 'brush')
      && fieldSeries.some((s) => s.chart === 'links-field-rtt') && fieldSeries.some((s) => s.chart === 'latency-budget'), 'a chart is missing');
    for (const s of fieldSeries) {
      // The remote reports at every odd second of the outage: ten x at least.
      assert.ok(s.values.length >= 10, `${s.chart} ${s.label}: ${s.values.length} x inside the outage`);
      for (const [x, v] of s.values) assert.equal(v, 'null', `${s.chart} ${s.label} at +${x - gapStart} s is ${v}: the outage is bridged`);
    }
    // The remote, which kept reporting, is drawn through it.
    const remoteFps = inside.find((s) => s.chart === 'fps' && s.label === 'remote frame rate');
    assert.equal(remoteFps.values.filter(([, v]) => v !== 'null' && v !== 'undefined').length, 10);
  });

  test('a foreign session id gets a clear message and no data', async () => {
    await open(`#/session/${FOREIGN_ID}?project=${project}`, '.message.error');
    assert.match(await page.textContent('.message.error'), /Not found/i);
    assert.equal(await page.$$eval('.chart-card, .links-table', (els) => els.length), 0);
    assert.ok(!(await page.content()).includes('192.168.11.2'));
  });

  test('a malformed address gets a message, not an endless "Loading…"', async () => {
    await open(`#/session/%E0%A4?project=${project}`, '.message.error');
    assert.match(await page.textContent('.message.error'), /cannot be shown/);
    assert.equal(await page.$$eval('#view .loading', (els) => els.length), 0);
  });

  test('lists the sessions and the fleet overview', async () => {
    await open(`#/sessions?project=${project}`, 'table.sessions');
    assert.match(await page.textContent('.pager-text'), /Page 1 of \d+ · \d+ sessions/);
    await shot('sessions');
    // Filters are a permalink: the golden session's remote device, graded normal.
    await open(`#/sessions?project=${project}&device=driver_456&quality=normal`, 'table.sessions');
    const ids = await page.$$eval('table.sessions tbody tr', (trs) => trs.map((t) => t.dataset.sessionId));
    assert.deepEqual(ids, [GOLDEN_ID]);
    assert.equal(await page.inputValue('#f-device'), 'driver_456');
    assert.equal(await page.textContent(`table.sessions tr[data-session-id="${GOLDEN_ID}"] td:nth-child(3)`), '1 min 35 s',
      'the list and the session page give the session one duration');
    await open(`#/sessions?project=${project}&device=driver_456&quality=bad`, '.table-card .empty');
    // A range the API refuses (From after To): the error in the table's place, the filters as typed.
    await open(`#/sessions?project=${project}&device=driver_456&from=${setUpAt}&to=${setUpAt - 3600}`, '.table-card .message.error');
    assert.match(await page.textContent('.table-card .message.error'), /The sessions cannot be listed: That value is not accepted/);
    assert.equal(await page.inputValue('#f-device'), 'driver_456');
    assert.notEqual(await page.inputValue('#f-from'), '');
    // Past the last page, a way back.
    await open(`#/sessions?project=${project}&page=99`, '.pager');
    assert.match(await page.textContent('.pager-text'), /^Page 99 of \d+ ·/);
    assert.match(await page.getAttribute('.pager a.button', 'href'), /page=\d+$/);
    // The sessions of the custom window: the golden one and the week's 21, imported before the simulation.
    const window = { StartTime: golden[0].StartTime - 3600, EndTime: setUpAt - 60 };
    const { SessionNum } = await api.call('DescribeSessionStatistics', { ProjectId: project, ...window });
    assert.equal(SessionNum, 23);
    await open(`#/overview?project=${project}&period=custom&from=${window.StartTime}&to=${window.EndTime}`, '.cards .stat');
    assert.equal(await page.textContent('[data-stat="SessionNum"] .value'), String(SessionNum));
    // A custom range the API refuses keeps its form, to be put right.
    await open(`#/overview?project=${project}&period=custom&from=${setUpAt}&to=${setUpAt - 86400}`, '.overview-body .message.error');
    assert.equal(await page.$$eval('#o-from, #o-to', (els) => els.length), 2);
    await open(`#/overview?project=${project}&period=7d`, '.cards .stat');
    await page.waitForSelector('.bars-plot .u-over');
    // The period before had no session: nothing to compare with, not "+79 points".
    assert.equal(await page.textContent('[data-stat="NotBadSessionRatio"] .delta'), 'no sessions before');
    assert.equal(await page.$$eval('[data-stat="NotBadSessionRatio"] .delta.up', (els) => els.length), 0);
    await shot('overview', { fullPage: true });
    // Clicking a bar lists the sessions it counts: those that started in its bucket (the sessions
    // running into it from the day before are not among them).
    const bar = await page.$eval('.bars-plot', (el) => {
      const u = el.uplot;
      const cur = u.data[2];
      const i = cur.indexOf(Math.max(...cur));
      const box = u.over.getBoundingClientRect();
      return { count: cur[i], x: box.left + u.valToPos(u.data[0][i], 'x'), y: box.bottom - 4 };
    });
    assert.ok(bar.count > 0);
    await page.mouse.move(bar.x, bar.y);
    await page.mouse.click(bar.x, bar.y);
    await page.waitForSelector('table.sessions');
    assert.match(page.url(), /#\/sessions\?.*by=start/);
    assert.equal(await page.inputValue('#f-by'), 'start');
    assert.match(await page.textContent('.pager-text'), new RegExp(`· ${bar.count} sessions?$`));
  });

  test('a page left while it loads never paints over the next one, and leaves no chart alive', async () => {
    // The session's samples answer late; meanwhile the user went to the devices.
    const details = await hold(page, 'DescribeDeviceSessionDetails');
    await page.goto(`${srv.base}/console/#/session/${GOLDEN_ID}?project=${project}`);
    await details.seen;
    const late = page.waitForResponse((r) => r.url().endsWith('/DescribeDeviceSessionDetails'));
    await page.evaluate((hash) => { location.hash = hash; }, `#/devices?project=${project}`);
    await page.waitForSelector('table.devices');
    details.release();
    await late;
    await page.waitForTimeout(500);
    await details.done();
    assert.equal(await page.$$eval('.session-head, .chart-card, .brush-card', (els) => els.length), 0, 'the session page was painted over the devices');
    assert.equal(await page.$$eval('table.devices', (els) => els.length), 1);
    assert.equal((await charts()).alive, 0, 'the left session page made charts');

    // The overview's lists answer late; meanwhile the user went to the devices.
    const fleet = await hold(page, 'DescribeFleetOverview');
    await page.goto(`${srv.base}/console/#/overview?project=${project}&period=7d`);
    await fleet.seen;
    const lateFleet = page.waitForResponse((r) => r.url().endsWith('/DescribeFleetOverview'));
    await page.evaluate((hash) => { location.hash = hash; }, `#/devices?project=${project}&type=field`);
    await page.waitForSelector('table.devices');
    fleet.release();
    await lateFleet;
    await page.waitForTimeout(500);
    await fleet.done();
    assert.equal(await page.$$eval('.cards .stat, .bars-plot, .card', (els) => els.length), 0, 'the overview was painted over the devices');
    assert.equal((await charts()).alive, 0, 'the left overview made its bars');

    // Leaving a drawn page destroys its charts: the session's (its brush too), the overview's bars.
    await open(`#/session/${GOLDEN_ID}?project=${project}`, '.chart-card[data-chart="fps"] .u-over');
    const drawn = await charts();
    assert.ok(drawn.alive > 10 && drawn.alive === drawn.shown, JSON.stringify(drawn));
    await open(`#/overview?project=${project}&period=7d`, '.bars-plot .u-over');
    assert.deepEqual(await charts(), { alive: 1, shown: 1 });
    await open(`#/devices?project=${project}`, 'table.devices');
    assert.deepEqual(await charts(), { alive: 0, shown: 0 });
  });

  test('a live update failing after its page was left says nothing on the next page', async () => {
    const id = await liveSessionId();
    // The live page's next Details request (with StartTime) fails, after the user went to another session.
    const isPoll = (r) => 'StartTime' in JSON.parse(r.postData() || '{}');
    const poll = await hold(page, 'DescribeDeviceSessionDetails', isPoll, { abort: true });
    await open(`#/session/${id}?project=${project}`, '.session-head .live-badge');
    await poll.seen;
    await open(`#/session/${GOLDEN_ID}?project=${project}`, '.chart-card[data-chart="fps"] .u-over');
    poll.release();
    await page.waitForTimeout(500);
    await poll.done();
    assert.equal(await page.$$eval('.live-error .message, .live-badge', (els) => els.length), 0, 'the left live page wrote on this one');
    assert.equal(await page.textContent('.session-head h1 .mono'), GOLDEN_ID);
  });

  test('a simulated live session grows while it is open', async () => {
    await open(`#/live?project=${project}`, '.live-grid');
    await page.waitForSelector('table.live-sessions tbody tr', { timeout: 30000 });
    await page.waitForSelector('table.device-status .status-connected');
    // A running session's grade is provisional, and says so.
    await page.waitForSelector('table.live-sessions .grade .provisional');
    await shot('live');
    // A simulated session lasts 30 s to 10 min: open the running ones until one is still running.
    const ids = await page.$$eval('table.live-sessions tbody tr', (trs) => trs.map((tr) => tr.dataset.sessionId));
    let live = null;
    for (const id of ids) {
      await open(`#/session/${id}?project=${project}`, '.session-head');
      if (await page.isVisible('.session-head .live-badge')) {
        live = id;
        break;
      }
    }
    assert.ok(live, `none of the running sessions ${ids} opened as live`);
    await page.waitForSelector('.chart-card[data-chart="fps"] .u-over');
    // What the chart holds is the API's points (no duplicate, none missing), read in one go.
    const first = await fpsDrawn();
    assertFpsIsTheApis(first, (await api.call('DescribeDeviceSessionDetails', { SessionId: live })).Details);
    const count = (series) => series.reduce((a, s) => a + s.points.length, 0);
    await page.waitForFunction((n) => {
      const u = document.querySelector('.chart-card[data-chart="fps"] .plot').uplot;
      return u && u.data.slice(1).flat().filter((v) => typeof v === 'number').length > n;
    }, count(first), { timeout: 20000 });
    const later = await fpsDrawn();
    assert.ok(count(later) > count(first), `${count(later)} points, not more than ${count(first)}`);
    assertFpsIsTheApis(later, (await api.call('DescribeDeviceSessionDetails', { SessionId: live })).Details);
    const c = await charts();
    assert.equal(c.alive, c.shown, 'a redraw left a chart alive');
    await shot('session-live', { fullPage: false });
  });

  test('a live session goes live even when its grade cannot be had at first', async () => {
    const id = await liveSessionId();
    await open(`#/projects`, 'table.projects'); // no live page left to ask for a grade meanwhile
    await page.route('**/console/api/action/DescribeSessionQuality', (route) => route.abort(), { times: 1 });
    const firstPoll = await hold(page, 'DescribeDeviceSessionDetails', (r) => 'StartTime' in JSON.parse(r.postData() || '{}'));
    await open(`#/session/${id}?project=${project}`, '.chart-card[data-chart="fps"] .u-over');
    assert.match(await page.textContent('.reasons-box'), /The grade cannot be shown/);
    const points = () => page.$eval('.view-session', (el) => el.dataset.points.split(' ').reduce((a, p) => a + Number(p.split(':')[1]), 0));
    const before = await points();
    // The page keeps asking: the points grow, and the grade so far comes on a later tick.
    await firstPoll.seen;
    firstPoll.release();
    await firstPoll.done();
    await page.waitForSelector('.session-head .grade .provisional', { timeout: 20000 });
    await page.waitForFunction((n) => {
      const pts = document.querySelector('.view-session').dataset.points || '';
      return pts.split(' ').reduce((a, p) => a + Number(p.split(':')[1] || 0), 0) > n;
    }, before, { timeout: 20000 });
    await page.unroute('**/console/api/action/DescribeSessionQuality');
  });

  test('a grade that fails to update mid-session keeps the last one', async () => {
    const id = await liveSessionId();
    await open(`#/session/${id}?project=${project}`, '.session-head .grade .provisional');
    const grade = await page.getAttribute('.session-head .grade', 'class');
    let failed = false;
    await page.route('**/console/api/action/DescribeSessionQuality', (route) => {
      failed = true;
      return route.abort();
    }, { times: 1 });
    // Held: the next tick's request, made once the failed one has been taken.
    const next = await hold(page, 'DescribeDeviceSessionDetails', () => failed);
    await next.seen;
    assert.equal(await page.$$eval('.session-head .grade-unknown', (els) => els.length), 0, 'the grade was swapped for "unknown"');
    assert.equal(await page.getAttribute('.session-head .grade', 'class'), grade);
    assert.match(await page.textContent('.live-error'), /The grade could not be updated \(retrying\)/);
    next.release();
    await next.done();
    await page.unroute('**/console/api/action/DescribeSessionQuality');
  });

  test('counts are the API\'s totals, also past the 500 items a page fetches', async () => {
    const { ProjectId: big } = await api.call('CreateProject', { ProjectName: 'big_fleet' });
    await Promise.all(Array.from({ length: 501 }, (_, i) => api.call('CreateDevice', {
      ProjectId: big, DeviceId: `crane_${String(i).padStart(3, '0')}`, DeviceName: `Crane_${i}`, DeviceType: 'field', DeviceToken: 'A1b2C3d4E5f6G7h8',
    })));
    const [f, r] = golden;
    const now = Math.floor(Date.now() / 1000);
    const sessions = Array.from({ length: 501 }, (_, k) => {
      const start = now - 20 * 86400 + k * 600;
      return [
        { ...f, SessionId: `big-${k}`, DeviceId: 'big_truck', StartTime: start, EndTime: start + 58 },
        { ...r, SessionId: `big-${k}`, DeviceId: 'big_station', StartTime: start + 3, EndTime: start + 95 },
      ];
    }).flat();
    const file = join(srv.dir, 'big.json');
    writeFileSync(file, JSON.stringify({ Response: { RequestId: 'big', Details: sessions } }));
    srv.importDetails(big, file);
    await open(`#/device/big_truck?project=${big}`, 'dd.session-count');
    assert.equal(await page.textContent('dd.session-count'), '501');
    const total = async (status) => (await api.call('DescribeDeviceList', { ProjectId: big, RegisterType: 1, DeviceStatus: status, PageNumber: 1, PageSize: 1 })).Total;
    const want = `${await total('connected')} connected · ${await total('ready')} ready · ${await total('offline')} offline`;
    assert.match(want, /· 503 offline$/);
    await open(`#/live?project=${big}`, '.device-counts');
    assert.match(await page.textContent('.device-counts'), new RegExp(`^${want} · 500 of 503 devices listed$`));
  });

  test('signing out while a page loads shows only the sign-in form, and nothing runs on', async () => {
    const other = await launch();
    try {
      const p = watch(await other.context.newPage());
      const actions = [];
      p.on('request', (rq) => { if (rq.url().includes('/console/api/action/')) actions.push(rq.url()); });
      const second = srv.createKey(key.AccountId);
      await signIn(p, second.SecretId, second.SecretKey);
      await p.waitForSelector('#topbar:not([hidden])');
      await p.waitForSelector('.cards .stat');
      // The Live page's first answer is late; the user signs out meanwhile.
      const recent = await hold(p, 'DescribeRecentSessionList');
      await p.evaluate((hash) => { location.hash = hash; }, `#/live?project=${project}`);
      await recent.seen;
      await p.click('#signout');
      await p.waitForSelector('form.signin');
      const late = p.waitForResponse((rs) => rs.url().endsWith('/DescribeRecentSessionList'));
      const asked = actions.length;
      recent.release();
      await late;
      await pastOneTick(p);
      await recent.done();
      assert.deepEqual(actions.slice(asked), [], 'the left Live page kept asking after sign-out');
      assert.equal(await p.isVisible('form.signin'), true);
      assert.equal(await p.isVisible('#topbar'), false);
      assert.equal(await p.$$eval('.live-grid, table, .cards', (els) => els.length), 0, 'the signed-out account\'s data is shown');

      // A key deleted while signed in ends the session: the next action shows the sign-in form.
      await signIn(p, second.SecretId, second.SecretKey);
      await p.waitForSelector('.cards .stat');
      srv.deleteKey(second.SecretId);
      await p.evaluate((hash) => { location.hash = hash; }, `#/devices?project=${project}`);
      await p.waitForSelector('form.signin');
      assert.match(await p.textContent('.signin-status'), /You are signed out/);
      assert.equal(await p.$$eval('table.devices', (els) => els.length), 0);
    } finally {
      await other.close();
    }
  });

  test('in another time zone and with the browser\'s clock off, the server\'s days and minute hold', async () => {
    const ny = await launch({ timezoneId: 'America/New_York' });
    try {
      // Ten minutes behind: the browser's "last minute" would hold none of the sessions started since.
      await ny.context.clock.setSystemTime(Date.now() - 600 * 1000);
      const p = watch(await ny.context.newPage());
      await signIn(p, key.SecretId, key.SecretKey);
      await p.waitForSelector('#topbar:not([hidden])');
      await open(`#/overview?project=${project}&period=7d`, '.bars-plot .u-over', p);
      const bars = await p.$eval('.bars-plot', (el) => {
        const u = el.uplot;
        const xs = u.data[0];
        return { xs, labels: u.axes[0].values(u, xs), titles: xs.map((x) => u.series[0].value(u, x)) };
      });
      assert.equal(bars.xs.length, 8);
      const pad = (n) => String(n).padStart(2, '0');
      for (const [i, x] of bars.xs.entries()) {
        const day = new Date((x + SERVER_OFFSET) * 1000); // the server's wall clock, read in UTC
        assert.equal((x + SERVER_OFFSET) % 86400, 0, `bucket ${x} is not a midnight of the server`);
        assert.equal(bars.labels[i], `${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}`);
        assert.equal(bars.titles[i], day.toLocaleDateString('en-US', { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' }));
      }
      assert.match(await p.textContent('.view-overview'), /The days are the server's \(UTC\+08:00\)\./);
      // The Live page asks for the server's last minute, not the browser's.
      await open(`#/live?project=${project}`, '.live-grid', p);
      await p.waitForSelector('table.live-sessions tbody tr', { timeout: 20000 });
    } finally {
      await ny.close();
    }
  });

  test('signing out leaves no cookie and no secret', async () => {
    await open(`#/overview?project=${project}`, '.cards .stat');
    await page.click('#signout');
    await page.waitForSelector('form.signin');
    const cookies = await browser.context.cookies();
    assert.deepEqual(cookies.filter((c) => c.name === 'teleoscope_console'), []);
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
    assert.deepEqual(storage, { local: 0, session: 0 });
    assert.ok(!(await page.content()).includes(key.SecretKey));
    assert.equal(await page.inputValue('#secret-key'), '');
    assert.equal(await page.$$eval('.cards, table, .chart-card', (els) => els.length), 0);
    assert.equal((await charts()).alive, 0);
    const r = await page.evaluate(async () => (await fetch('/console/api/session')).json());
    assert.equal(r.Response.Error.Code, 'AuthFailure.UnauthorizedOperation');
  });

  test('no request left 127.0.0.1, and no page broke the CSP or threw', () => {
    assert.ok(requests.length > 20, `only ${requests.length} requests recorded`);
    const outside = requests.filter((u) => !u.startsWith(`${srv.base}/`) && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(outside, []);
    assert.deepEqual(cspViolations, []);
    assert.deepEqual(pageErrors, []);
  });
});
