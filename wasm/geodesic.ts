/**
 * Geodesic measures on the WGS84 ellipsoid with GeographicLib (Karney 2013),
 * as PostGIS measures `geography`:
 *
 * - area: `PolygonArea` per ring (signed, so ring orientation does not matter: |outer| − Σ|holes|,
 *   summed over polygons), as ST_Area(geog, use_spheroid => true), which also calls GeographicLib's
 *   `geod_polygonarea`. Accurate to round-off (~1e-9 relative for county-sized rings).
 * - distance: minimum over every vertex of one geometry to every geodesic segment of the other (and
 *   vice versa) of the vertex–segment distance, found by golden-section search along the segment's
 *   geodesic (`InverseLine` + `Position`) to 1 mm. Segments are first filtered by a local
 *   equirectangular estimate. Edges are geodesics, as in PostGIS geography (PostGIS itself measures
 *   edges on the sphere then the final pair on the spheroid: expect agreement to ~0.3% near the
 *   threshold, far better for short edges).
 */
import * as geographiclib from "geographiclib-geodesic";
import type { FlatGeometry } from "./flat_geometry.ts";
import { spansOf } from "./flat_in.ts";

type GeographicLib = typeof import("geographiclib-geodesic");
const lib: GeographicLib = (geographiclib as unknown as { default?: GeographicLib }).default ?? geographiclib;
const WGS84 = lib.Geodesic.WGS84;
const DISTANCE = lib.Geodesic.DISTANCE;
const LINE_CAPS = lib.Geodesic.LATITUDE | lib.Geodesic.LONGITUDE | lib.Geodesic.DISTANCE_IN;

/** Metres per degree of latitude, lower bound (at the equator: 110,574 m). */
export const MIN_METRES_PER_DEGREE_LAT = 110_574;

/** Area in m² of one ring (interleaved lon/lat from point `start` to `end`, closing point optional). */
export function ringGeodesicArea(xy: Float64Array, start: number, end: number): number {
  let last = end;
  if (end - start > 1 && xy[2 * start] === xy[2 * end - 2] && xy[2 * start + 1] === xy[2 * end - 1]) last--;
  if (last - start < 3) return 0;
  const polygon = WGS84.Polygon(false);
  for (let i = start; i < last; i++) polygon.AddPoint(xy[2 * i + 1]!, xy[2 * i]!);
  return Math.abs(polygon.Compute(false, true).area ?? 0);
}

/** Geodesic area in m² (0 for points and lines), as PostGIS ST_Area(geom::geography). */
export function geodesicArea(flat: FlatGeometry): number {
  if (flat.parts) return flat.parts.reduce((sum, part) => sum + geodesicArea(part), 0);
  if (flat.kind !== "Polygon" && flat.kind !== "MultiPolygon") return 0;
  let area = 0;
  spansOf(flat).forEach(([s, e], ring) => {
    const a = ringGeodesicArea(flat.xy, s, e);
    area += ring === 0 ? a : -a;
  });
  return area;
}

/** Geodesic distance in metres between two lon/lat points. */
export function pointDistance(x1: number, y1: number, x2: number, y2: number): number {
  return WGS84.Inverse(y1, x1, y2, x2, DISTANCE).s12 ?? NaN;
}

/** Distance in metres from point (px, py) to the geodesic segment (x1, y1)–(x2, y2). */
export function pointSegmentDistance(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
  const line = WGS84.InverseLine(y1, x1, y2, x2, LINE_CAPS);
  const length = line.s13 as number;
  const at = (s: number) => {
    const p = line.Position(s, lib.Geodesic.LATITUDE | lib.Geodesic.LONGITUDE);
    return WGS84.Inverse(py, px, p.lat2!, p.lon2!, DISTANCE).s12!;
  };
  if (!(length > 0.001)) return at(0);
  const ratio = (Math.sqrt(5) - 1) / 2;
  let lo = 0, hi = length;
  let c = hi - ratio * (hi - lo), d = lo + ratio * (hi - lo);
  let fc = at(c), fd = at(d);
  while (hi - lo > 0.001) {
    if (fc < fd) {
      hi = d, d = c, fd = fc, c = hi - ratio * (hi - lo), fc = at(c);
    } else {
      lo = c, c = d, fc = fd, d = lo + ratio * (hi - lo), fd = at(d);
    }
  }
  return Math.min(fc, fd, at(0), at(length));
}

