// Measures the session page with a one-hour session (1,800 reports per device, every metric varying:
// about 25 series per device, two devices, two links) in headless Chromium against a real
// `teleoscope serve`: the time from opening the page's address until every chart is drawn, and the time
// a zoom takes until every chart has redrawn. Not a test (the tests assert no timings); run it with
// `npm run measure` after `cargo build --bin teleoscope`. Targets (docs/console.md): render < 1 s, zoom < 100 ms.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Console, Server } from './lib/teleoscope.js';
import { launch } from './lib/browser.js';

const POINTS = 1800;
const RUNS = 5;
const SESSION_ID = 'one-hour-measure-1';

/** A deterministic pseudo-random walk around `base`. */
function walk(seed, base, spread, digits = 0) {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  let v = base;
  return Array.from({ length: POINTS }, () => {
    v = Math.max(0, v + (rnd() - 0.5) * spread);
    v = v * 0.9 + base * 0.1;
    return Number(v.toFixed(digits));
  });
}

function hourSession(start) {
  const offsets = Array.from({ length: POINTS }, (_, i) => i * 2);
  const common = (seed) => ({
    SessionId: SESSION_ID, TimeOffset: offsets, Ver: '2.4', SdkMode: 'server2', Width: 1280, Height: 720,
    Rate: walk(seed + 1, 2500, 400), Fps: walk(seed + 2, 25, 4), Lost: walk(seed + 3, 1, 1, 2),
    NetworkLatency: walk(seed + 4, 60, 30), CpuUsed: walk(seed + 5, 40, 6, 2), MemUsed: walk(seed + 6, 60, 2, 2),
    NACK: walk(seed + 7, 3, 4), FrameDelta: walk(seed + 8, 40, 6), MaxFrameDelta: walk(seed + 9, 70, 20),
  });
  const field = {
    ...common(10), DeviceType: 'field', DeviceId: 'measure_field', StartTime: start, EndTime: start + 2 * (POINTS - 1),
    ConfigWidth: 1920, ConfigHeight: 1080, MultiMode: 1,
    BitRateEstimate: walk(21, 3000, 300), TotalBitrateEstimate: walk(22, 6000, 500), EncodeCost: walk(23, 12, 4),
    CaptureCost: walk(24, 5, 2), VideoLatency: [], DecodeCost: [], RenderCost: [], K100: [], K150: [],
    Lag100Duration: [], Lag150Duration: [],
    MultiNet: [0, 1].map((n) => ({
      NetId: n, NetIp: `10.0.${n}.2`, Rtt: walk(30 + n, 60 + 40 * n, 20), Lost: walk(32 + n, 1, 1),
      SendBps: walk(34 + n, 1500, 300), RecvBps: walk(36 + n, 40, 10),
    })),
  };
  const remote = {
    ...common(40), DeviceType: 'remote', DeviceId: 'measure_remote', StartTime: start + 1, EndTime: start + 1 + 2 * (POINTS - 1),
    ConfigWidth: 0, ConfigHeight: 0, MultiMode: 0,
    VideoLatency: walk(51, 90, 25), DecodeCost: walk(52, 4, 2), RenderCost: walk(53, 3, 2),
    K100: walk(54, 1, 1, 2), K150: walk(55, 0.4, 0.5, 2), Lag100Duration: walk(56, 20, 30), Lag150Duration: walk(57, 8, 20),
    BitRateEstimate: [], TotalBitrateEstimate: [], EncodeCost: [], CaptureCost: [], MultiNet: [],
  };
  return { Response: { RequestId: 'measure', Details: [field, remote] } };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const srv = await Server.start();
let browser;
try {
  const key = srv.createKey();
  const api = await new Console(srv).signIn(key);
  const { ProjectId } = await api.call('CreateProject', { ProjectName: 'measure' });
  const file = join(srv.dir, 'hour.json');
  writeFileSync(file, JSON.stringify(hourSession(Math.floor(Date.now() / 1000) - 7200)));
  srv.importDetails(ProjectId, file);

  browser = await launch({ width: 1440, height: 900 });
  const page = await browser.context.newPage();
  await page.goto(`${srv.base}/console/`);
  await page.fill('#secret-id', key.SecretId);
  await page.fill('#secret-key', key.SecretKey);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('#topbar:not([hidden])');

  const url = `${srv.base}/console/#/session/${SESSION_ID}?project=${ProjectId}`;
  const renders = [];
  const series = [];
  for (let run = 0; run < RUNS; run++) {
    await page.goto('about:blank');
    await page.goto(url);
    // Drawn = every chart of the page has its uPlot instance and the page has stamped its render time.
    await page.waitForFunction(() => {
      const v = document.querySelector('.view-session');
      return v && v.dataset.renderedMs && document.querySelectorAll('[data-chart] .plot').length > 0
        && [...document.querySelectorAll('[data-chart] .plot')].every((p) => p.uplot);
    }, null, { timeout: 30000 });
    // performance.now() counts from the start of the navigation: opening the address to drawn charts.
    const t = await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok(performance.now()))));
    renders.push(t);
    if (!series.length) {
      series.push(await page.evaluate(() => [...document.querySelectorAll('[data-chart] .plot')]
        .reduce((a, p) => a + p.uplot.series.length - 1, 0)));
      series.push(await page.evaluate(() => document.querySelectorAll('[data-chart] .plot').length));
      series.push(await page.evaluate(() => document.querySelector('.view-session').dataset.points));
    }
  }
  const zooms = [];
  const frames = [];
  for (let run = 0; run < RUNS * 2; run++) {
    const [sync, frame] = await page.evaluate(async (k) => {
      const plots = [...document.querySelectorAll('.chart-card[data-chart] .plot')];
      const u = plots.find((p) => p.closest('[data-chart]').dataset.chart === 'fps').uplot;
      const [lo, hi] = [u.data[0][0], u.data[0][u.data[0].length - 1]];
      const from = lo + ((hi - lo) * (k % 5)) / 10;
      const t0 = performance.now();
      u.setScale('x', { min: from, max: from + (hi - lo) / 4 });
      // uPlot redraws in microtasks (the first chart's, then the group's for every other chart); a
      // macrotask runs only once they all have.
      await new Promise((ok) => {
        const ch = new MessageChannel();
        ch.port1.onmessage = ok;
        ch.port2.postMessage(0);
      });
      const t1 = performance.now();
      await new Promise((ok) => requestAnimationFrame(ok));
      return [t1 - t0, performance.now() - t0];
    }, run);
    zooms.push(sync);
    frames.push(frame);
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`session page, one hour: ${series[2]} reports, ${series[1]} charts, ${series[0]} series`);
  console.log(`open to charts drawn: median ${median(renders).toFixed(0)} ms (runs: ${fmt(renders)}) — target < 1000 ms`);
  console.log(`zoom, every chart redrawn: median ${median(zooms).toFixed(1)} ms (runs: ${zooms.map((x) => x.toFixed(1)).join(', ')}); to the next frame: median ${median(frames).toFixed(1)} ms — target < 100 ms`);
} finally {
  if (browser) await browser.close();
  await srv.stop();
}
