/**
 * GeoJSON (RFC 7946) as accepted at ingress: zod schemas for the structure
 * (they also generate the OpenAPI document) and {@link checkFeatureCollection}
 * for what depends on the CRS or spans features (ranges, ring closure, ids,
 * vertex limits). Both report exact field paths.
 */
import { z } from "@hono/zod-openapi";
import type { FeatureId, FlatFeature, GeometryKind } from "../../wasm/flat_geometry.ts";
import { flatFromGeoJSON } from "../../wasm/geojson.ts";
import { flatGeometryToWgs84, type SupportedCrs } from "./crs.ts";
import { FeatureChecker, type FeatureCollectionSummary, type IssueSink, type PathSegment } from "./feature_checks.ts";
import { type GeoJsonLimits, MAX_FEATURE_ID_LENGTH } from "./limits.ts";

export const GEOMETRY_TYPES = [
  "Point",
  "MultiPoint",
  "LineString",
  "MultiLineString",
  "Polygon",
  "MultiPolygon",
] as const satisfies readonly GeometryKind[];

export const Position = z
  .array(z.number())
  .min(2, "a position needs 2 numbers [x, y] (a third, z, is allowed and ignored)")
  .max(3, "a position has at most 3 numbers [x, y, z]")
  .openapi("Position", { description: "[x, y] or [x, y, z]; finite numbers only.", example: [-73.98, 40.75] });

const Line = z.array(Position).min(2, "a line needs at least 2 positions");
const Ring = z.array(Position).min(4, "a linear ring needs at least 4 positions (closed: first = last)");
const PolygonCoords = z.array(Ring).min(1, "a polygon needs at least one ring");
const GeoBbox = z.array(z.number()).min(4).max(6);

export const PointGeometry = z
  .strictObject({ type: z.literal("Point"), coordinates: Position, bbox: GeoBbox.optional() })
  .openapi("Point");
export const MultiPointGeometry = z
  .strictObject({
    type: z.literal("MultiPoint"),
    coordinates: z.array(Position).min(1, "a MultiPoint needs at least one position"),
    bbox: GeoBbox.optional(),
  })
  .openapi("MultiPoint");
export const LineStringGeometry = z
  .strictObject({ type: z.literal("LineString"), coordinates: Line, bbox: GeoBbox.optional() })
  .openapi("LineString");
export const MultiLineStringGeometry = z
  .strictObject({
    type: z.literal("MultiLineString"),
    coordinates: z.array(Line).min(1, "a MultiLineString needs at least one line"),
    bbox: GeoBbox.optional(),
  })
  .openapi("MultiLineString");
export const PolygonGeometry = z
  .strictObject({ type: z.literal("Polygon"), coordinates: PolygonCoords, bbox: GeoBbox.optional() })
  .openapi("Polygon");
export const MultiPolygonGeometry = z
  .strictObject({
    type: z.literal("MultiPolygon"),
    coordinates: z.array(PolygonCoords).min(1, "a MultiPolygon needs at least one polygon"),
    bbox: GeoBbox.optional(),
  })
  .openapi("MultiPolygon");

export const Geometry = z
  .discriminatedUnion("type", [
    PointGeometry,
    MultiPointGeometry,
    LineStringGeometry,
    MultiLineStringGeometry,
    PolygonGeometry,
    MultiPolygonGeometry,
  ], {
    error: (iss) =>
      iss.code === "invalid_union"
        ? `unsupported geometry type; expected one of ${GEOMETRY_TYPES.join(", ")}`
        : undefined,
  })
  .openapi("Geometry");
export type Geometry = z.infer<typeof Geometry>;

export const FeatureIdSchema = z
  .union([z.string().min(1).max(MAX_FEATURE_ID_LENGTH), z.number()])
  .openapi("FeatureId", { description: "A string (1–256 chars) or a finite number; its JSON type is kept." });

/**
 * A Feature. Foreign members (RFC 7946 §6.1) are accepted and dropped; the id
 * is `id`, else `properties.id`, and is required (checked across features).
 */
export const Feature = z
  .object({
    type: z.literal("Feature"),
    id: FeatureIdSchema.optional(),
    geometry: Geometry,
    properties: z.record(z.string(), z.unknown()).nullable().optional(),
    bbox: GeoBbox.optional(),
  })
  .openapi("Feature");
export type Feature = z.infer<typeof Feature>;

/** A FeatureCollection; `features` may be empty. Foreign members are accepted and dropped. */
export const FeatureCollection = z
  .object({
    type: z.literal("FeatureCollection"),
    features: z.array(Feature),
    bbox: GeoBbox.optional(),
  })
  .openapi("FeatureCollection", {
    example: {
      type: "FeatureCollection",
      features: [{
        type: "Feature",
        id: "a",
        properties: {},
        geometry: {
          type: "Polygon",
          coordinates: [[[-74, 40.5], [-73.9, 40.5], [-73.9, 40.6], [-74, 40.6], [-74, 40.5]]],
        },
      }],
    },
  });
