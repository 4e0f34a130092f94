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
import type { Bbox, FlatGeometry } from "./flat_geometry.ts";
import { spansOf } from "./flat_in.ts";

type GeographicLib = typeof import("geographiclib-geodesic");
const lib: GeographicLib = (geographiclib as unknown as { default?: GeographicLib }).default ?? geographiclib;
const WGS84 = lib.Geodesic.WGS84;
const DISTANCE = lib.Geodesic.DISTANCE;
const LINE_CAPS = lib.Geodesic.LATITUDE | lib.Geodesic.LONGITUDE | lib.Geodesic.DISTANCE_IN;

/** Metres per degree of latitude, lower bound (at the equator: 110,574 m). */
const MIN_METRES_PER_DEGREE_LAT = 110_574;

/** Area in m² of one ring (interleaved lon/lat from point `start` to `end`, closing point optional). */
function ringGeodesicArea(xy: Float64Array, start: number, end: number): number {
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
function pointSegmentDistance(px: number, py: number, x1: number, y1: number, x2: number, y2: number): number {
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
  /** Each point as a unit vector on the sphere (x, y, z at 3i…3i + 2): for the prefilter. */
  unit: Float64Array;
  /** Point index pairs [i, j] of each segment; a lone point is [i, i]. */
  pairs: number[];
  /** Each segment's great-circle length (radians), at k/2 for the pair at k. */
  arcs: Float64Array;
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
  const unit = unitVectors(flat.xy);
  const arcs = new Float64Array(pairs.length >> 1);
  for (let k = 0; k < pairs.length; k += 2) {
    const i = 3 * pairs[k]!, j = 3 * pairs[k + 1]!;
    arcs[k >> 1] = angleBetween(unit[i]!, unit[i + 1]!, unit[i + 2]!, unit[j]!, unit[j + 1]!, unit[j + 2]!);
  }
  out.push({ xy: flat.xy, unit, pairs, arcs });
  return out;
}

function unitVectors(xy: Float64Array): Float64Array {
  const n = xy.length >> 1;
  const out = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const lon = (xy[2 * i]! * Math.PI) / 180, lat = (xy[2 * i + 1]! * Math.PI) / 180;
    const c = Math.cos(lat);
    out[3 * i] = c * Math.cos(lon);
    out[3 * i + 1] = c * Math.sin(lon);
    out[3 * i + 2] = Math.sin(lat);
  }
  return out;
}

/** Mean Earth radius (m): the prefilter measures on this sphere. */
const MEAN_RADIUS = 6_371_008.8;

/**
 * Great-circle distance (radians, on the unit sphere) from point p to the arc a–b, the short way round: the
 * prefilter's estimate of the geodesic vertex–segment distance. Spherical, so it holds across the antimeridian
 * and near the poles, where planar degree arithmetic does not.
 */
function arcDistance(p: Float64Array, pi: number, s: Float64Array, ai: number, bi: number): number {
  const px = p[pi]!, py = p[pi + 1]!, pz = p[pi + 2]!;
  const ax = s[ai]!, ay = s[ai + 1]!, az = s[ai + 2]!;
  const toA = angleBetween(px, py, pz, ax, ay, az);
  if (ai === bi) return toA;
  const bx = s[bi]!, by = s[bi + 1]!, bz = s[bi + 2]!;
  const toB = angleBetween(px, py, pz, bx, by, bz);
  // n = a × b, the arc's pole.
  const nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
  const nn = Math.hypot(nx, ny, nz);
  if (nn < 1e-15) return Math.min(toA, toB);
  // p's foot on the great circle lies on the arc when it is between a and b: (a × p)·n ≥ 0 and (p × b)·n ≥ 0.
  const pDotA = px * ax + py * ay + pz * az, pDotB = px * bx + py * by + pz * bz, aDotB = ax * bx + ay * by + az * bz;
  if (pDotB - aDotB * pDotA >= 0 && pDotA - aDotB * pDotB >= 0) {
    return Math.asin(Math.min(1, Math.abs(px * nx + py * ny + pz * nz) / nn));
  }
  return Math.min(toA, toB);
}

