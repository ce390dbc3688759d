/** Small, pure statistics used by the harness (unit-tested in test/bench). */

/** The median of the finite values (a broken run is recorded as NaN); `NaN` when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The p-th percentile (0..100) by the nearest-rank method: the smallest value with at
 * least p% of the values at or below it. Used for latency samples.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (p < 0 || p > 100) throw new RangeError(`percentile ${p} is outside 0..100`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * The median of per-round ratios `value[i] / baseline[i]`. Pairing each run with the
 * baseline run of the same round cancels the slow drift of a shared machine better
 * than dividing two medians; rounds where either side is missing or zero are skipped.
 */
export function pairedRatio(values: readonly number[], baselines: readonly number[]): number {
  const ratios: number[] = [];
  const n = Math.min(values.length, baselines.length);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const b = baselines[i]!;
    if (Number.isFinite(v) && Number.isFinite(b) && b > 0) ratios.push(v / b);
  }
  return median(ratios);
}

/** Spread of a list as (max - min) / median, to flag noisy cases. `NaN` when empty. */
export function relativeSpread(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const m = median(values);
  return m === 0 ? Number.NaN : (Math.max(...values) - Math.min(...values)) / m;
}
