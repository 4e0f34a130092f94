/** Deterministic pseudo-random numbers (mulberry32) so benchmarks, fixtures and tests draw the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The contiguous-US bounding box used by the J1 benchmark and fixtures. */
export const CONUS_BBOX = [-125, 24, -66, 50] as const;

/** `count` points drawn uniformly in `bbox` from `seed`, as interleaved lon, lat. */
export function seededPoints(count: number, seed: number, bbox: readonly number[] = CONUS_BBOX): Float64Array {
  const [minX, minY, maxX, maxY] = bbox as [number, number, number, number];
  const random = seededRandom(seed);
  const xy = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    xy[2 * i] = minX + random() * (maxX - minX);
    xy[2 * i + 1] = minY + random() * (maxY - minY);
  }
  return xy;
}
