// How the list pages (devices, policies, projects) work: a list shown in a box, loaded and reloaded in
// place (its failure said in the box, the rest of the page kept), and changes made by a form or a button
// the same way every time: ask first when something is deleted, call the API, say what happened in the
// page's status box in words, reload the list.

import { h, mount } from '../dom.js';
import { errorBox, notice } from './messages.js';

/**
 * A list in `box`: `load()` fetches and returns what the box shows. Returns `reload()`, which the page
 * calls once to show the list and which every change calls again.
 */
export function listBox(box, { load, isCurrent, what = 'The list cannot be shown' }) {
  mount(box, h('div.table-card', h('p.loading', 'Loading…')));
  return async function reload() {
    try {
      const content = await load();
      if (isCurrent()) mount(box, content);
    } catch (e) {
      if (isCurrent()) mount(box, h('div.table-card', errorBox(e, what)));
    }
  };
}

/**
 * Returns `change({confirm, run, done, failed})`: asks `confirm` (a question) when given, runs `run()`
 * (the API call), says `done` (a sentence, or a function of the answer giving one, or a notice) or the
 * error after `failed` in `status`, and reloads the list. Resolves to whether the change was made.
 */
export function changer({ status, reload, isCurrent }) {
  return async function change({ confirm: question, run, done, failed }) {
    if (question && !window.confirm(question)) return false;
    let answer;
    try {
      answer = await run();
    } catch (e) {
      if (isCurrent()) mount(status, errorBox(e, failed));
      return false;
    }
    if (!isCurrent()) return true;
    const said = typeof done === 'function' ? done(answer) : done;
    mount(status, typeof said === 'string' ? notice(said, 'ok') : said);
    await reload();
    return true;
  };
}
