// A session's grade (good / normal / bad) as a coloured badge, marked provisional while the session runs,
// with its reasons as a short list (docs/quality.md says how they are computed).

import { h } from '../dom.js';

export function gradeBadge(quality, final = true) {
  const q = quality || 'unknown';
  return h(`span.grade.grade-${q}`, { title: final ? `Graded ${q}` : `Provisional: graded ${q} so far; the session is still running` },
    q, final ? null : h('span.provisional', ' (so far)'));
}

/** Reasons as "field · NetworkLatency · field network latency p95 326 ms". */
export function reasonList(reasons, { compact = false } = {}) {
  if (!reasons || !reasons.length) return compact ? null : h('p.muted', 'No reasons: every criterion is within its good threshold.');
  return h(`ul.reasons${compact ? '.compact' : ''}`, reasons.map((r) =>
    h('li', h(`span.dot.grade-${r.Grade}`), r.Text)));
}
