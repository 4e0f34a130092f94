/**
 * Partial zonal statistics and their exact, stable combination: weighted
 * count, compensated sum, min, max, and the (mean, M2) pair of West's
 * weighted update, merged across partitions with Chan et al.'s parallel
 * formula, so a polygon split over partitions gets the statistics of the
 * whole.
 */

/** A partial aggregate: `count` = Σw, `sum` = Σw·x (with its Neumaier compensation `sum_c`), M2 = Σw·(x − mean)². */
export interface Moments {
  count: number;
  sum: number;
  sum_c: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
}

export const STATISTICS = ["count", "sum", "mean", "min", "max", "stddev"] as const;
export type Statistic = (typeof STATISTICS)[number];

export function emptyMoments(): Moments {
  return { count: 0, sum: 0, sum_c: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity };
}

/** Adds value `x` with weight `w` > 0. */
export function addValue(m: Moments, x: number, w: number): void {
  const count = m.count + w;
  const delta = x - m.mean;
  m.mean += delta * w / count;
  m.m2 += w * delta * (x - m.mean);
  m.count = count;
  const wx = w * x;
  const t = m.sum + wx;
  m.sum_c += Math.abs(m.sum) >= Math.abs(wx) ? (m.sum - t) + wx : (wx - t) + m.sum;
  m.sum = t;
  if (x < m.min) m.min = x;
  if (x > m.max) m.max = x;
}

/** Chan et al.: the moments of the union of two disjoint sets of pixels. */
export function combineMoments(a: Moments, b: Moments): Moments {
  if (b.count === 0) return { ...a };
  if (a.count === 0) return { ...b };
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  const t = a.sum + b.sum;
  const c = Math.abs(a.sum) >= Math.abs(b.sum) ? (a.sum - t) + b.sum : (b.sum - t) + a.sum;
  return {
    count,
    sum: t,
    sum_c: a.sum_c + b.sum_c + c,
    mean: a.mean + delta * (b.count / count),
    m2: a.m2 + b.m2 + delta * delta * (a.count * b.count / count),
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  };
}

/** The result statistics; null for all but `count` when no pixel was selected. */
export function finalStatistics(m: Moments): Record<Statistic, number | null> {
  if (m.count === 0) return { count: 0, sum: null, mean: null, min: null, max: null, stddev: null };
  const sum = m.sum + m.sum_c;
  return {
    count: m.count,
    sum,
    mean: sum / m.count,
    min: m.min,
    max: m.max,
    stddev: Math.sqrt(Math.max(0, m.m2 / m.count)),
  };
}
