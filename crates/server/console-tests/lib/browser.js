// Headless Chromium for the tests: Debian's `chromium` package (/usr/bin/chromium, or CHROMIUM_PATH)
// driven by playwright-core; no browser is downloaded. The flags keep Chromium from reaching out to the
// network on its own (the machine may be air-gapped, and the tests check that no request leaves
// 127.0.0.1); every context gets a fresh profile.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A persistent context on a fresh user-data dir: {context, close()}. The browser's time zone is the
 * server's default (+08:00) unless `timezoneId` says otherwise.
 */
export async function launch({ width = 1440, height = 900, timezoneId = 'Asia/Shanghai' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'teleoscope-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width, height },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
