// End-to-end tests of the web console (docs/console.md) in headless Chromium against a real
// `teleoscope serve`: what an operator does and sees, and what must never happen (a secret left in the
// browser, a request leaving the machine, a CSP violation). The pages' screenshots are written to
// docs/screenshots/ for the README.

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

let srv;
let browser;
let page;
let key;
let api;
let project;
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

async function open(hash, selector) {
  await page.goto(`${srv.base}/console/${hash}`);
  await page.waitForSelector(selector);
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

describe('web console', () => {
  before(async () => {
    srv = await Server.start();
    key = srv.createKey();
    api = await new Console(srv).signIn(key);
    ({ ProjectId: project } = await api.call('CreateProject', { ProjectName: 'mine_north', ProjectDescription: 'Open-pit mine, north pit', PolicyMode: 'black' }));
    await api.call('CreateProject', { ProjectName: 'port_cranes', ProjectDescription: 'Container terminal, quay cranes' });
    srv.importDetails(project, GOLDEN);
    srv.importDetails(project, history());
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
    // Live sessions: two simulated field/remote pairs reporting every 2 s through the device API.
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
    assert.ok(!(await page.content()).includes(key.SecretKey), 'the secret key is in the page');
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
    // A missed report is a gap: the remote's 53 s -> 59 s has a null between, not a line across.
    const gapAt = remote.StartTime + 55;
    const gap = await page.$eval('.chart-card[data-chart="fps"] .plot', (el, t) => {
      const i = el.uplot.data[0].indexOf(t);
      return i < 0 ? 'missing' : el.uplot.data[2][i];
    }, gapAt);
    assert.equal(gap, null);
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
    assert.match(await page.textContent('.session-head'), /normal/i);
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

  test('a foreign session id gets a clear message and no data', async () => {
    await open(`#/session/${FOREIGN_ID}?project=${project}`, '.message.error');
    assert.match(await page.textContent('.message.error'), /Not found/i);
    assert.equal(await page.$$eval('.chart-card, .links-table', (els) => els.length), 0);
    assert.ok(!(await page.content()).includes('192.168.11.2'));
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
    await open(`#/sessions?project=${project}&device=driver_456&quality=bad`, '.table-card .empty');
    await open(`#/overview?project=${project}&period=custom&from=${golden[0].StartTime - 3600}&to=${Math.floor(Date.now() / 1000)}`, '.cards .stat');
    assert.match(await page.textContent('[data-stat="SessionNum"]'), /\d/);
    await open(`#/overview?project=${project}&period=7d`, '.cards .stat');
    await page.waitForSelector('.bars-plot .u-over');
    await shot('overview', { fullPage: true });
  });

  test('a simulated live session grows while it is open', async () => {
    await open(`#/live?project=${project}`, '.live-grid');
    await page.waitForSelector('table.live-sessions tbody tr', { timeout: 30000 });
    await page.waitForSelector('table.device-status .status-connected');
    await shot('live');
    // A simulated session lasts 30 s to 10 min: open the running ones until one is still running.
    const ids = await page.$$eval('table.live-sessions tbody tr', (trs) => trs.map((tr) => tr.dataset.sessionId));
    let live = false;
    for (const id of ids) {
      await open(`#/session/${id}?project=${project}`, '.session-head');
      if (await page.isVisible('.session-head .live-badge')) {
        live = true;
        break;
      }
    }
    assert.ok(live, `none of the running sessions ${ids} opened as live`);
    await page.waitForSelector('.chart-card[data-chart="fps"] .u-over');
    const count = () => page.$eval('#view', (el) => el.dataset.points.split(' ').reduce((a, p) => a + Number(p.split(':')[1]), 0));
    const drawn = () => page.$eval('.chart-card[data-chart="fps"] .plot', (el) => el.uplot.data.slice(1).flat().filter((v) => typeof v === 'number').length);
    const [first, firstDrawn] = [await count(), await drawn()];
    assert.equal(firstDrawn, first, 'the frame-rate chart does not hold every report');
    await page.waitForFunction((n) => {
      const pts = document.getElementById('view').dataset.points || '';
      return pts.split(' ').reduce((a, p) => a + Number(p.split(':')[1] || 0), 0) > n;
    }, first, { timeout: 20000 });
    const [later, laterDrawn] = [await count(), await drawn()];
    assert.ok(later > first, `${later} points, not more than ${first}`);
    assert.equal(laterDrawn, later, 'the frame-rate chart did not take the new points');
    await shot('session-live', { fullPage: false });
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
