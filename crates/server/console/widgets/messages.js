// Boxes that tell the user what happened: an error in words (never a raw stack), a notice, an empty state.

import { h } from '../dom.js';

/** An error box for an ApiError (its `words`) or any other failure (its message only). */
export function errorBox(e, what) {
  const words = e && e.words ? e.words : `Something went wrong in the console: ${e && e.message ? e.message : e}`;
  return h('div.message.error', { role: 'alert' }, what ? h('strong', `${what}: `) : null, words);
}

export function notice(text, kind = 'info') {
  return h(`div.message.${kind}`, { role: 'status' }, text);
}

export function empty(text) {
  return h('p.empty', text);
}
