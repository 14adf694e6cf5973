// The links view of a multi-network session (MultiMode 1): per NIC (NetId), its round trip, its loss
// and its share of the device's throughput over time (SendBps + RecvBps of the link over the sum of all
// links), with link incidents shaded and the failovers marked: the moments the link carrying most of
// the traffic changes. A table sums each link up.

import { h } from '../dom.js';
import { num } from '../format.js';
import { linkColumns } from '../session/links.js';
import { mean, percentile } from '../session/stats.js';
import { thresholdLines } from '../session/thresholds.js';
import { spread } from '../session/timeline.js';
import { swatch } from '../widgets/swatch.js';
import { timeSeriesCard } from './timeseries.js';

export function linksView({ timeline, group, incidents, thresholds, allIncidents }) {
  const parts = linkColumns(timeline);
  if (!parts.length) return null;
  const cards = [];
  const blocks = parts.map(({ part, links, failovers }) => {
    const dev = `${part.type} ${part.detail.DeviceId}`;
    const label = (l) => `NIC ${l.NetId}${l.NetIp ? ' ' + l.NetIp : ''}`;
    const mk = (id, title, unit, key, extra = {}) => {
      const card = timeSeriesCard({
        id: `links-${part.type}-${id}`,
        title: `${title} · ${dev}`,
        unit,
        xs: timeline.xs,
        series: links.map((l) => ({ label: label(l), color: l.color, values: spread(timeline, part, l[key]) })),
        incidents,
        group,
        height: 150,
        ...extra,
      });
      cards.push(card);
      return card;
    };
    const th = (metric) => (thresholds || []).filter((t) => t.Metric === metric).flatMap(thresholdLines);
    const failoverMarks = () => failovers.map((f) => ({ from: f.at - 0.5, to: f.at + 0.5, focus: true }));
    const linkIncidents = (allIncidents || []).filter((i) => i.NetId >= 0 && i.DeviceType === part.type);
    const table = h('table.compact.links-table',
      h('thead', h('tr', h('th', 'link'), h('th.num', 'RTT p95'), h('th.num', 'mean loss'), h('th.num', 'share of traffic'), h('th.num', 'incidents'))),
      h('tbody', links.map((l) => h('tr', { dataset: { netId: l.NetId } },
        h('td', swatch(l.color), label(l)),
        h('td.num', l.rttRaw.some((v) => v != null) ? `${num(percentile(l.rttRaw, 95), 0)} ms` : 'never measured'),
        h('td.num', `${num(mean(l.lossRaw), 2)} %`),
        h('td.num', l.shareOfSession == null ? '—' : `${num(l.shareOfSession, 0)} %`),
        h('td.num', String(linkIncidents.filter((i) => i.NetId === l.NetId).length))))));
    const notes = [];
    if (failovers.length) notes.push(`Failovers (the link carrying most traffic changed): ${failovers.map((f) => `NIC ${f.from} → NIC ${f.to} at ${new Date(f.at * 1000).toLocaleTimeString([], { hour12: false })}`).join('; ')}.`);
    else notes.push('No failover: the same link carried most of the traffic throughout.');
    return h('div.links-block', { dataset: { device: part.type } },
      h('div.links-summary', h('h3', `${dev}: ${links.length} links`), table, notes.map((t) => h('p.muted', t))),
      h('div.links-charts',
        mk('rtt', 'Round trip per link', 'ms', 'rttRaw', { thresholds: th('MultiNet.Rtt') }),
        mk('loss', 'Loss per link', '%', 'lossRaw', { thresholds: th('MultiNet.Lost') }),
        mk('share', 'Share of throughput per link', '%', 'shareRaw', { yMin: 0, yMax: 100, incidents: () => [...incidents(), ...failoverMarks()] })));
  });
  const view = h('div.links-view', blocks);
  view.cards = cards;
  return view;
}
