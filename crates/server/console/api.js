// The console's only way to the server: sign-in/out and the same actions the SDKs call, through
// /console/api (docs/console.md, "How the console talks to the server"). The secret key is sent once, in
// the body of the sign-in request, and is never kept; the session cookie is HttpOnly (the page cannot read
// it) and the CSRF token lives in this module's memory only, never in localStorage or sessionStorage.

import { explain } from './errors.js';

const BASE = '/console/api';

let csrfToken = null;
let identity = null; // {AccountId, SecretId, ExpiresAt}
let clockSkewMs = 0; // the server's clock minus the browser's, from the last answer's Date header
const signedOutListeners = [];

/** An API answer with `Response.Error`, or a network failure; `words` is for people. */
export class ApiError extends Error {
  constructor(code, message, requestId, action) {
    super(`${code}: ${message}`);
    this.code = code;
    this.serverMessage = message;
    this.requestId = requestId || '';
    this.action = action || '';
    this.words = explain(code, message, this.requestId, action);
  }
}

async function post(path, body, withToken) {
  const headers = { 'Content-Type': 'application/json', 'X-TC-Language': 'en-US' };
  if (withToken && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  return request(path, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
}

async function request(path, init) {
  let res;
  try {
    res = await fetch(BASE + path, { credentials: 'same-origin', cache: 'no-store', ...init });
  } catch (e) {
    throw new ApiError('Network', String(e && e.message || e), '', path);
  }
  const date = Date.parse(res.headers.get('date') || '');
  if (!Number.isNaN(date)) clockSkewMs = date - Date.now();
  let json;
  try {
    json = await res.json();
  } catch {
    throw new ApiError('BadAnswer', `HTTP ${res.status}, not JSON`, '', path);
  }
  const r = json && json.Response;
  if (!r) throw new ApiError('BadAnswer', `HTTP ${res.status}, no Response`, '', path);
  if (r.Error) throw new ApiError(r.Error.Code, r.Error.Message, r.RequestId, path.replace('/action/', ''));
  return r;
}

function remember(r) {
  csrfToken = r.CsrfToken;
  identity = { AccountId: r.AccountId, SecretId: r.SecretId, ExpiresAt: r.ExpiresAt };
  return identity;
}

/** Who is signed in, from the cookie (null when not signed in). Restores the CSRF token. */
export async function currentSession() {
  try {
    return remember(await request('/session', { method: 'GET', headers: { 'X-TC-Language': 'en-US' } }));
  } catch (e) {
    if (e.code && e.code.startsWith('AuthFailure')) return forget();
    throw e;
  }
}

/** Signs in; the key pair goes in this one request body and nowhere else. */
export async function signIn(secretId, secretKey) {
  return remember(await post('/signin', { SecretId: secretId, SecretKey: secretKey }, false));
}

export async function signOut() {
  try {
    await post('/signout', {}, true);
  } finally {
    forget();
  }
}

function forget() {
  csrfToken = null;
  identity = null;
  return null;
}

export function whoAmI() {
  return identity;
}

/**
 * The server's clock in UNIX seconds (to within a second: the Date header's precision). A window such
 * as "a report in the last minute" must be the server's minute; the browser's clock may be off.
 */
export function serverNow() {
  return Math.floor((Date.now() + clockSkewMs) / 1000);
}

/** Called when an action finds the session gone (expired, signed out elsewhere, key deleted). */
export function onSignedOut(fn) {
  signedOutListeners.push(fn);
}

/**
 * Runs one action, exactly as the SDK would send it; returns its Response or throws ApiError. On
 * /console/api, AuthFailure.UnauthorizedOperation means the session is gone (expired, signed out
 * elsewhere, key deleted) or its CSRF token is (docs/console.md): either way, sign in again. The code
 * decides, never the words of the message, which are for people.
 */
export async function call(action, params = {}) {
  try {
    return await post(`/action/${action}`, params, true);
  } catch (e) {
    if (e.code === 'AuthFailure.UnauthorizedOperation') {
      forget();
      for (const fn of signedOutListeners) fn(e);
    }
    throw e;
  }
}

/**
 * The pages of a paged list action (PageNumber/PageSize 100) up to `max` items: {items, total}, where
 * `total` is the API's Total (all the items, also those past `max`).
 */
export async function listAll(action, params, listKey, max = 1000) {
  const items = [];
  let total = 0;
  for (let page = 1; items.length < max; page++) {
    const r = await call(action, { ...params, PageNumber: page, PageSize: 100 });
    const got = r[listKey] || [];
    items.push(...got);
    total = r.Total ?? items.length;
    if (got.length < 100 || (r.Total != null && items.length >= r.Total)) break;
  }
  return { items: items.slice(0, max), total: Math.max(total, items.length) };
}

/** The items of `listAll`, up to `max`. */
export async function callAll(action, params, listKey, max = 1000) {
  return (await listAll(action, params, listKey, max)).items;
}