export type FeatureCollection = z.infer<typeof FeatureCollection>;

export type { FeatureCollectionSummary, IssueSink, PathSegment };

/** A feature's id per the contract: its `id`, else `properties.id` when that is a string or number. */
export function featureIdOf(feature: { id?: unknown; properties?: Record<string, unknown> | null }): FeatureId | null {
  if (typeof feature.id === "string" || typeof feature.id === "number") return feature.id;
  const pid = feature.properties?.id;
  if (typeof pid === "string" || typeof pid === "number") return pid;
  return null;
}

function fmtPos(p: number[]): string {
  return `[${p.slice(0, 2).join(", ")}]`;
}

/**
 * Checks what the structural schema cannot: coordinates inside the CRS's
 * range, rings closed, ids present/valid/unique, vertex and part limits,
 * property key and string lengths (feature_checks.ts, shared with FlatGeobuf
 * uploads). `base` prefixes every reported path. Only for a collection that
 * passed the {@link FeatureCollection} schema: it walks the coordinate arrays
 * that schema vouches for.
 */
export function checkFeatureCollection(
  fc: FeatureCollection,
  crs: SupportedCrs,
  limits: GeoJsonLimits,
  base: PathSegment[],
  report: IssueSink,
): FeatureCollectionSummary {
  const check = new FeatureChecker(fc.features.length, crs, limits, base, report);
  if (!check.count()) return check.summary;
  for (let i = 0; i < fc.features.length && check.going; i++) {
    const f = fc.features[i]!;
    const fpath = [...base, "features", i];
    const id = featureIdOf(f);
    const pid = f.properties?.id;
    const pidGiven = pid !== undefined && pid !== null;
    const onProperty = id === null ? pidGiven : f.id === undefined;
    const idPath = onProperty ? [...fpath, "properties", "id"] : [...fpath, "id"];
    const missing = pidGiven
      ? "feature id must be a string or a number"
      : "feature has no id: set `id` or `properties.id` (a string or a number)";
    check.id(id, i, idPath, missing);
    if (f.properties) check.properties(f.properties, [...fpath, "properties"]);
    const g = f.geometry;
    check.geometry(g.type);
    const gpath = [...fpath, "geometry"];
    const cpath = [...gpath, "coordinates"];
    const pos = (p: number[], path: PathSegment[]) => check.position(p[0]!, p[1]!, () => path);
    const ring = (r: number[][], path: PathSegment[]) => {
      r.forEach((p, k) => pos(p, [...path, k]));
      const a = r[0]!, b = r[r.length - 1]!;
      if (a[0] !== b[0] || a[1] !== b[1]) {
        check.issue(path, `linear ring is not closed: first position ${fmtPos(a)} differs from last ${fmtPos(b)}`);
      }
    };
    switch (g.type) {
      case "Point":
        pos(g.coordinates, cpath);
        break;
      case "MultiPoint":
      case "LineString":
        check.parts(g.coordinates.length, cpath);
        g.coordinates.forEach((p, k) => pos(p, [...cpath, k]));
        break;
      case "MultiLineString":
        check.parts(g.coordinates.length, cpath);
        g.coordinates.forEach((line, l) => line.forEach((p, k) => pos(p, [...cpath, l, k])));
        break;
      case "Polygon":
        check.parts(g.coordinates.length, cpath);
        g.coordinates.forEach((r, k) => ring(r, [...cpath, k]));
        break;
      case "MultiPolygon":
        check.parts(g.coordinates.length, cpath);
        g.coordinates.forEach((poly, q) => {
          check.parts(poly.length, [...cpath, q]);
          poly.forEach((r, k) => ring(r, [...cpath, q, k]));
        });
        break;
    }
    check.endGeometry(gpath);
  }
  return check.finish();
}

const POLYGONAL = new Set<string>(["Polygon", "MultiPolygon"]);
const PUNCTAL = new Set<string>(["Point", "MultiPoint"]);
const allIn = (types: Iterable<string>, set: Set<string>) => [...types].every((t) => set.has(t));
/** Every type is Polygon/MultiPolygon (true for an empty set). */
export const allPolygonal = (types: Iterable<string>): boolean => allIn(types, POLYGONAL);
/** Every type is Point/MultiPoint (true for an empty set). */
export const allPunctal = (types: Iterable<string>): boolean => allIn(types, PUNCTAL);

/** Converts a checked FeatureCollection to the engine's flat form, normalized to EPSG:4326. */
export function toFlatFeatures(fc: FeatureCollection, crs: SupportedCrs): FlatFeature[] {
  return fc.features.map((f) => {
    const id = featureIdOf(f);
    if (id === null) throw new TypeError("Cannot convert a feature without an id; check the collection first.");
    const geometry = flatGeometryToWgs84(flatFromGeoJSON(f.geometry), crs);
    return f.properties ? { id, geometry, properties: f.properties } : { id, geometry };
  });
}
