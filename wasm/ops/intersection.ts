/** Overlay: intersection. A GEOS TopologyException becomes a `TopologyError` naming both features. */
import type { FeatureId } from "../flat_geometry.ts";
import type { GeosRuntime } from "../core.ts";

/** Returns a new GEOS geometry the caller owns. */
export function intersection(rt: GeosRuntime, a: number, b: number, ids: (FeatureId | undefined)[]): number {
  const result = rt.raw.GEOSIntersection_r(rt.ctx, a, b);
  return result || rt.fail("intersection", ids);
}