function angleBetween(ux: number, uy: number, uz: number, vx: number, vy: number, vz: number): number {
  const cx = uy * vz - uz * vy, cy = uz * vx - ux * vz, cz = ux * vy - uy * vx;
  return Math.atan2(Math.hypot(cx, cy, cz), ux * vx + uy * vy + uz * vz);
}

/**
 * Whether some vertex of `a` lies within `metres` of a segment of `b` or vice versa, on the ellipsoid.
 * Assumes the geometries do not intersect (the caller tests that first).
 */
export function vertexSegmentWithin(a: FlatGeometry, b: FlatGeometry, metres: number): boolean {
  return sideWithin(segmentsOf(a), segmentsOf(b), metres) || sideWithin(segmentsOf(b), segmentsOf(a), metres);
}

function sideWithin(from: Segments[], to: Segments[], metres: number): boolean {
  // The sphere is within 0.6% of the ellipsoid, and a great-circle arc strays from the geodesic by far less than
  // 1% of its length: pairs beyond this margin cannot be within `metres`.
  const margin = (metres * 1.1 + 200) / MEAN_RADIUS;
  for (const { xy: pxy, unit: punit } of from) {
    for (let p = 0; p < pxy.length >> 1; p++) {
      const px = pxy[2 * p]!, py = pxy[2 * p + 1]!;
      for (const { xy, unit, pairs, arcs } of to) {
        for (let k = 0; k < pairs.length; k += 2) {
          const i = pairs[k]!, j = pairs[k + 1]!;
          if (arcDistance(punit, 3 * p, unit, 3 * i, 3 * j) > margin + 0.01 * arcs[k >> 1]!) continue;
          const x1 = xy[2 * i]!, y1 = xy[2 * i + 1]!, x2 = xy[2 * j]!, y2 = xy[2 * j + 1]!;
          const d = i === j ? pointDistance(px, py, x1, y1) : pointSegmentDistance(px, py, x1, y1, x2, y2);
          if (d <= metres) return true;
        }
      }
    }
  }
  return false;
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
 * A bbox expanded by `metres` in degrees, conservatively (never smaller than the true geodesic buffer's
 * bounds): the planar prefilter of `dwithin`. Geodesic edges bulge poleward of their vertices' bbox (by
 * ~200 m for a 1.7° edge at 39°N), so the latitude margin also covers the bulge of an edge as wide as the bbox.
 */
export function expandBounds(b: readonly number[], metres: number): Bbox {
  const bulge = bulgeMetres(b[0]!, b[1]!, b[2]!, b[3]!) / MIN_METRES_PER_DEGREE_LAT;
  const dLat = metres / MIN_METRES_PER_DEGREE_LAT + (Number.isFinite(bulge) ? Math.min(bulge, 90) : 90);
  const maxAbsLat = Math.min(90, Math.max(Math.abs(b[1]!), Math.abs(b[3]!)) + dLat);
  const cos = Math.cos((maxAbsLat * Math.PI) / 180);
  const dLon = cos < 1e-9 ? 360 : Math.min(360, dLat / cos / 0.99);
  return [b[0]! - dLon, b[1]! - dLat, b[2]! + dLon, b[3]! + dLat];
}

/**
 * {@link expandBounds} as boxes inside the lon/lat domain, the planar prefilter that holds everywhere: latitudes
 * clamped to ±90 (a reach over a pole spans every longitude, which `expandBounds` already gives), and a reach past
 * ±180° split into the piece on this side and the piece it wraps onto (PostGIS geography measures the short way
 * round the antimeridian). One box when the reach stays inside the domain.
 */
export function reachBoxes(b: readonly number[], metres: number): Bbox[] {
  const [x0, y0, x1, y1] = expandBounds(b, metres);
  const minY = Math.max(-90, y0), maxY = Math.min(90, y1);
  if (x1 - x0 >= 360) return [[-180, minY, 180, maxY]];
  const boxes: Bbox[] = [[Math.max(-180, x0), minY, Math.min(180, x1), maxY]];
  if (x0 < -180) boxes.push([x0 + 360, minY, 180, maxY]);
  if (x1 > 180) boxes.push([-180, minY, x1 - 360, maxY]);
  return boxes;
}
