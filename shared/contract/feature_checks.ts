/**
 * The checks every uploaded feature passes, whatever its encoding: a GeoJSON
 * body walks its coordinate arrays through a {@link FeatureChecker}
 * (geojson.ts), a FlatGeobuf file its flat geometries ({@link checkFlatFeatures}),
 * so ids, properties, coordinate ranges and the per-geometry and total limits
 * are one code path.
 */
import type { Bbox, FeatureId, FlatFeature, FlatGeometry, GeometryKind } from "../../wasm/flat_geometry.ts";
import { crsBounds, projectionDomain, type SupportedCrs } from "./crs.ts";
import {
  type GeoJsonLimits,
  MAX_FEATURE_ID_LENGTH,
  MAX_PROPERTY_KEY_LENGTH,
  MAX_PROPERTY_STRING_LENGTH,
} from "./limits.ts";

export type PathSegment = string | number;

/** Receives each semantic error; return `false` to stop checking (enough errors collected). */
export type IssueSink = (path: PathSegment[], message: string) => boolean;

/** What a check learned about the features. */
export interface FeatureCollectionSummary {
  featureCount: number;
  vertexCount: number;
  geometryTypes: Set<GeometryKind>;
  /** [minX, minY, maxX, maxY] in the input CRS, or null when there are no features. */
  bbox: Bbox | null;
  ids: FeatureId[];
}

/** Feature-by-feature state of one check: call {@link id}, {@link properties}, then per geometry {@link position}s. */
export class FeatureChecker {
  readonly summary: FeatureCollectionSummary;
  readonly #bounds: Readonly<Bbox>;
  readonly #inDomain: ((x: number, y: number) => boolean) | undefined;
  readonly #seen = new Map<string, number>();
  #go = true;
  #vertices = 0;
  #bbox = [Infinity, Infinity, -Infinity, -Infinity];

  constructor(
    featureCount: number,
    readonly crs: SupportedCrs,
    readonly limits: GeoJsonLimits,
    readonly base: PathSegment[],
    readonly report: IssueSink,
  ) {
    this.#bounds = crsBounds(crs);
    this.#inDomain = projectionDomain(crs);
    this.summary = { featureCount, vertexCount: 0, geometryTypes: new Set(), bbox: null, ids: [] };
  }

  /** False once the sink asked to stop, or a total limit was exceeded. */
  get going(): boolean {
    return this.#go;
  }

  issue(path: PathSegment[], message: string): void {
    if (this.#go) this.#go = this.report(path, message);
  }

  /** Checks the feature count; false when over the limit (the features are not walked). */
  count(): boolean {
    const n = this.summary.featureCount;
    if (n <= this.limits.maxFeatures) return true;
    this.issue([...this.base, "features"], `has ${n} features; the limit is ${this.limits.maxFeatures}`);
    return false;
  }

  /** Feature `index`'s id (`null`: it has none usable), valid and unique. */
  id(id: FeatureId | null, index: number, path: PathSegment[], missing: string): void {
    if (id === null) {
      this.issue(path, missing);
    } else if (typeof id === "string" && (id.length === 0 || id.length > MAX_FEATURE_ID_LENGTH)) {
      this.issue(path, `string id must have 1–${MAX_FEATURE_ID_LENGTH} characters`);
    } else if (typeof id === "number" && !Number.isFinite(id)) {
      this.issue(path, "numeric id must be finite");
    } else {
      const key = `${typeof id}:${id}`;
      const first = this.#seen.get(key);
      if (first !== undefined) {
        this.issue(path, `duplicate feature id ${JSON.stringify(id)} (first used by features[${first}])`);
      } else {
        this.#seen.set(key, index);
        this.summary.ids.push(id);
      }
    }
  }

  /** Property names and string values within their length limits, at any depth. */
  properties(value: unknown, path: PathSegment[]): void {
    if (typeof value === "string") {
      if (value.length > MAX_PROPERTY_STRING_LENGTH) {
        this.issue(path, `string has ${value.length} characters; the limit is ${MAX_PROPERTY_STRING_LENGTH}`);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.properties(v, [...path, i]));
    } else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
      for (const [k, v] of Object.entries(value)) {
        if (k.length > MAX_PROPERTY_KEY_LENGTH) {
          this.issue(path, `property name of ${k.length} characters; the limit is ${MAX_PROPERTY_KEY_LENGTH}`);
        }
        this.properties(v, [...path, k]);
      }
    }
  }

  /** Starts a geometry of `kind`. */
  geometry(kind: GeometryKind): void {
    this.summary.geometryTypes.add(kind);
    this.#vertices = 0;
  }

