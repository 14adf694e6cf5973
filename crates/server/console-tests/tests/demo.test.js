// The console as a new user first meets it: `teleoscope demo` with no configuration prints the
// console's address and keys; signing in there with them shows the demo fleet's live sessions, and
// opening one shows its charts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, REPO, freePort } from '../lib/teleoscope.js';
import { launch } from '../lib/browser.js';

/** Wait until `pattern` matches what the demo printed; the match. */
async function printed(out, pattern, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = out.text.match(pattern);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`not printed within ${ms} ms: ${pattern}\n${out.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the demo prints a console address and keys that show its live sessions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'teleoscope-demo-console-'));
  const host = `127.0.0.1:${await freePort()}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TELEOSCOPE_')));
  const demo = spawn(BIN, ['demo', '--listen', host], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { text: '' };
  demo.stdout.on('data', (d) => { out.text += d; });
  demo.stderr.on('data', (d) => { out.text += d; });
  const { context, close } = await launch();
  try {
    const address = (await printed(out, /^Console: (\S+)/m, 20000))[1];
    const id = (await printed(out, /^\s+SecretId\s+(\S+)/m, 5000))[1];
    const secret = (await printed(out, /^\s+SecretKey\s+(\S+)/m, 5000))[1];
    assert.equal(address, `http://${host}/console/`);

    const page = await context.newPage();
    await page.goto(address);
    await page.fill('#secret-id', id);
    await page.fill('#secret-key', secret);
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('nav a[href^="#/live"]');
    await page.click('nav a[href^="#/live"]');
    // The simulated fleet's sessions appear within seconds.
    await page.waitForSelector('table.live-sessions tbody tr', { timeout: 30000 });
    const rows = await page.$$eval('table.live-sessions tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.ok(rows.some((r) => /truck_0\d/.test(r) && /console_[ab]/.test(r)), rows.join('\n'));

    // Opening one draws its charts, which grow as its reports arrive (one every 2 s).
    await page.click('table.live-sessions tbody tr a[href^="#/session"]');
    await page.waitForSelector('[data-chart] .plot', { timeout: 30000 });
    const points = () => page.$$eval('[data-chart] .plot', (els) =>
      Math.max(0, ...els.map((el) => (el.uplot ? el.uplot.data[0].length : 0))));
    const first = await points();
    assert.ok(first > 0, 'the live session has charted points');
    const deadline = Date.now() + 30000;
    while ((await points()) < first + 5 && Date.now() < deadline) await page.waitForTimeout(500);
    assert.ok((await points()) >= first + 5, `the charts did not grow from ${first} points`);
    await page.screenshot({ path: join(REPO, 'docs/screenshots/demo-session.png') });
  } finally {
    await close();
    // The demo may have exited already (it failed to start): then there is no exit to wait for.
    if (demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
