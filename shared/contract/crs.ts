/**
 * Coordinate reference systems accepted at ingress (`input_crs`, `?crs=`, a file's own CRS) and asked for at egress
 * (`output_crs`), and their conversion to and from EPSG:4326 (lon/lat degrees), the only CRS the engine stores and
 * computes in. Definitions: every EPSG code of proj4-list (5,434 codes, epsg.io's proj4 strings; 86 KB gzipped in
 * the bundle), given to proj4 only when a code is first used.
 */
import proj4 from "proj4";
import proj4List from "proj4-list";
import type { Bbox, FlatGeometry } from "../../wasm/flat_geometry.ts";

/** An EPSG code the service knows, `EPSG:<n>`. */
export type SupportedCrs = `EPSG:${number}`;
export const DEFAULT_CRS: SupportedCrs = "EPSG:4326";

/** Half the extent of EPSG:3857 in metres (π·6378137): the valid range of x and y is ±this. */
export const WEB_MERCATOR_EXTENT = 20037508.342789244;

/** The definitions that proj4 cannot apply here: a datum shift grid (`+nadgrids=` other than `@null`) is not bundled. */
function needsGrid(definition: string): boolean {
  return /\+nadgrids=(?!@null)/.test(definition);
}

/** The proj4 definition of `code` (`EPSG:n`, case as given), or undefined when the service cannot use it. */
export function crsDefinition(code: string): string | undefined {
  const definition = Object.hasOwn(proj4List, code) ? proj4List[code]![1] : undefined;
  return definition === undefined || needsGrid(definition) ? undefined : definition;
}

export function isSupportedCrs(code: unknown): code is SupportedCrs {
  return typeof code === "string" && crsDefinition(code) !== undefined;
}

/** Why `code` is refused, for a 422 that names it. */
export function unsupportedCrsMessage(code: unknown): string {
  const definition = typeof code === "string" && Object.hasOwn(proj4List, code) ? proj4List[code]![1] : undefined;
  if (definition !== undefined) {
    return `unsupported CRS ${JSON.stringify(code)}: it needs a datum shift grid the service does not hold`;
  }
  return `unsupported CRS ${JSON.stringify(code)}; give an EPSG code as "EPSG:<n>" (e.g. EPSG:4326, EPSG:27700)`;
}

/** A geographic CRS (lon/lat degrees). */
function isGeographic(crs: SupportedCrs): boolean {
  return /\+proj=longlat\b/.test(crsDefinition(crs) ?? "");
}

/**
 * The valid coordinate ranges of a CRS: `[minX, minY, maxX, maxY]`. Projected CRSs other than EPSG:3857 get a
 * generous finite box: their projected range is not tabulated, and positions outside the projection's domain are
 * caught by {@link projectionDomain}.
 */
export function crsBounds(crs: SupportedCrs): Readonly<Bbox> {
  if (crs === "EPSG:3857") {
    return [-WEB_MERCATOR_EXTENT, -WEB_MERCATOR_EXTENT, WEB_MERCATOR_EXTENT, WEB_MERCATOR_EXTENT];
  }
  return isGeographic(crs) ? [-180, -90, 180, 90] : [-1e10, -1e10, 1e10, 1e10];
}

/** A CRS as an EPSG code, or as the converter to EPSG:4326 of a WKT definition (a Shapefile's .prj). */
export type CrsRef = SupportedCrs | proj4.Converter;

/**
 * The CRS of a WKT definition (ESRI's or OGC's WKT 1, as GDAL writes a .prj): the EPSG code its top-level
 * `AUTHORITY` names when the service knows it, EPSG:4326 for WGS 84 lon/lat (ESRI's `GCS_WGS_1984` names no code),
 * else proj4's reading of the WKT itself. Throws a `RangeError`
 * when proj4 cannot read it.
 */
export function crsFromWkt(wkt: string): CrsRef {
  const authority = /AUTHORITY\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]\s*\]\s*$/i.exec(wkt.trim());
  const code = authority ? `EPSG:${authority[1]}` : undefined;
  if (code && isSupportedCrs(code)) return code;
  try {
    const parsed = proj4.Proj(wkt) as proj4.ProjectionDefinition & { projName?: string; datumCode?: string };
    if (parsed.projName === "longlat" && parsed.datumCode === "wgs84") return DEFAULT_CRS;
    return proj4(wkt, crsDefinition(DEFAULT_CRS)!);
  } catch (error) {
    throw new RangeError(`the CRS definition cannot be read (${error instanceof Error ? error.message : error})`);
  }
}

