// The metrics of a session (the vendor's SessionDeviceDetail arrays, docs/api.md §4.3) and the charts
// they are drawn on, grouped as an operator thinks: what the operator sees (video), the path it travels
// (network), and the machines at both ends (device). Units are the vendor model's.

export const GROUPS = [
  { id: 'video', title: 'Video', help: 'What the operator sees: bitrate, frame rate, stalls, latency glass to glass, the per-frame costs.' },
  { id: 'network', title: 'Network', help: 'The path: each device\'s round trip to the server, loss and retransmission requests.' },
  { id: 'device', title: 'Device', help: 'The machines at both ends: CPU and memory use.' },
];

/** Per metric: a short label, the unit, and whether -1/0 mean "unknown" (latencies, docs/quality.md). */
export const METRICS = {
  Rate: { label: 'bitrate', unit: 'kbps' },
  BitRateEstimate: { label: 'server bitrate target', unit: 'kbps' },
  TotalBitrateEstimate: { label: 'total bitrate estimate', unit: 'kbps' },
  Fps: { label: 'frame rate', unit: 'fps' },
  FrameDelta: { label: 'mean frame interval', unit: 'ms' },
  MaxFrameDelta: { label: 'max frame interval', unit: 'ms' },
  VideoLatency: { label: 'video latency', unit: 'ms', latency: true },
  Lag150Duration: { label: 'stalled > 150 ms', unit: 'ms' },
  Lag100Duration: { label: 'stalled > 100 ms', unit: 'ms' },
  K150: { label: 'stutter K150', unit: '%' },
  K100: { label: 'stutter K100', unit: '%' },
  CaptureCost: { label: 'capture', unit: 'ms' },
  EncodeCost: { label: 'encode', unit: 'ms' },
  DecodeCost: { label: 'decode', unit: 'ms' },
  RenderCost: { label: 'render', unit: 'ms' },
  NetworkLatency: { label: 'network latency', unit: 'ms', latency: true },
  ControlLatency: { label: 'control latency', unit: 'ms', latency: true },
  Lost: { label: 'packet loss', unit: '%' },
  NACK: { label: 'NACK requests', unit: '' },
  CpuUsed: { label: 'CPU', unit: '%' },
  MemUsed: { label: 'memory', unit: '%' },
};

/** The metric columns of a SessionDeviceDetail, in the order above (CSV columns use it too). */
export const METRIC_NAMES = Object.keys(METRICS);

/** Charts in page order; a chart shows every listed metric of both devices that was reported. */
export const CHARTS = [
  { id: 'bitrate', group: 'video', title: 'Bitrate', unit: 'kbps', metrics: ['Rate', 'BitRateEstimate', 'TotalBitrateEstimate'] },
  { id: 'fps', group: 'video', title: 'Frame rate', unit: 'fps', metrics: ['Fps'] },
  { id: 'video-latency', group: 'video', title: 'Video latency, glass to glass', unit: 'ms', metrics: ['VideoLatency'] },
  { id: 'stalls', group: 'video', title: 'Stall time in each 2 s report', unit: 'ms', metrics: ['Lag150Duration', 'Lag100Duration'] },
  { id: 'stutter', group: 'video', title: 'Stutter rate (share of time)', unit: '%', metrics: ['K150', 'K100'] },
  { id: 'frame-interval', group: 'video', title: 'Frame interval', unit: 'ms', metrics: ['FrameDelta', 'MaxFrameDelta'] },
  { id: 'cost', group: 'video', title: 'Capture, encode, decode and render cost', unit: 'ms', metrics: ['CaptureCost', 'EncodeCost', 'DecodeCost', 'RenderCost'] },
  { id: 'network-latency', group: 'network', title: 'Network latency (round trip to the server)', unit: 'ms', metrics: ['NetworkLatency'] },
  { id: 'control-latency', group: 'network', title: 'Control latency (command channel round trip)', unit: 'ms', metrics: ['ControlLatency'] },
  { id: 'loss', group: 'network', title: 'Packet loss', unit: '%', metrics: ['Lost'] },
  { id: 'nack', group: 'network', title: 'NACK requests', unit: 'per report', metrics: ['NACK'] },
  { id: 'cpu', group: 'device', title: 'CPU use', unit: '%', metrics: ['CpuUsed'] },
  { id: 'memory', group: 'device', title: 'Memory use', unit: '%', metrics: ['MemUsed'] },
];

/**
 * Which chart a scorer threshold (DescribeSessionQuality.Thresholds) is drawn on: its metric's chart when
 * the units agree. The stall threshold is a share of time (%), so it goes on the stutter-rate chart (K150
 * is that share per report), not on the milliseconds-per-report chart.
 */
export function chartForThreshold(t) {
  if (t.Metric && t.Metric.startsWith('MultiNet.')) return null; // the links view draws those
  if ((t.Metric === 'Lag150Duration' || t.Metric === 'K150') && t.Unit === '%') return 'stutter';
  const chart = CHARTS.find((c) => c.metrics.includes(t.Metric));
  if (!chart) return null;
  const unit = METRICS[t.Metric].unit;
  return !t.Unit || t.Unit === unit ? chart.id : null;
}

export const DEVICE_COLORS = {
  field: ['#1d4ed8', '#60a5fa', '#1e3a8a', '#93c5fd'],
  remote: ['#c2410c', '#fb923c', '#7c2d12', '#fdba74'],
};
/** A second or third metric of a chart is dashed; never dotted, which is how thresholds are drawn. */
export const DASHES = [null, [6, 4], [12, 3, 3, 3], [8, 3, 3, 3, 3, 3]];
