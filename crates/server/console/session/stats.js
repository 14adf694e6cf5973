// Small statistics over a metric column, as the scorer computes them (docs/quality.md): nearest-rank
// percentiles, means; values that are null (unknown) are left out.

export function known(values) {
  return values.filter((v) => v != null && !Number.isNaN(v));
}

/** Nearest-rank percentile (p in 0..100) of the known values, or null. */
export function percentile(values, p) {
  const v = known(values).sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.max(0, Math.ceil((p / 100) * v.length) - 1)];
}

export function mean(values) {
  const v = known(values);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}
