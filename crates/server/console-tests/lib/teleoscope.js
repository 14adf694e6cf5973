// A real `teleoscope serve` for the browser tests: the binary from target/debug (or TELEOSCOPE_BIN), a
// fresh SQLite database in a temporary folder, a free port on 127.0.0.1; keys from
// `teleoscope keys create --json`, sessions from `teleoscope import` and `teleoscope simulate`. The
// `Console` client talks to the server the way the page does (sign-in, cookie, CSRF token, actions), to
// set data up.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const BIN = resolve(process.env.TELEOSCOPE_BIN || join(REPO, 'target/debug/teleoscope'));
export const GOLDEN = join(REPO, 'fixtures/describe-device-session-details.json');

/** A port nobody listens on, on 127.0.0.1. */
export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export class Server {
  static async start({ env = {}, config = '' } = {}) {
    const srv = new Server();
    srv.dir = mkdtempSync(join(tmpdir(), 'teleoscope-console-'));
    srv.db = `sqlite://${join(srv.dir, 't.db')}`;
    srv.port = await freePort();
    srv.host = `127.0.0.1:${srv.port}`;
    srv.base = `http://${srv.host}`;
    const args = ['serve', '--listen', srv.host, '--database', srv.db];
    if (config) {
      const path = join(srv.dir, 'test.toml');
      (await import('node:fs')).writeFileSync(path, config);
      args.push('--config', path);
    }
    srv.errPath = join(srv.dir, 'server.stderr');
    srv.proc = spawn(BIN, args, {
      cwd: srv.dir,
      stdio: ['ignore', openSync(join(srv.dir, 'server.stdout'), 'w'), openSync(srv.errPath, 'w')],
      env: { ...process.env, TELEOSCOPE_RATE_LIMIT_PER_SECOND: '10000', ...env },
    });
    srv.children = [];
    const deadline = Date.now() + 20000;
    for (;;) {
      if (srv.proc.exitCode !== null) throw new Error(`teleoscope serve exited: ${readFileSync(srv.errPath, 'utf8')}`);
      try {
        const r = await fetch(`${srv.base}/readyz`);
        if (r.ok) break;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`teleoscope serve not ready: ${readFileSync(srv.errPath, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return srv;
  }

  /** `teleoscope keys create --json` on this server's database: {AccountId, SecretId, SecretKey}. */
  createKey(account) {
    const args = ['keys', 'create', '--json', '--database', this.db];
    if (account) args.push('--account', account);
    const out = execFileSync(BIN, args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    return JSON.parse(out[out.length - 1]);
  }

  deleteKey(secretId) {
    execFileSync(BIN, ['keys', 'delete', secretId, '--database', this.db], { encoding: 'utf8' });
  }

  /** `teleoscope import --project PID FILE...` */
  importDetails(projectId, ...files) {
    return execFileSync(BIN, ['import', '--database', this.db, '--project', projectId, ...files], { encoding: 'utf8' });
  }

  /** `teleoscope simulate` against this server, in the background until stop(). */
  simulate(key, projectId, { pairs = 1, seed = 7, duration, extra = [] } = {}) {
    const args = ['simulate', '--endpoint', this.base, '--secret-id', key.SecretId, '--secret-key', key.SecretKey,
      '--project', projectId, '--pairs', String(pairs), '--seed', String(seed), '--quiet', ...extra];
    if (duration) args.push('--duration', String(duration));
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
    child.stderr.on('data', () => {});
    this.children.push(child);
    return child;
  }

  async stop() {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGTERM');
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    if (!process.env.CONSOLE_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The console's HTTP API from Node, as the page uses it: sign in, then actions with the CSRF token. */
export class Console {
  constructor(server) {
    this.server = server;
    this.cookie = '';
    this.csrf = '';
  }

  async signIn(key) {
    const r = await fetch(`${this.server.base}/console/api/signin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ SecretId: key.SecretId, SecretKey: key.SecretKey }),
    });
    const body = await r.json();
    if (body.Response.Error) throw new Error(`sign-in failed: ${JSON.stringify(body.Response.Error)}`);
    this.cookie = (r.headers.get('set-cookie') || '').split(';')[0];
    this.csrf = body.Response.CsrfToken;
    return this;
  }

  async call(action, params = {}) {
    const r = await fetch(`${this.server.base}/console/api/action/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-TC-Language': 'en-US', Cookie: this.cookie, 'X-CSRF-Token': this.csrf },
      body: JSON.stringify(params),
    });
    const body = await r.json();
    if (body.Response.Error) throw new Error(`${action}: ${body.Response.Error.Code}: ${body.Response.Error.Message}`);
    return body.Response;
  }
}
