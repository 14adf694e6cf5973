// The console's only way to the server: sign-in/out and the same actions the SDKs call, through
// /console/api (docs/console.md, "How the console talks to the server"). The secret key is sent once, in
// the body of the sign-in request, and is never kept; the session cookie is HttpOnly (the page cannot read
// it) and the CSRF token lives in this module's memory only, never in localStorage or sessionStorage.

import { explain } from './errors.js';

const BASE = '/console/api';

let csrfToken = null;
let identity = null; // {AccountId, SecretId, ExpiresAt}
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

/** Called when an action finds the session gone (expired, signed out elsewhere, key deleted). */
export function onSignedOut(fn) {
  signedOutListeners.push(fn);
}

/** Runs one action, exactly as the SDK would send it; returns its Response or throws ApiError. */
export async function call(action, params = {}) {
  try {
    return await post(`/action/${action}`, params, true);
  } catch (e) {
    if (e.code === 'AuthFailure.UnauthorizedOperation' && /sign|session|csrf/i.test(e.serverMessage || '')) {
      forget();
      for (const fn of signedOutListeners) fn(e);
    }
    throw e;
  }
}

/** All pages of a paged list action (PageNumber/PageSize 100), up to `max` items. */
export async function callAll(action, params, listKey, max = 1000) {
  const out = [];
  for (let page = 1; out.length < max; page++) {
    const r = await call(action, { ...params, PageNumber: page, PageSize: 100 });
    const items = r[listKey] || [];
    out.push(...items);
    if (items.length < 100 || out.length >= (r.Total ?? Infinity)) break;
  }
  return out;
}
