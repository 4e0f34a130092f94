/**
 * ST_DWithin(geography, geography, metres) on WGS84: a planar prefilter (bounds expanded by a
 * conservative number of degrees, wrapped at the antimeridian and clamped at the poles), then planar
 * intersection (distance 0), then the geodesic vertex–segment search of `geodesic.ts`.
 */
import type { FlatGeometry } from "../flat_geometry.ts";
import { reachBoxes, vertexSegmentWithin } from "../geodesic.ts";

export interface DWithinInputs {
  boundsA: readonly number[];
  boundsB: readonly number[];
  intersects: () => boolean;
  flatA: () => FlatGeometry;
  flatB: () => FlatGeometry;
}

export function dwithin(inputs: DWithinInputs, metres: number): boolean {
  if (!(metres >= 0)) throw new RangeError(`dwithin distance must be a non-negative number of metres, got ${metres}`);
  const b = inputs.boundsB;
  const reached = reachBoxes(inputs.boundsA, metres).some(([minX, minY, maxX, maxY]) =>
    b[0]! <= maxX && b[2]! >= minX && b[1]! <= maxY && b[3]! >= minY
  );
  if (!reached) return false;
  if (inputs.intersects()) return true;
  return vertexSegmentWithin(inputs.flatA(), inputs.flatB(), metres);
}