  /** One position: finite and inside the CRS's range. */
  position(x: number, y: number, path: () => PathSegment[]): void {
    this.#vertices++;
    const [minX, minY, maxX, maxY] = this.#bounds;
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) {
      this.issue(
        path(),
        `position [${x}, ${y}] is outside the valid range of ${this.crs} ([${minX}, ${minY}, ${maxX}, ${maxY}])`,
      );
      return;
    }
    if (this.#inDomain && !this.#inDomain(x, y)) {
      this.issue(
        path(),
        `position [${x}, ${y}] is outside the domain of ${this.crs}: it has no longitude and latitude`,
      );
      return;
    }
    const b = this.#bbox;
    if (x < b[0]!) b[0] = x;
    if (y < b[1]!) b[1] = y;
    if (x > b[2]!) b[2] = x;
    if (y > b[3]!) b[3] = y;
  }

  /** A count of rings, lines or parts. */
  parts(n: number, path: PathSegment[]): void {
    if (n > this.limits.maxGeometryParts) {
      this.issue(path, `has ${n} parts; the limit is ${this.limits.maxGeometryParts}`);
    }
  }

  /** Ends the current geometry: its own and the running vertex limits. */
  endGeometry(path: PathSegment[]): void {
    const n = this.#vertices;
    if (n > this.limits.maxGeometryVertices) {
      this.issue(path, `has ${n} positions; the limit per geometry is ${this.limits.maxGeometryVertices}`);
    }
    this.summary.vertexCount += n;
    if (this.summary.vertexCount > this.limits.maxVertices) {
      this.issue([...this.base, "features"], `has more than ${this.limits.maxVertices} positions in total (the limit)`);
      this.#go = false;
    }
  }

  finish(): FeatureCollectionSummary {
    const b = this.#bbox;
    if (this.summary.featureCount > 0 && Number.isFinite(b[0])) this.summary.bbox = [b[0]!, b[1]!, b[2]!, b[3]!];
    return this.summary;
  }
}

/**
 * {@link FeatureChecker} over flat features (a FlatGeobuf upload, in the file's CRS): the same id,
 * property, range and limit checks as a GeoJSON body, plus the structure GeoJSON's schema
 * guarantees and a file does not (ring and line sizes, closed rings, consistent ring ends).
 */
export function checkFlatFeatures(
  features: readonly FlatFeature[],
  crs: SupportedCrs,
  limits: GeoJsonLimits,
  report: IssueSink,
): FeatureCollectionSummary {
  const check = new FeatureChecker(features.length, crs, limits, [], report);
  if (!check.count()) return check.summary;
  for (let i = 0; i < features.length && check.going; i++) {
    const f = features[i]!;
    const fpath: PathSegment[] = ["features", i];
    check.id(f.id, i, [...fpath, "id"], "feature has no id");
    if (f.properties) check.properties(f.properties, [...fpath, "properties"]);
    const gpath = [...fpath, "geometry"];
    check.geometry(f.geometry.kind);
    flatGeometry(check, f.geometry, gpath);
    check.endGeometry(gpath);
  }
  return check.finish();
}

function flatGeometry(check: FeatureChecker, g: FlatGeometry, path: PathSegment[]): void {
  if (g.kind === "MultiPolygon") {
    const parts = g.parts ?? [];
    if (parts.length === 0) check.issue(path, "a MultiPolygon needs at least one polygon");
    check.parts(parts.length, path);
    parts.forEach((part, q) => flatGeometry(check, part, [...path, "parts", q]));
    return;
  }
  const points = g.xy.length / 2;
  if (!Number.isInteger(points) || points === 0) {
    check.issue(path, `has ${g.xy.length} coordinates; expected x, y pairs`);
    return;
  }
  for (let k = 0; k < points; k++) check.position(g.xy[2 * k]!, g.xy[2 * k + 1]!, () => [...path, "xy", k]);
  if (g.kind === "Point" && points !== 1) check.issue(path, `a Point has one position, not ${points}`);
  if (g.kind === "LineString" && points < 2) check.issue(path, "a line needs at least 2 positions");
  if (g.kind !== "Polygon" && g.kind !== "MultiLineString") return;
  const ends = g.ends ?? [points];
  check.parts(ends.length, path);
  let start = 0;
  for (let r = 0; r < ends.length; r++) {
    const end = ends[r]!;
    if (end <= start || end > points || (r === ends.length - 1 && end !== points)) {
      check.issue([...path, "ends", r], `ring or line end ${end} does not fit ${points} positions`);
      return;
    }
    const n = end - start;
    if (g.kind === "MultiLineString" && n < 2) check.issue([...path, "ends", r], "a line needs at least 2 positions");
    if (g.kind === "Polygon") {
      if (n < 4) check.issue([...path, "ends", r], "a linear ring needs at least 4 positions (closed: first = last)");
      else if (g.xy[2 * start] !== g.xy[2 * end - 2] || g.xy[2 * start + 1] !== g.xy[2 * end - 1]) {
        check.issue([...path, "ends", r], "linear ring is not closed: first position differs from last");
      }
    }
    start = end;
  }
}
