// Client-side routes live in the URL hash (`#/sessions?project=P&quality=bad`), so every view, filters
// included, is a permalink that survives a reload and can be sent to a colleague.

/** {view, arg, params} of the current hash: `#/session/<id>?project=P` -> view 'session', arg '<id>'. */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)));
  const [view, ...rest] = path.split('/');
  return { view: view || '', arg: rest.map(decodeSegment).join('/'), params };
}

/** A path segment as typed; one that is not valid percent-encoding (`%E0%A4`) is kept as it is. */
function decodeSegment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** '#/view/arg?k=v' with empty parameters left out. */
export function href(view, arg, params) {
  if (arg && typeof arg === 'object') [arg, params] = ['', arg];
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '' && v !== false) p.set(k, String(v));
  }
  const qs = p.toString();
  return `#/${view}${arg ? '/' + encodeURIComponent(arg) : ''}${qs ? '?' + qs : ''}`;
}

export function go(view, arg, params) {
  location.hash = href(view, arg, params);
}
