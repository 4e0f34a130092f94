/**
 * The end-to-end benchmark's inputs, built deterministically in memory as
 * GeoJSON features (the form every engine loads):
 *
 * - `counties`: every us-atlas counties-10m county (3,231), id = FIPS string;
 * - `points(n)`: `n` seeded points (seed 42) in the contiguous-US bbox, ids 0..n-1;
 * - `skewedPoints(n)`: `n` seeded points clustered as people are: 80% around county seats drawn by a Zipf law
 *   (rank = a seeded shuffle of the counties), within ~0.1° of the seat, the rest uniform in the bbox;
 * - `landPoints(n)`: `n` seeded points uniform over the counties' land (uniform points in the bbox kept when in a
 *   county, even-odd rule): the uniform set's density with a county for every point;
 * - `conusGrid`: 1°×1° cells over lon −125…−66, lat 24…50 (1,534), ids `<lon>_<lat>`;
 * - `countries`: world-atlas countries-50m (241), id = the country's name
 *   (five countries have no ISO code and Australia's is shared with Ashmore and Cartier);
 * - `worldGrid`: 1°×1° cells over the whole world (64,800).
 */
import countries50m from "world-atlas/countries-50m.json" with { type: "json" };
// @ts-types="../fixtures/topojson_client.d.ts"
import { feature } from "topojson-client";
import Flatbush from "flatbush";
import { allCounties } from "../fixtures/make_inputs.ts";
import { CONUS_BBOX, seededPoints, seededRandom } from "../lib/seeded_random.ts";

export type Position = [number, number];
export type Geometry =
  | { type: "Point"; coordinates: Position }
  | { type: "Polygon"; coordinates: Position[][] }
  | { type: "MultiPolygon"; coordinates: Position[][][] };
export interface Feature {
  type: "Feature";
  id: string | number;
  properties: Record<string, unknown>;
  geometry: Geometry;
}

export const POINT_SEED = 42;

export function counties(): Feature[] {
  return allCounties() as Feature[];
}

export function points(count: number): Feature[] {
  const xy = seededPoints(count, POINT_SEED, CONUS_BBOX);
  const out: Feature[] = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = {
      type: "Feature",
      id: i,
      properties: {},
      geometry: { type: "Point", coordinates: [xy[2 * i]!, xy[2 * i + 1]!] },
    };
  }
  return out;
}

export function landPoints(count: number): Feature[] {
  const rings = counties().flatMap((c) =>
    c.geometry.type === "Polygon"
      ? [c.geometry.coordinates]
      : c.geometry.type === "MultiPolygon"
      ? c.geometry.coordinates
      : []
  );
  const index = new Flatbush(rings.length);
  for (const polygon of rings) {
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of polygon[0]!) {
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
    index.add(x0, y0, x1, y1);
  }
  index.finish();
  const out: Feature[] = [];
  // Seed 42 + 3, drawn in batches until `count` points fell on land (about half of the bbox is).
  const random = seededRandom(POINT_SEED + 3);
  const [minX, minY, maxX, maxY] = CONUS_BBOX;
  while (out.length < count) {
    const x = minX + random() * (maxX - minX), y = minY + random() * (maxY - minY);
    if (!index.search(x, y, x, y).some((k) => inPolygon(rings[k]!, x, y))) continue;
    out.push({ type: "Feature", id: out.length, properties: {}, geometry: { type: "Point", coordinates: [x, y] } });
  }
  return out;
}

/** Whether (x, y) is inside the polygon (rings, even-odd rule). */
function inPolygon(rings: Position[][], x: number, y: number): boolean {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i]!, [xj, yj] = ring[j]!;
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** Share of skewed points drawn around a county seat; the rest are uniform. */
const CLUSTERED_SHARE = 0.8;
/** Zipf exponent over the seats' ranks. */
const ZIPF_S = 1.1;
/** Standard deviation of a clustered point's offset from its seat, degrees. */
const SEAT_SPREAD_DEG = 0.05;

