/**
 * FlatGeometry → GEOS, in bulk: each part's interleaved coordinates are copied
 * into the WASM heap with one `set`, then every ring/line becomes a GEOS
 * coordinate sequence with one `GEOSCoordSeq_copyFromBuffer_r` call (never a
 * JS call per point). Structural problems are caught here, before GEOS, as
 * `InvalidGeometryError`s with GEOS-style reasons.
 */
import type { FeatureId, FlatGeometry } from "./flat_geometry.ts";
import { InvalidGeometryError } from "./errors.ts";
import { GeomType, type GeosRuntime } from "./core.ts";

/** Start/end (in points) of each ring or line of a flat geometry. */
export function spansOf(flat: FlatGeometry): Array<[number, number]> {
  const count = flat.xy.length >> 1;
  const ends = flat.ends && flat.ends.length ? flat.ends : [count];
  const spans: Array<[number, number]> = [];
  let start = 0;
  for (const end of ends) {
    spans.push([start, end]);
    start = end;
  }
  return spans;
}

function at(xy: Float64Array, i: number): string {
  return `[${xy[2 * i]} ${xy[2 * i + 1]}]`;
}

/** Throws `InvalidGeometryError` for what GEOS cannot even build (or would build wrongly). */
export function checkStructure(flat: FlatGeometry, id?: FeatureId): void {
  if (flat.kind === "MultiPolygon" && flat.parts) {
    if (!flat.parts.length) throw new InvalidGeometryError("Empty geometry", id);
    for (const part of flat.parts) checkStructure(part, id);
    return;
  }
  const { xy } = flat;
  if (xy.length === 0) throw new InvalidGeometryError("Empty geometry", id);
  if (xy.length % 2) throw new InvalidGeometryError(`Odd coordinate count ${xy.length} (expected x, y pairs)`, id);
  for (let i = 0; i < xy.length; i++) {
    if (!Number.isFinite(xy[i]!)) throw new InvalidGeometryError(`Invalid Coordinate${at(xy, i >> 1)}`, id);
  }
  const points = xy.length >> 1;
  let previous = 0;
  for (const end of flat.ends ?? []) {
    if (end <= previous || end > points) {
      throw new InvalidGeometryError(`Ring/line end ${end} out of order or beyond ${points} points`, id);
    }
    previous = end;
  }
  if (flat.ends?.length && previous !== points) {
    throw new InvalidGeometryError(`Last ring/line end ${previous} is not the point count ${points}`, id);
  }
  if (flat.kind === "Point" && points !== 1) throw new InvalidGeometryError(`A Point has ${points} points`, id);
  if (flat.kind === "LineString" || flat.kind === "MultiLineString") {
    for (const [s, e] of spansOf(flat)) {
      if (e - s < 2) throw new InvalidGeometryError(`Too few points in geometry component${at(xy, s)}`, id);
    }
  }
  if (flat.kind === "Polygon" || flat.kind === "MultiPolygon") {
    for (const [s, e] of spansOf(flat)) {
      if (e - s < 4) throw new InvalidGeometryError(`Too few points in geometry component${at(xy, s)}`, id);
      if (xy[2 * s] !== xy[2 * e - 2] || xy[2 * s + 1] !== xy[2 * e - 1]) {
        throw new InvalidGeometryError(`Ring is not closed${at(xy, s)}`, id);
      }
    }
  }
}

/**
 * A copy of a polygonal flat geometry in the shape PostGIS makes "GEOS friendly"
 * before ST_MakeValid: unclosed rings closed, rings of 1–3 points padded to 4 by
 * repeating the closing point, empty rings dropped. NaN stays an error.
 */
export function closeAndPadRings(flat: FlatGeometry): FlatGeometry {
  if (flat.kind === "MultiPolygon" && flat.parts) {
    return { kind: "MultiPolygon", xy: new Float64Array(0), parts: flat.parts.map(closeAndPadRings) };
  }
  if (flat.kind !== "Polygon" && flat.kind !== "MultiPolygon") return flat;
  const out: number[] = [];
  const ends: number[] = [];
  for (const [s, e] of spansOf(flat)) {
    if (e === s) continue;
    for (let i = 2 * s; i < 2 * e; i++) out.push(flat.xy[i]!);
    const x0 = flat.xy[2 * s]!, y0 = flat.xy[2 * s + 1]!;
    if (x0 !== flat.xy[2 * e - 2] || y0 !== flat.xy[2 * e - 1]) out.push(x0, y0);
    while (out.length / 2 - (ends.at(-1) ?? 0) < 4) out.push(x0, y0);
    ends.push(out.length / 2);
  }
  return { kind: "Polygon", xy: new Float64Array(out), ends: new Uint32Array(ends) };
}

