/** GeoJSON geometry objects → FlatGeometry (coordinates flattened into typed arrays once). */
import type { FlatGeometry } from "./flat_geometry.ts";
import { InvalidGeometryError } from "./errors.ts";

type Position = number[];
export type GeoJSONGeometry =
  | { type: "Point"; coordinates: Position }
  | { type: "MultiPoint"; coordinates: Position[] }
  | { type: "LineString"; coordinates: Position[] }
  | { type: "MultiLineString"; coordinates: Position[][] }
  | { type: "Polygon"; coordinates: Position[][] }
  | { type: "MultiPolygon"; coordinates: Position[][][] };

function lines(kind: "Polygon" | "MultiLineString" | "LineString" | "MultiPoint", parts: Position[][]): FlatGeometry {
  let count = 0;
  for (const p of parts) count += p.length;
  const xy = new Float64Array(count * 2);
  const ends = new Uint32Array(parts.length);
  let i = 0;
  parts.forEach((part, k) => {
    for (const position of part) {
      xy[i++] = position[0] ?? NaN;
      xy[i++] = position[1] ?? NaN;
    }
    ends[k] = i / 2;
  });
  return parts.length > 1 ? { kind, xy, ends } : { kind, xy };
}

/** Flattens a GeoJSON geometry; a malformed object is an `InvalidGeometryError`. */
export function flatFromGeoJSON(geometry: GeoJSONGeometry): FlatGeometry {
  const coordinates = (geometry as { coordinates?: unknown }).coordinates;
  if (!Array.isArray(coordinates)) throw new InvalidGeometryError(`GeoJSON ${geometry?.type} has no coordinates`);
  switch (geometry.type) {
    case "Point":
      return { kind: "Point", xy: new Float64Array([geometry.coordinates[0] ?? NaN, geometry.coordinates[1] ?? NaN]) };
    case "MultiPoint":
      return { ...lines("MultiPoint", [geometry.coordinates]), kind: "MultiPoint" };
    case "LineString":
      return lines("LineString", [geometry.coordinates]);
    case "MultiLineString":
      return lines("MultiLineString", geometry.coordinates);
    case "Polygon":
      return lines("Polygon", geometry.coordinates);
    case "MultiPolygon":
      return {
        kind: "MultiPolygon",
        xy: new Float64Array(0),
        parts: geometry.coordinates.map((polygon) => lines("Polygon", polygon)),
      };
    default:
      throw new InvalidGeometryError(`Unsupported GeoJSON geometry type "${(geometry as { type?: unknown }).type}"`);
  }
}

type GeoJSONOut = { type: string; coordinates: unknown };

function positions(xy: Float64Array, start: number, end: number): number[][] {
  const out: number[][] = new Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = [xy[2 * i]!, xy[2 * i + 1]!];
  return out;
}

function rings(flat: FlatGeometry): number[][][] {
  const n = flat.xy.length >> 1;
  const ends = flat.ends ?? [n];
  const out: number[][][] = [];
  let start = 0;
  for (const end of ends) {
    out.push(positions(flat.xy, start, end));
    start = end;
  }
  return out;
}

/** FlatGeometry → GeoJSON geometry object (the inverse of `flatFromGeoJSON`). */
export function geoJSONFromFlat(flat: FlatGeometry): GeoJSONOut {
  switch (flat.kind) {
    case "Point":
      return { type: "Point", coordinates: [flat.xy[0], flat.xy[1]] };
    case "MultiPoint":
    case "LineString":
      return { type: flat.kind, coordinates: positions(flat.xy, 0, flat.xy.length >> 1) };
    case "MultiLineString":
    case "Polygon":
      return { type: flat.kind, coordinates: rings(flat) };
    case "MultiPolygon":
      return { type: "MultiPolygon", coordinates: (flat.parts ?? []).map(rings) };
  }
}

/**
 * `JSON.stringify(geoJSONFromFlat(flat))`, written straight from the flat
 * arrays (result encoding writes one per result row; no nested arrays built).
 * Template literals format numbers as JSON does.
 */
export function geoJSONTextFromFlat(flat: FlatGeometry): string {
  switch (flat.kind) {
    case "Point":
      return `{"type":"Point","coordinates":[${flat.xy[0]},${flat.xy[1]}]}`;
    case "MultiPoint":
    case "LineString":
      return `{"type":"${flat.kind}","coordinates":${positionsText(flat.xy, 0, flat.xy.length >> 1)}}`;
    case "MultiLineString":
    case "Polygon":
      return `{"type":"${flat.kind}","coordinates":${ringsText(flat)}}`;
    case "MultiPolygon":
      return `{"type":"MultiPolygon","coordinates":[${(flat.parts ?? []).map(ringsText).join(",")}]}`;
  }
}

function positionsText(xy: Float64Array, start: number, end: number): string {
  let out = "[";
  for (let i = start; i < end; i++) out += `${i > start ? "," : ""}[${xy[2 * i]},${xy[2 * i + 1]}]`;
  return out + "]";
}

function ringsText(flat: FlatGeometry): string {
  const n = flat.xy.length >> 1;
  const ends = flat.ends ?? [n];
  let out = "[";
  let start = 0;
  for (const end of ends) {
    out += (start ? "," : "") + positionsText(flat.xy, start, end);
    start = end;
  }
  return out + "]";
}