const converters = new Map<string, proj4.Converter>();
function converter(crs: CrsRef): proj4.Converter {
  if (typeof crs !== "string") return crs;
  let conv = converters.get(crs);
  if (!conv) {
    const definition = crsDefinition(crs);
    if (definition === undefined) throw new RangeError(unsupportedCrsMessage(crs));
    conv = proj4(definition, crsDefinition(DEFAULT_CRS)!);
    converters.set(crs, conv);
  }
  return conv;
}

/** How far past ±180/±90 a converted position may land and still be the edge (floating-point overshoot). */
const OVERSHOOT_DEGREES = 1e-9;
const settle = (v: number, limit: number) =>
  v > limit && v <= limit + OVERSHOOT_DEGREES ? limit : v < -limit && v >= -limit - OVERSHOOT_DEGREES ? -limit : v;

/**
 * For a projected CRS whose valid range is not tabulated (every one but EPSG:3857), a test that a position lies in
 * the projection's domain: it converts to a finite lon/lat inside the world. Undefined where {@link crsBounds} is
 * exact already, or for a code the service does not know.
 */
export function projectionDomain(crs: SupportedCrs): ((x: number, y: number) => boolean) | undefined {
  // An unknown code is refused where it is given (its own field error); its positions are not walked further.
  if (crs === "EPSG:3857" || !isSupportedCrs(crs) || isGeographic(crs)) return undefined;
  const conv = converter(crs);
  const p: [number, number] = [0, 0];
  return (x, y) => {
    p[0] = x;
    p[1] = y;
    const [lon, lat] = conv.forward(p) as [number, number];
    return Math.abs(settle(lon, 180)) <= 180 && Math.abs(settle(lat, 90)) <= 90;
  };
}

/**
 * Converts interleaved `xy` from `from` to EPSG:4326 in place (a no-op for 4326)
 * and returns it. Floating-point overshoot at the edges of the world is absorbed
 * (x = 20037508.342789244 → 180, not 180.00000000000003); a position outside the
 * projection's domain stays outside the world (or NaN) for the checks to refuse,
 * never moved onto its edge.
 *
 * @example
 * ```ts
 * toWgs84InPlace(new Float64Array([-8238310.24, 4970071.58]), "EPSG:3857"); // ≈ [-74.006, 40.7128]
 * ```
 */
export function toWgs84InPlace(xy: Float64Array, from: CrsRef): Float64Array {
  if (from === DEFAULT_CRS) return xy;
  const conv = converter(from);
  const p: [number, number] = [0, 0];
  for (let i = 0; i + 1 < xy.length; i += 2) {
    p[0] = xy[i]!;
    p[1] = xy[i + 1]!;
    const [lon, lat] = conv.forward(p) as [number, number];
    xy[i] = settle(lon, 180);
    xy[i + 1] = settle(lat, 90);
  }
  return xy;
}

/** Inverse of {@link toWgs84InPlace} (EPSG:4326 → `to`), for `output_crs`. */
export function fromWgs84InPlace(xy: Float64Array, to: SupportedCrs): Float64Array {
  if (to === DEFAULT_CRS) return xy;
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
  if (from === DEFAULT_CRS) return geometry;
  toWgs84InPlace(geometry.xy, from);
  for (const part of geometry.parts ?? []) flatGeometryToWgs84(part, from);
  return geometry;
}

/** Converts a FlatGeometry (and its `parts`) from EPSG:4326 to `to` in place. */
export function flatGeometryFromWgs84(geometry: FlatGeometry, to: SupportedCrs): FlatGeometry {
  if (to === DEFAULT_CRS) return geometry;
  fromWgs84InPlace(geometry.xy, to);
  for (const part of geometry.parts ?? []) flatGeometryFromWgs84(part, to);
  return geometry;
}

type Coords = number[] | Coords[];

/**
 * Normalizes GeoJSON `coordinates` (any nesting) to EPSG:4326 in place, in one
 * bulk pass over a typed array. Extra ordinates (z) are kept untouched.
 */
export function geoJsonCoordinatesToWgs84<T extends Coords>(coordinates: T, from: CrsRef): T {
  if (from === DEFAULT_CRS) return coordinates;
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
