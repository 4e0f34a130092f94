/**
 * Coordinate reference systems accepted at ingress and their normalization to
 * EPSG:4326 (lon/lat degrees), the only CRS the engine stores and computes in.
 */
import proj4 from "proj4";
import type { Bbox, FlatGeometry } from "../../wasm/flat_geometry.ts";

/** Every CRS code the service accepts (`input_crs`, `?crs=`). */
export const SUPPORTED_CRS = ["EPSG:4326", "EPSG:3857"] as const;
export type SupportedCrs = (typeof SUPPORTED_CRS)[number];
export const DEFAULT_CRS: SupportedCrs = "EPSG:4326";

/** Half the extent of EPSG:3857 in metres (π·6378137): the valid range of x and y is ±this. */
export const WEB_MERCATOR_EXTENT = 20037508.342789244;

export function isSupportedCrs(code: unknown): code is SupportedCrs {
  return typeof code === "string" && (SUPPORTED_CRS as readonly string[]).includes(code);
}

/** The valid coordinate ranges of a supported CRS: `[minX, minY, maxX, maxY]`. */
export function crsBounds(crs: SupportedCrs): Readonly<Bbox> {
  return crs === "EPSG:4326"
    ? [-180, -90, 180, 90]
    : [-WEB_MERCATOR_EXTENT, -WEB_MERCATOR_EXTENT, WEB_MERCATOR_EXTENT, WEB_MERCATOR_EXTENT];
}

const converters = new Map<string, proj4.Converter>();
function converter(from: SupportedCrs): proj4.Converter {
  let conv = converters.get(from);
  if (!conv) {
    conv = proj4(from, "EPSG:4326");
    converters.set(from, conv);
  }
  return conv;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * Converts interleaved `xy` from `from` to EPSG:4326 in place (a no-op for 4326)
 * and returns it. Results are clamped to ±180/±90 to absorb floating-point
 * overshoot at the edges of the world (x = 20037508.342789244 → 180, not 180.00000000000003).
 *
 * @example
 * ```ts
 * toWgs84InPlace(new Float64Array([-8238310.24, 4970071.58]), "EPSG:3857"); // ≈ [-74.006, 40.7128]
 * ```
 */
export function toWgs84InPlace(xy: Float64Array, from: SupportedCrs): Float64Array {
  if (from === "EPSG:4326") return xy;
  const conv = converter(from);
  const p: [number, number] = [0, 0];
  for (let i = 0; i + 1 < xy.length; i += 2) {
    p[0] = xy[i]!;
    p[1] = xy[i + 1]!;
    const [lon, lat] = conv.forward(p) as [number, number];
    xy[i] = clamp(lon, -180, 180);
    xy[i + 1] = clamp(lat, -90, 90);
  }
  return xy;
}

/** Inverse of {@link toWgs84InPlace} (EPSG:4326 → `to`), for tests and output in a requested CRS. */
export function fromWgs84InPlace(xy: Float64Array, to: SupportedCrs): Float64Array {
  if (to === "EPSG:4326") return xy;
  const conv = converter(to);
  const p: [number, number] = [0, 0];
  for (let i = 0; i + 1 < xy.length; i += 2) {
    p[0] = xy[i]!;
    p[1] = xy[i + 1]!;
    const [x, y] = conv.inverse(p) as [number, number];
    xy[i] = x;
    xy[i + 1] = y;
  }
  return xy;
}

/** Normalizes a FlatGeometry (and its `parts`) to EPSG:4326 in place. */
export function flatGeometryToWgs84(geometry: FlatGeometry, from: SupportedCrs): FlatGeometry {
  if (from === "EPSG:4326") return geometry;
  toWgs84InPlace(geometry.xy, from);
  for (const part of geometry.parts ?? []) flatGeometryToWgs84(part, from);
  return geometry;
}

type Coords = number[] | Coords[];

/**
 * Normalizes GeoJSON `coordinates` (any nesting) to EPSG:4326 in place, in one
 * bulk pass over a typed array. Extra ordinates (z) are kept untouched.
 */
export function geoJsonCoordinatesToWgs84<T extends Coords>(coordinates: T, from: SupportedCrs): T {
  if (from === "EPSG:4326") return coordinates;
  const positions: number[][] = [];
  const collect = (c: Coords) => {
    if (c.length > 0 && typeof c[0] === "number") positions.push(c as number[]);
    else for (const child of c as Coords[]) collect(child);
  };
  collect(coordinates);
  const xy = new Float64Array(positions.length * 2);
  positions.forEach((p, i) => {
    xy[2 * i] = p[0]!;
    xy[2 * i + 1] = p[1]!;
  });
  toWgs84InPlace(xy, from);
  positions.forEach((p, i) => {
    p[0] = xy[2 * i]!;
    p[1] = xy[2 * i + 1]!;
  });
  return coordinates;
}
