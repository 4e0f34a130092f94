/**
 * Staged part objects: a slice's result rows as a FlatGeobuf file without an
 * index (rows in their sorted order), columns `left_id`, `right_id` and the
 * row's extra numbers. Geometries stay in flat form end to end: no GeoJSON
 * text is produced or parsed between the slice and the committed result.
 */
import { parseFlatGeobuf } from "../../src/tiles/fgb_reader.ts";
import { writeFlatGeobuf } from "../../src/tiles/fgb_writer.ts";
import type { FeatureId } from "../../wasm/flat_geometry.ts";
import type { ResultRow } from "./job_spec.ts";

export const PART_CONTENT_TYPE = "application/flatgeobuf";

export function encodePart(rows: readonly ResultRow[]): Uint8Array {
  return writeFlatGeobuf(
    rows.map((row, k) => ({ id: k, geometry: row.g, properties: { left_id: row.l, right_id: row.r, ...row.p } })),
    { nodeSize: 0, name: "part", epsg: 0 },
  );
}

export function decodePart(bytes: Uint8Array): ResultRow[] {
  return parseFlatGeobuf(bytes).features.map((feature) => {
    const { left_id, right_id, ...extra } = feature.properties as Record<string, unknown>;
    const row: ResultRow = { l: left_id as FeatureId, r: right_id as FeatureId, g: feature.geometry };
    if (Object.keys(extra).length) row.p = extra as Record<string, number>;
    return row;
  });
}
