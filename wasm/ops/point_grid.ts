/**
 * Bulk point-in-polygon through a grid: the polygon's bbox is cut into cells, and the cells that the bbox of
 * some boundary segment touches are marked (in JS, with exact comparisons of the stored doubles). A closed
 * cell that no segment bbox touches does not meet the boundary; neither does a 4-connected group of such
 * cells (their union is connected), so the group lies wholly inside or wholly outside the polygon and one
 * `GEOSPreparedIntersectsXY_r` call on one of its points answers for all of them. Only the points of marked
 * cells are tested one by one. The answer is exactly the per-point answer (ST_Intersects: boundary points
 * count): each point is assigned to a cell whose closed extent, as stored doubles, contains it, and a
 * segment lies within its bbox.
 */
import type { FeatureId, FlatGeometry } from "../flat_geometry.ts";
import type { GeosRuntime } from "../core.ts";
import type { Bbox } from "../flat_geometry.ts";

export interface PointGridOptions {
  /** Below this many candidates every point is tested (default 64). */
  minCandidates?: number;
  /** Grid cells per candidate point (default 2). */
  cellsPerPoint?: number;
  /** Most cells per side (default 128). */
  maxCells?: number;
  /** Counts GEOS point tests into `tested` (for tests and benchmarks). */
  stats?: { tested: number };
}

const BOUNDARY = 1, IN = 2, OUT = 3;

/**
 * Indices (from `candidates`, in their order) of the points of `xy` that intersect the prepared polygonal
 * geometry whose envelope is `envelope`; `polygon` gives its coordinates as GEOS holds them (asked only when
 * the grid is used), or null when it is not polygonal (every point is then tested).
 */
export function gridIntersectingPoints(
  rt: GeosRuntime,
  prepared: number,
  polygon: () => FlatGeometry | null,
  envelope: Bbox,
  xy: Float64Array,
  candidates: ArrayLike<number>,
  id?: FeatureId,
  options: PointGridOptions = {},
): number[] {
  const { minCandidates = 64, cellsPerPoint = 2, maxCells = 128, stats } = options;
  const n = candidates.length;
  const ctx = rt.ctx;
  rt.raw.GEOSPreparedIntersectsXY_r(ctx, prepared, 0, 0); // resolves the glue's lazy wrapper to the export
  const test = rt.raw.GEOSPreparedIntersectsXY_r;
  const testPoint = (p: number): boolean => {
    const r = test(ctx, prepared, xy[2 * p]!, xy[2 * p + 1]!);
    if (r === 1) return true;
    if (r !== 0) rt.fail("intersectsXY", [id]);
    return false;
  };
  const [minX, minY, maxX, maxY] = envelope;
  const flat = n < minCandidates || !(minX < maxX && minY < maxY) ? null : polygon();
  if (!flat) {
    const hits: number[] = [];
    for (let c = 0; c < n; c++) if (testPoint(candidates[c]!)) hits.push(candidates[c]!);
    if (stats) stats.tested += n;
    return hits;
  }

  // Near-square cells, about `cellsPerPoint` per candidate.
  const w = maxX - minX, h = maxY - minY;
  const side = Math.sqrt((w * h) / (n * cellsPerPoint));
  const kx = Math.min(maxCells, Math.max(1, Math.round(w / side)));
  const ky = Math.min(maxCells, Math.max(1, Math.round(h / side)));
  const ex = edges(minX, maxX, kx), ey = edges(minY, maxY, ky);
  const sx = kx / w, sy = ky / h;
  const state = new Uint8Array(kx * ky);
  const markSegments = (g: FlatGeometry) => {
    const v = g.xy;
    const ends = g.ends ?? [v.length >> 1];
    let start = 0;
    for (const end of ends) {
      for (let p = start; p < end; p++) {
        const q = p + 1 < end ? p + 1 : p; // a one-point ring marks its point
        const x0 = v[2 * p]!, y0 = v[2 * p + 1]!, x1 = v[2 * q]!, y1 = v[2 * q + 1]!;
        const i0 = firstCell(ex, kx, Math.min(x0, x1), sx), i1 = lastCell(ex, kx, Math.max(x0, x1), sx);
        const j0 = firstCell(ey, ky, Math.min(y0, y1), sy), j1 = lastCell(ey, ky, Math.max(y0, y1), sy);
        for (let j = j0; j <= j1; j++) {
          for (let b = j * kx + i0, last = j * kx + i1; b <= last; b++) state[b] = BOUNDARY;
        }
      }
      start = end;
    }
  };
  if (flat.parts) flat.parts.forEach(markSegments);
  else markSegments(flat);

  let stack: Int32Array | undefined;
  /** Gives `side` to the 4-connected group of unmarked cells around `from`. */
  const fill = (from: number, side: number) => {
    stack ??= new Int32Array(kx * ky);
    let top = 0;
    state[from] = side;
    stack[top++] = from;
    while (top) {
      const b = stack[--top]!;
      const i = b % kx;
      if (i > 0 && !state[b - 1]) (state[b - 1] = side, stack[top++] = b - 1);
      if (i < kx - 1 && !state[b + 1]) (state[b + 1] = side, stack[top++] = b + 1);
      if (b >= kx && !state[b - kx]) (state[b - kx] = side, stack[top++] = b - kx);
      if (b + kx < kx * ky && !state[b + kx]) (state[b + kx] = side, stack[top++] = b + kx);
    }
  };

  const hits: number[] = [];
  let tested = 0;
  for (let c = 0; c < n; c++) {
    const p = candidates[c]!;
    const x = xy[2 * p]!, y = xy[2 * p + 1]!;
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) continue; // outside the envelope: disjoint
    const b = cellOf(ey, ky, y, sy) * kx + cellOf(ex, kx, x, sx);
    let s = state[b]!;
    if (s === BOUNDARY) {
      tested++;
      if (testPoint(p)) hits.push(p);
      continue;
    }
    if (!s) {
      tested++;
      fill(b, s = testPoint(p) ? IN : OUT);
    }
    if (s === IN) hits.push(p);
  }
  if (stats) stats.tested += tested;
  return hits;
}

/** k + 1 cell edges from `min` to `max` (both exact). */
function edges(min: number, max: number, k: number): Float64Array {
  const e = new Float64Array(k + 1);
  for (let i = 0; i < k; i++) e[i] = min + (max - min) * (i / k);
  e[k] = max;
  return e;
}

function guess(e: Float64Array, k: number, v: number, scale: number): number {
  return Math.min(k - 1, Math.max(0, Math.floor((v - e[0]!) * scale)));
}

/** The cell i with e[i] <= v <= e[i + 1] (v within [e[0], e[k]]). */
function cellOf(e: Float64Array, k: number, v: number, scale: number): number {
  let i = guess(e, k, v, scale);
  while (i > 0 && v < e[i]!) i--;
  while (i < k - 1 && v > e[i + 1]!) i++;
  return i;
}

/** The first cell whose closed extent reaches `v` or beyond: the least i with e[i + 1] >= v. */
function firstCell(e: Float64Array, k: number, v: number, scale: number): number {
  let i = guess(e, k, v, scale);
  while (i > 0 && e[i]! >= v) i--;
  while (i < k - 1 && e[i + 1]! < v) i++;
  return i;
}

/** The last cell whose closed extent starts at `v` or before: the greatest i with e[i] <= v. */
function lastCell(e: Float64Array, k: number, v: number, scale: number): number {
  let i = guess(e, k, v, scale);
  while (i < k - 1 && e[i + 1]! <= v) i++;
  while (i > 0 && e[i]! > v) i--;
  return i;
}
