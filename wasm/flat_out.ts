/**
 * GEOS → FlatGeometry, in bulk: one `GEOSCoordSeq_copyToBuffer_r` per ring or
 * line into the heap scratch buffer, then one typed-array copy out.
 */
import type { FlatGeometry, GeometryKind } from "./flat_geometry.ts";
import { GeomType, type GeosRuntime } from "./core.ts";

const KIND_OF_TYPE: Record<number, GeometryKind> = {
  [GeomType.Point]: "Point",
  [GeomType.LineString]: "LineString",
  [GeomType.LinearRing]: "LineString",
  [GeomType.Polygon]: "Polygon",
  [GeomType.MultiPoint]: "MultiPoint",
  [GeomType.MultiLineString]: "MultiLineString",
  [GeomType.MultiPolygon]: "MultiPolygon",
};

/** Reads a GEOS geometry into the flat form. A GeometryCollection is a TypeError (extract a part first). */
export function readGeometry(rt: GeosRuntime, g: number): FlatGeometry {
  const { raw, ctx } = rt;
  const type = raw.GEOSGeomTypeId_r(ctx, g);
  const kind = KIND_OF_TYPE[type];
  if (!kind) {
    throw new TypeError(`Cannot represent GEOS type ${type} as a FlatGeometry; take its polygonalPart() first`);
  }
  if (kind === "MultiPolygon") {
    const n = raw.GEOSGetNumGeometries_r(ctx, g);
    const parts: FlatGeometry[] = [];
    for (let i = 0; i < n; i++) parts.push(readLines(rt, raw.GEOSGetGeometryN_r(ctx, g, i), "Polygon"));
    return { kind, xy: new Float64Array(0), parts };
  }
  return readLines(rt, g, kind);
}

/** Every coordinate sequence of a Point/LineString/Polygon/MultiPoint/MultiLineString, concatenated. */
function readLines(rt: GeosRuntime, g: number, kind: GeometryKind): FlatGeometry {
  const { raw, ctx } = rt;
  const total = raw.GEOSGetNumCoordinates_r(ctx, g);
  const xy = new Float64Array(Math.max(0, total) * 2);
  if (total <= 0) return { kind, xy };
  const components: number[] = [];
  if (kind === "Polygon") {
    components.push(raw.GEOSGetExteriorRing_r(ctx, g));
    const holes = raw.GEOSGetNumInteriorRings_r(ctx, g);
    for (let i = 0; i < holes; i++) components.push(raw.GEOSGetInteriorRingN_r(ctx, g, i));
  } else if (kind === "MultiPoint" || kind === "MultiLineString") {
    const n = raw.GEOSGetNumGeometries_r(ctx, g);
    for (let i = 0; i < n; i++) components.push(raw.GEOSGetGeometryN_r(ctx, g, i));
  } else {
    components.push(g);
  }
  const buffer = rt.scratch(total * 16);
  const ends = new Uint32Array(components.length);
  let offset = 0;
  for (let i = 0; i < components.length; i++) {
    const component = components[i]!;
    const count = raw.GEOSGetNumCoordinates_r(ctx, component);
    if (count > 0) {
      const seq = raw.GEOSGeom_getCoordSeq_r(ctx, component);
      if (!seq || !raw.GEOSCoordSeq_copyToBuffer_r(ctx, seq, buffer, 0, 0)) rt.fail("copyToBuffer", []);
      const from = buffer >> 3;
      xy.set(rt.f64.subarray(from, from + count * 2), offset * 2);
      offset += count;
    }
    ends[i] = offset;
  }
  return components.length > 1 && kind !== "MultiPoint" ? { kind, xy, ends } : { kind, xy };
}
