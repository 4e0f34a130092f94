/** Overlay: intersection. A GEOS TopologyException becomes a `TopologyError` naming both features. */
import type { Bbox, FeatureId } from "../flat_geometry.ts";
import type { GeosRuntime } from "../core.ts";

/** Returns a new GEOS geometry the caller owns. */
export function intersection(rt: GeosRuntime, a: number, b: number, ids: (FeatureId | undefined)[]): number {
  const result = rt.raw.GEOSIntersection_r(rt.ctx, a, b);
  return result || rt.fail("intersection", ids);
}

/**
 * Intersection with an axis-aligned rectangle (`GEOSClipByRect_r`): much faster than the general overlay for
 * grid tiles. For valid polygonal input the polygonal result equals `intersection` with the rectangle's polygon;
 * lower-dimensional contact (shared edges) may be dropped, and invalid input may give invalid output.
 */
export function clipByRect(
  rt: GeosRuntime,
  g: number,
  rect: Readonly<Bbox>,
  id?: FeatureId,
): number {
  return rt.raw.GEOSClipByRect_r(rt.ctx, g, rect[0], rect[1], rect[2], rect[3]) || rt.fail("clipByRect", [id]);
}
