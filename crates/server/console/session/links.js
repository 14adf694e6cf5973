// The links of a multi-network session (MultiMode 1), per NIC (NetId): its round trip, its loss and its
// share of the device's throughput per report (SendBps + RecvBps of the link over the sum of all links),
// its share of the whole session's traffic, and the failovers: the moments the link carrying most of the
// traffic changes. No DOM here: charts/links.js draws them.

const LINK_COLORS = ['#0f766e', '#9333ea', '#be123c', '#a16207'];

/**
 * Per device with links: {part, links, failovers}. A link: {NetId, NetIp, color, rttRaw, lossRaw,
 * shareRaw (per report, aligned with the device's TimeOffset; null where unknown), bytes,
 * shareOfSession (%)}; a failover: {at, from, to} (NetIds).
 */
export function linkColumns(timeline) {
  const out = [];
  for (const part of timeline.parts) {
    const nets = (part.detail.MultiNet || []).slice().sort((a, b) => a.NetId - b.NetId);
    if (!nets.length) continue;
    const n = part.times.length;
    const totals = new Array(n).fill(0);
    for (const net of nets) for (let i = 0; i < n; i++) totals[i] += (net.SendBps[i] || 0) + (net.RecvBps[i] || 0);
    const links = nets.map((net, k) => {
      const shareRaw = net.SendBps.map((s, i) => (totals[i] > 0 ? (100 * ((s || 0) + (net.RecvBps[i] || 0))) / totals[i] : null));
      const bytes = net.SendBps.reduce((a, s, i) => a + (s || 0) + (net.RecvBps[i] || 0), 0);
      return {
        NetId: net.NetId,
        NetIp: net.NetIp || '',
        color: LINK_COLORS[k % LINK_COLORS.length],
        rttRaw: net.Rtt.map((v) => (v > 0 ? v : null)),
        lossRaw: net.Lost.map((v) => (v < 0 ? null : v)),
        shareRaw,
        bytes,
      };
    });
    const all = links.reduce((a, l) => a + l.bytes, 0);
    for (const l of links) l.shareOfSession = all > 0 ? (100 * l.bytes) / all : null;
    // A failover: the link carrying most of the traffic changes (and keeps it for the next report too).
    const failovers = [];
    let leader = null;
    for (let i = 0; i < n; i++) {
      if (!totals[i]) continue;
      let best = links[0];
      for (const l of links) if ((l.shareRaw[i] || 0) > (best.shareRaw[i] || 0)) best = l;
      const next = i + 1 < n && totals[i + 1] ? links.reduce((b, l) => ((l.shareRaw[i + 1] || 0) > (b.shareRaw[i + 1] || 0) ? l : b), links[0]) : best;
      if (leader && best !== leader && next === best) failovers.push({ at: part.times[i], from: leader.NetId, to: best.NetId });
      if (!leader || next === best) leader = best;
    }
    out.push({ part, links, failovers });
  }
  return out;
}