export function skewedPoints(count: number): Feature[] {
  const random = seededRandom(POINT_SEED + 1);
  // A county's seat stands in as its bbox centre; the shuffle makes ranks independent of FIPS order.
  const seats = counties()
    .map((c) => bboxCentre(c.geometry))
    .filter(([x, y]) => x > CONUS_BBOX[0] && x < CONUS_BBOX[2] && y > CONUS_BBOX[1] && y < CONUS_BBOX[3]);
  for (let i = seats.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [seats[i], seats[j]] = [seats[j]!, seats[i]!];
  }
  const cumulative = new Float64Array(seats.length);
  let total = 0;
  for (let k = 0; k < seats.length; k++) cumulative[k] = total += 1 / (k + 1) ** ZIPF_S;
  const uniform = seededPoints(count, POINT_SEED + 2, CONUS_BBOX);
  const out: Feature[] = new Array(count);
  for (let i = 0; i < count; i++) {
    let position: Position = [uniform[2 * i]!, uniform[2 * i + 1]!];
    if (random() < CLUSTERED_SHARE) {
      const u = random() * total;
      let lo = 0, hi = seats.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      // Box–Muller: a normal offset around the seat.
      const r = SEAT_SPREAD_DEG * Math.sqrt(-2 * Math.log(1 - random()));
      const angle = 2 * Math.PI * random();
      const [x, y] = seats[lo]!;
      position = [x + r * Math.cos(angle), y + r * Math.sin(angle)];
    }
    out[i] = { type: "Feature", id: i, properties: {}, geometry: { type: "Point", coordinates: position } };
  }
  return out;
}

function bboxCentre(geometry: Geometry): Position {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const visit = (c: unknown): void => {
    if (typeof (c as number[])[0] === "number") {
      const [x, y] = c as Position;
      minX = Math.min(minX, x), maxX = Math.max(maxX, x), minY = Math.min(minY, y), maxY = Math.max(maxY, y);
    } else for (const inner of c as unknown[]) visit(inner);
  };
  visit(geometry.coordinates);
  return [(minX + maxX) / 2, (minY + maxY) / 2];
}

/** 1°×1° cells with whole-degree corners covering `bbox`, ids `<lon>_<lat>` of the lower-left corner. */
export function degreeGrid(bbox: readonly [number, number, number, number]): Feature[] {
  const cells: Feature[] = [];
  for (let x = bbox[0]; x < bbox[2]; x++) {
    for (let y = bbox[1]; y < bbox[3]; y++) {
      cells.push({
        type: "Feature",
        id: `${x}_${y}`,
        properties: {},
        geometry: { type: "Polygon", coordinates: [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]] },
      });
    }
  }
  return cells;
}

export const conusGrid = () => degreeGrid(CONUS_BBOX);
export const worldGrid = () => degreeGrid([-180, -90, 180, 90]);

export function countries(): Feature[] {
  // deno-lint-ignore no-explicit-any -- topojson-client ships no types here
  const topology = countries50m as any;
  const fc = feature(topology, topology.objects.countries) as { features: Feature[] };
  return fc.features.map((f) => ({
    type: "Feature",
    id: String(f.properties.name),
    properties: { iso_n3: f.id ?? null },
    geometry: f.geometry,
  }));
}

/** A FeatureCollection's bytes, written feature by feature (no giant intermediate string). */
export function geoJsonBytes(features: readonly Feature[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [encoder.encode('{"type":"FeatureCollection","features":[')];
  let batch: string[] = [];
  const flush = () => {
    if (batch.length) parts.push(encoder.encode(batch.join("")));
    batch = [];
  };
  features.forEach((f, i) => {
    batch.push((i ? "," : "") + JSON.stringify(f));
    if (batch.length >= 10_000) flush();
  });
  flush();
  parts.push(encoder.encode("]}"));
  const size = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
