/** Binary predicates, plain and prepared. GEOS answers 1/0, or 2 after an exception (→ typed error). */
import type { FeatureId } from "../flat_geometry.ts";
import type { GeosRuntime } from "../core.ts";

export type PredicateName = "intersects" | "contains" | "within";

const PLAIN = {
  intersects: "GEOSIntersects_r",
  contains: "GEOSContains_r",
  within: "GEOSWithin_r",
} as const;
const PREPARED = {
  intersects: "GEOSPreparedIntersects_r",
  contains: "GEOSPreparedContains_r",
  within: "GEOSPreparedWithin_r",
} as const;

function answer(rt: GeosRuntime, result: number, name: string, ids: (FeatureId | undefined)[]): boolean {
  if (result === 1) return true;
  if (result === 0) return false;
  return rt.fail(name, ids);
}

export function predicate(
  rt: GeosRuntime,
  name: PredicateName,
  a: number,
  b: number,
  ids: (FeatureId | undefined)[],
): boolean {
  return answer(rt, rt.raw[PLAIN[name]](rt.ctx, a, b), name, ids);
}

export function preparedPredicate(
  rt: GeosRuntime,
  name: PredicateName,
  prepared: number,
  b: number,
  ids: (FeatureId | undefined)[],
): boolean {
  return answer(rt, rt.raw[PREPARED[name]](rt.ctx, prepared, b), name, ids);
}

/** Point-in-polygon without creating a point geometry: `GEOSPreparedIntersectsXY_r` (boundary counts). */
export function preparedIntersectsXY(rt: GeosRuntime, prepared: number, x: number, y: number, id?: FeatureId): boolean {
  return answer(rt, rt.raw.GEOSPreparedIntersectsXY_r(rt.ctx, prepared, x, y), "intersectsXY", [id]);
}

/** Strict containment of a point (boundary excluded): `GEOSPreparedContainsXY_r`. */
export function preparedContainsXY(rt: GeosRuntime, prepared: number, x: number, y: number, id?: FeatureId): boolean {
  return answer(rt, rt.raw.GEOSPreparedContainsXY_r(rt.ctx, prepared, x, y), "containsXY", [id]);
}

/**
 * Indices (from `candidates`) of the points of `xy` that intersect the prepared geometry:
 * the bulk form of the point-in-polygon test (one WASM call per candidate, no allocation per point).
 */
export function preparedIntersectingPoints(
  rt: GeosRuntime,
  prepared: number,
  xy: Float64Array,
  candidates: ArrayLike<number>,
  id?: FeatureId,
): number[] {
  const ctx = rt.ctx;
  const hits: number[] = [];
  if (!candidates.length) return hits;
  rt.raw.GEOSPreparedIntersectsXY_r(ctx, prepared, 0, 0); // resolves the glue's lazy wrapper to the export
  const test = rt.raw.GEOSPreparedIntersectsXY_r;
  for (let i = 0; i < candidates.length; i++) {
    const p = candidates[i]!;
    const r = test(ctx, prepared, xy[2 * p]!, xy[2 * p + 1]!);
    if (r === 1) hits.push(p);
    else if (r !== 0) rt.fail("intersectsXY", [id]);
  }
  return hits;
}
