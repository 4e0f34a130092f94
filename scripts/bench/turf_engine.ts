/**
 * The in-process baseline: @turf/turf on the same inputs (made valid with the
 * project's GEOS core, as the service does), candidates from a flatbush index as
 * in scripts/bench_core.ts. `booleanPointInPolygon` counts boundary points (as
 * ST_Intersects); `intersect` + a planar shoelace area (squared degrees, as
 * ST_Area on EPSG:4326) for polygon pairs; turf's own `area` is spherical, so the
 * geodesic sum is reported but not compared to 1e-6.
 */
import * as turf from "@turf/turf";
import Flatbush from "flatbush";
import type { Feature, Position } from "./datasets.ts";

export interface TurfRun {
  seconds: number;
  pairs: number;
  area: number;
  areaM2: number;
  keys: string[];
  errors: number;
}

type Poly = { type: "Polygon"; coordinates: Position[][] } | { type: "MultiPolygon"; coordinates: Position[][][] };

function bounds(g: Poly): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  const rings = g.type === "Polygon" ? g.coordinates : g.coordinates.flat();
  for (const ring of rings) {
    for (const [x, y] of ring) {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  return b;
}

function ringArea(ring: Position[]): number {
  let s = 0;
  for (let i = 0, n = ring.length; i < n - 1; i++) s += ring[i]![0] * ring[i + 1]![1] - ring[i + 1]![0] * ring[i]![1];
  return s / 2;
}

/** Planar area in squared coordinate units, holes subtracted. */
export function planarArea(g: Poly): number {
  const polys = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
  let a = 0;
  for (const rings of polys) rings.forEach((r, i) => (a += i === 0 ? Math.abs(ringArea(r)) : -Math.abs(ringArea(r))));
  return a;
}

export function turfPointInPolygon(polygons: readonly Feature[], points: readonly Feature[]): TurfRun {
  const t0 = performance.now();
  const index = new Flatbush(points.length);
  for (const p of points) {
    const [x, y] = p.geometry.coordinates as Position;
    index.add(x, y, x, y);
  }
  index.finish();
  const keys: string[] = [];
  for (const poly of polygons) {
    const g = poly.geometry as Poly;
    const f = turf.feature(g);
    for (const i of index.search(...bounds(g))) {
      const p = points[i]!;
      if (turf.booleanPointInPolygon(p.geometry.coordinates as Position, f)) keys.push(`${poly.id}|${p.id}`);
    }
  }
  return { seconds: (performance.now() - t0) / 1000, pairs: keys.length, area: 0, areaM2: 0, keys, errors: 0 };
}

export function turfPolygonIntersection(left: readonly Feature[], right: readonly Feature[]): TurfRun {
  const t0 = performance.now();
  const index = new Flatbush(right.length);
  for (const r of right) index.add(...bounds(r.geometry as Poly));
  index.finish();
  const keys: string[] = [];
  let area = 0, areaM2 = 0, errors = 0;
  for (const l of left) {
    const lf = turf.feature(l.geometry as Poly);
    for (const i of index.search(...bounds(l.geometry as Poly))) {
      const r = right[i]!;
      let piece;
      try {
        piece = turf.intersect(turf.featureCollection([lf, turf.feature(r.geometry as Poly)]));
      } catch {
        errors++;
        continue;
      }
      if (!piece) continue;
      const a = planarArea(piece.geometry as Poly);
      if (!(a > 0)) continue;
      keys.push(`${l.id}|${r.id}`);
      area += a;
      areaM2 += turf.area(piece);
    }
  }
  return { seconds: (performance.now() - t0) / 1000, pairs: keys.length, area, areaM2, keys, errors };
}
