/** Validity with reason, ST_MakeValid, and ST_CollectionExtract(…, 3). */
import type { FeatureId } from "../flat_geometry.ts";
import { GeomType, type GeosRuntime } from "../core.ts";

export const VALID_REASON = "Valid Geometry";

/** GEOS's `isValidReason`: `"Valid Geometry"` or e.g. `"Ring Self-intersection[x y]"` (as PostGIS ST_IsValidReason). */
export function validReason(rt: GeosRuntime, g: number, id?: FeatureId): string {
  const ptr = rt.raw.GEOSisValidReason_r(rt.ctx, g);
  return ptr ? rt.takeString(ptr) : rt.fail("isValidReason", [id]);
}

/** `GEOSMakeValid` (the "linework" method PostGIS ST_MakeValid uses). The caller owns the result. */
export function makeValid(rt: GeosRuntime, g: number, id?: FeatureId): number {
  return rt.raw.GEOSMakeValid_r(rt.ctx, g) || rt.fail("makeValid", [id]);
}

export function isPolygonal(rt: GeosRuntime, g: number): boolean {
  const type = rt.raw.GEOSGeomTypeId_r(rt.ctx, g);
  return type === GeomType.Polygon || type === GeomType.MultiPolygon;
}

/**
 * The polygons of `g` as a new geometry the caller owns (ST_CollectionExtract(g, 3)): a clone for a
 * Polygon/MultiPolygon, a MultiPolygon of the polygonal members of a collection (empty Polygon if none).
 */
export function polygonalPart(rt: GeosRuntime, g: number): number {
  const { raw, ctx } = rt;
  if (isPolygonal(rt, g)) return raw.GEOSGeom_clone_r(ctx, g) || rt.fail("clone", []);
  const polygons: number[] = [];
  collectPolygons(rt, g, polygons);
  if (!polygons.length) return raw.GEOSGeom_createEmptyPolygon_r(ctx) || rt.fail("createEmptyPolygon", []);
  const ptr = rt.scratch(polygons.length * 4);
  rt.i32.set(polygons, ptr >> 2);
  return raw.GEOSGeom_createCollection_r(ctx, GeomType.MultiPolygon, ptr, polygons.length) ||
    rt.fail("createCollection", []);
}

function collectPolygons(rt: GeosRuntime, g: number, out: number[]): void {
  const { raw, ctx } = rt;
  const type = raw.GEOSGeomTypeId_r(ctx, g);
  if (type === GeomType.Polygon) {
    if (raw.GEOSisEmpty_r(ctx, g) !== 1) out.push(raw.GEOSGeom_clone_r(ctx, g));
  } else if (type === GeomType.MultiPolygon || type === GeomType.GeometryCollection) {
    const n = raw.GEOSGetNumGeometries_r(ctx, g);
    for (let i = 0; i < n; i++) collectPolygons(rt, raw.GEOSGetGeometryN_r(ctx, g, i), out);
  }
}
