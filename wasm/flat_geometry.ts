/**
 * The geometry form shared by the core, the tile codec and the executor: the
 * same layout FlatGeobuf stores (interleaved `xy`, ring/line `ends` counted in
 * points, `parts` for multi-polygons), so tiles go into GEOS without a
 * GeoJSON round trip.
 */
export type GeometryKind =
  | "Point"
  | "MultiPoint"
  | "LineString"
  | "MultiLineString"
  | "Polygon"
  | "MultiPolygon";

/** `[minX, minY, maxX, maxY]` (lon/lat in EPSG:4326): every bounding box in the service, one tuple type. */
export type Bbox = [minX: number, minY: number, maxX: number, maxY: number];

export interface FlatGeometry {
  kind: GeometryKind;
  /** Interleaved x, y (lon, lat in EPSG:4326). Empty for a MultiPolygon with `parts`. */
  xy: Float64Array;
  /**
   * End offset, in points, of each ring (Polygon) or line (MultiLineString).
   * Absent when there is a single ring or line.
   */
  ends?: Uint32Array;
  /** The polygons of a MultiPolygon, each a `Polygon` FlatGeometry. */
  parts?: FlatGeometry[];
}

/**
 * A feature id keeps its JSON type. Ordering (results are sorted by
 * `(left_id, right_id)`): numbers numerically, strings by code unit, and every
 * number before every string.
 */
export type FeatureId = string | number;

export interface FlatFeature {
  id: FeatureId;
  geometry: FlatGeometry;
  properties?: Record<string, unknown>;
}

/** An id that is an integer in [0, 2^32): it fits a u32 column and a packed sort key. */
export function isU32Id(id: FeatureId): boolean {
  return typeof id === "number" && id >>> 0 === id;
}

export function compareFeatureIds(a: FeatureId, b: FeatureId): number {
  if (typeof a === "number") return typeof b === "number" ? a - b : -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