interface Segments {
  xy: Float64Array;
  /** Point index pairs [i, j] of each segment; a lone point is [i, i]. */
  pairs: number[];
}

function segmentsOf(flat: FlatGeometry, out: Segments[] = []): Segments[] {
  if (flat.parts) {
    for (const part of flat.parts) segmentsOf(part, out);
    return out;
  }
  const pairs: number[] = [];
  if (flat.kind === "Point" || flat.kind === "MultiPoint") {
    for (let i = 0; i < flat.xy.length >> 1; i++) pairs.push(i, i);
  } else {
    for (const [s, e] of spansOf(flat)) {
      if (e - s === 1) pairs.push(s, s);
      for (let i = s; i + 1 < e; i++) pairs.push(i, i + 1);
    }
  }
  out.push({ xy: flat.xy, pairs });
  return out;
}

/** Equirectangular estimate (m) around the query point: good to a few % for segments under ~500 km. */
function approxPointSegment(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
  const k = Math.cos((py * Math.PI) / 180);
  const ax = (x1 - px) * k, ay = y1 - py, bx = (x2 - px) * k, by = y2 - py;
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2)) : 0;
  return Math.hypot(ax + t * dx, ay + t * dy) * 111_195;
}

/**
 * Upper estimate (×2 safety) of how far a geodesic segment strays from the straight lon/lat line between its
 * ends: it bulges poleward by about tan φ · (Δλ/2)² / 2 radians.
 */
function bulgeMetres(x1: number, y1: number, x2: number, y2: number): number {
  const halfDLon = (Math.abs(x2 - x1) * Math.PI) / 360;
  const lat = Math.min(89, Math.max(Math.abs(y1), Math.abs(y2)));
  return 2 * 6_378_137 * Math.tan((lat * Math.PI) / 180) * halfDLon * halfDLon / 2;
}

/**
 * Whether some vertex of `a` lies within `metres` of a segment of `b` or vice versa, on the ellipsoid.
 * Assumes the geometries do not intersect (the caller tests that first).
 */
export function vertexSegmentWithin(a: FlatGeometry, b: FlatGeometry, metres: number): boolean {
  return sideWithin(segmentsOf(a), segmentsOf(b), metres) || sideWithin(segmentsOf(b), segmentsOf(a), metres);
}

function sideWithin(from: Segments[], to: Segments[], metres: number): boolean {
  const margin = metres * 1.1 + 200;
  for (const { xy: pxy } of from) {
    for (let p = 0; p < pxy.length >> 1; p++) {
      const px = pxy[2 * p]!, py = pxy[2 * p + 1]!;
      for (const { xy, pairs } of to) {
        for (let k = 0; k < pairs.length; k += 2) {
          const i = pairs[k]!, j = pairs[k + 1]!;
          const x1 = xy[2 * i]!, y1 = xy[2 * i + 1]!, x2 = xy[2 * j]!, y2 = xy[2 * j + 1]!;
          if (approxPointSegment(px, py, x1, y1, x2, y2) > margin + bulgeMetres(x1, y1, x2, y2)) continue;
          const d = i === j ? pointDistance(px, py, x1, y1) : pointSegmentDistance(px, py, x1, y1, x2, y2);
          if (d <= metres) return true;
        }
      }
    }
  }
  return false;
}

/**
 * A bbox expanded by `metres` in degrees, conservatively (never smaller than the true geodesic buffer's
 * bounds): the planar prefilter of `dwithin`. Geodesic edges bulge poleward of their vertices' bbox (by
 * ~200 m for a 1.7° edge at 39°N), so the latitude margin also covers the bulge of an edge as wide as the bbox.
 */
export function expandBounds(b: readonly number[], metres: number): [number, number, number, number] {
  const bulge = bulgeMetres(b[0]!, b[1]!, b[2]!, b[3]!) / MIN_METRES_PER_DEGREE_LAT;
  const dLat = metres / MIN_METRES_PER_DEGREE_LAT + (Number.isFinite(bulge) ? Math.min(bulge, 90) : 90);
  const maxAbsLat = Math.min(90, Math.max(Math.abs(b[1]!), Math.abs(b[3]!)) + dLat);
  const cos = Math.cos((maxAbsLat * Math.PI) / 180);
  const dLon = cos < 1e-9 ? 360 : Math.min(360, dLat / cos / 0.99);
  return [b[0]! - dLon, b[1]! - dLat, b[2]! + dLon, b[3]! + dLat];
}
