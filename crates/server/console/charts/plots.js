// Every uPlot chart of the console is made here, so the console knows how many are alive. A chart that
// is not destroyed when its page goes keeps its canvas, a window listener and its place in uPlot's
// cursor set; the count, on <html data-charts="n">, lets the browser tests check that leaving a page
// destroys every chart it drew.

import uPlot from '../vendor/uPlot/uPlot.esm.js';

let alive = 0;

function publish() {
  document.documentElement.dataset.charts = String(alive);
}

/** `new uPlot(opts, data, el)`, counted until it is destroyed. */
export function newPlot(opts, data, el) {
  const hooks = { ...(opts.hooks || {}) };
  hooks.destroy = [...(hooks.destroy || []), () => {
    alive--;
    publish();
  }];
  const u = new uPlot({ ...opts, hooks }, data, el);
  alive++;
  publish();
  return u;
}

export const barsPath = (opts) => uPlot.paths.bars(opts);
