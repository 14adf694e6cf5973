// A colour key beside a label (a stage, a link): its colour is the one its chart draws with, set from
// script so it is written once, in the module that draws it (the CSP allows CSSOM writes; it forbids
// only style attributes in markup).

import { h } from '../dom.js';

export function swatch(color) {
  const el = h('span.swatch');
  el.style.background = color;
  return el;
}
