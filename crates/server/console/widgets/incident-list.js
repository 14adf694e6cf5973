// The session's incidents (DescribeSessionQuality.Incidents) listed beside the charts: what happened,
// on which end and link, when and how bad. Clicking one zooms every chart to it (with some context).

import { h } from '../dom.js';
import { clock, duration } from '../format.js';

const KIND_WORDS = {
  stall: 'stall',
  loss: 'packet loss',
  video_latency: 'video latency',
  network_latency: 'network latency',
  link_down: 'link down',
  link_loss: 'link loss',
  link_rtt: 'link round trip',
};

export function incidentList(incidents, { onPick }) {
  if (!incidents.length) {
    return h('div.incidents', h('h3', 'Incidents'), h('p.muted', 'None: no stall, loss burst, latency spike or link failure crossed a threshold.'));
  }
  const items = incidents.map((inc, i) => {
    const li = h('li.incident', { dataset: { kind: inc.Kind, index: i } },
      h('button.incident-button', { type: 'button', onclick: () => onPick(inc, i, li) },
        h('span.incident-head',
          h('span.kind', KIND_WORDS[inc.Kind] || inc.Kind),
          h('span.side', inc.NetId >= 0 ? `${inc.DeviceType} · NIC ${inc.NetId}` : inc.DeviceType),
          h('span.when', `${clock(inc.StartTime)}${inc.EndTime > inc.StartTime ? ` · ${duration(inc.EndTime - inc.StartTime)}` : ''}`)),
        h('span.text', inc.Text)));
    return li;
  });
  return h('div.incidents', h('h3', `Incidents (${incidents.length})`), h('p.muted.small', 'Shaded on every chart; click one to zoom there.'), h('ol', items));
}
