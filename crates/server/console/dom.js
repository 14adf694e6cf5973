// Building DOM elements without HTML strings: every text goes through textContent, so nothing a device
// or a user typed can become markup. No element gets a style attribute (the console's CSP forbids it);
// the few looks only script knows (a bar's width) are set through the CSSOM, `el.style.width = ...`,
// which the CSP allows.

/**
 * h('div.card.wide', {onclick, title, dataset: {x: 1}}, child, [children], 'text')
 * Attributes: `class`, `on<event>` handlers, `dataset`, booleans (true sets, false/null skips), others
 * as attributes. Children: nodes, strings, numbers, arrays, null/undefined/false (skipped).
 */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = [el.className, v].filter(Boolean).join(' ');
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'style') throw new Error('inline styles are not allowed by the CSP; use a class');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces everything inside `el` with `children`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A form's fields as an object of trimmed strings (checkboxes: booleans). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return out;
}