/** Builds a GEOS geometry (the caller owns the returned pointer). Checks structure first. */
export function buildGeometry(rt: GeosRuntime, flat: FlatGeometry, id?: FeatureId): number {
  checkStructure(flat, id);
  return buildChecked(rt, flat, id);
}

function buildChecked(rt: GeosRuntime, flat: FlatGeometry, id?: FeatureId): number {
  const { raw, ctx } = rt;
  switch (flat.kind) {
    case "Point":
      return orFail(rt, raw.GEOSGeom_createPointFromXY_r(ctx, flat.xy[0]!, flat.xy[1]!), id);
    case "MultiPoint": {
      const points: number[] = [];
      for (let i = 0; i < flat.xy.length; i += 2) {
        points.push(orFail(rt, raw.GEOSGeom_createPointFromXY_r(ctx, flat.xy[i]!, flat.xy[i + 1]!), id, points));
      }
      return collection(rt, GeomType.MultiPoint, points, id);
    }
    case "LineString":
    case "MultiLineString": {
      const base = writeCoordinates(rt, flat.xy);
      const lines: number[] = [];
      for (const [s, e] of spansOf(flat)) {
        const seq = orFail(rt, raw.GEOSCoordSeq_copyFromBuffer_r(ctx, base + s * 16, e - s, 0, 0), id, lines);
        lines.push(orFail(rt, raw.GEOSGeom_createLineString_r(ctx, seq), id, lines));
      }
      return flat.kind === "LineString" && lines.length === 1
        ? lines[0]!
        : collection(rt, GeomType.MultiLineString, lines, id);
    }
    case "Polygon":
      return polygon(rt, flat, id);
    case "MultiPolygon": {
      if (!flat.parts) return polygon(rt, flat, id);
      const polygons: number[] = [];
      try {
        for (const part of flat.parts) polygons.push(polygon(rt, part, id));
      } catch (error) {
        for (const p of polygons) raw.GEOSGeom_destroy_r(ctx, p);
        throw error;
      }
      return collection(rt, GeomType.MultiPolygon, polygons, id);
    }
  }
}

function writeCoordinates(rt: GeosRuntime, xy: Float64Array): number {
  const base = rt.scratch(xy.byteLength);
  rt.f64.set(xy, base >> 3);
  return base;
}

function polygon(rt: GeosRuntime, flat: FlatGeometry, id?: FeatureId): number {
  const { raw, ctx } = rt;
  const base = writeCoordinates(rt, flat.xy);
  const rings: number[] = [];
  for (const [s, e] of spansOf(flat)) {
    const seq = orFail(rt, raw.GEOSCoordSeq_copyFromBuffer_r(ctx, base + s * 16, e - s, 0, 0), id, rings);
    rings.push(orFail(rt, raw.GEOSGeom_createLinearRing_r(ctx, seq), id, rings));
  }
  const holes = rings.length - 1;
  const holesPtr = rt.scratch(Math.max(4, holes * 4));
  rt.i32.set(rings.slice(1), holesPtr >> 2);
  return orFail(rt, raw.GEOSGeom_createPolygon_r(ctx, rings[0]!, holesPtr, holes), id, rings);
}

function collection(rt: GeosRuntime, type: number, members: number[], id?: FeatureId): number {
  const ptr = rt.scratch(Math.max(4, members.length * 4));
  rt.i32.set(members, ptr >> 2);
  return orFail(rt, rt.raw.GEOSGeom_createCollection_r(rt.ctx, type, ptr, members.length), id, members);
}

/** Returns `ptr`, or destroys the partial `owned` objects and throws the GEOS reason as an invalid geometry. */
function orFail(rt: GeosRuntime, ptr: number, id: FeatureId | undefined, owned: number[] = []): number {
  if (ptr) return ptr;
  for (const p of owned) rt.raw.GEOSGeom_destroy_r(rt.ctx, p);
  throw new InvalidGeometryError(rt.takeMessage(), id);
}
