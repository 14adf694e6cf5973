// The scorer's thresholds (DescribeSessionQuality.Thresholds, docs/quality.md) as the lines the charts
// draw: one per grade boundary, labelled the way the reasons read ("bad > 400 ms").

import { num } from '../format.js';

/** A threshold item as its lines: [{value, grade: 'normal'|'bad', label}]. */
export function thresholdLines(t) {
  const sign = t.Direction === 'below' ? '<' : '>';
  const unit = t.Unit ? ` ${t.Unit}` : '';
  const out = [];
  if (Number.isFinite(t.Normal)) out.push({ value: t.Normal, grade: 'normal', label: `normal ${sign} ${num(t.Normal, 2)}${unit}` });
  if (Number.isFinite(t.Bad)) out.push({ value: t.Bad, grade: 'bad', label: `bad ${sign} ${num(t.Bad, 2)}${unit}` });
  return out;
}
