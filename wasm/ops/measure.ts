/** Planar measures read through the runtime's out-parameter slots. */
import type { GeosRuntime } from "../core.ts";
import type { Bbox } from "../flat_geometry.ts";

/** Planar area in squared coordinate units (square degrees for EPSG:4326), as PostGIS ST_Area(geometry). */
export function planarArea(rt: GeosRuntime, g: number): number {
  if (!rt.raw.GEOSArea_r(rt.ctx, g, rt.outPtr)) rt.fail("area", []);
  return rt.f64[rt.outPtr >> 3]!;
}

/** `[minX, minY, maxX, maxY]`; all NaN for an empty geometry. */
export function bounds(rt: GeosRuntime, g: number): Bbox {
  const p = rt.outPtr;
  if (rt.raw.GEOSisEmpty_r(rt.ctx, g) === 1) return [NaN, NaN, NaN, NaN];
  if (!rt.raw.GEOSGeom_getExtent_r(rt.ctx, g, p, p + 8, p + 16, p + 24)) rt.fail("bounds", []);
  const f = rt.f64, i = p >> 3;
  return [f[i]!, f[i + 1]!, f[i + 2]!, f[i + 3]!];
}
