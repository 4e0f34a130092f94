/** us-atlas counties (counties-10m, 3,231 features) in the flat form, and the 1° grid of the benchmark. */
import { feature } from "topojson-client";
import counties from "us-atlas/counties-10m.json" with { type: "json" };
import { flatFromGeoJSON, type GeoJSONGeometry } from "../../../wasm/geojson.ts";
import type { FlatFeature } from "../../../wasm/flat_geometry.ts";

export function usCounties(): FlatFeature[] {
  // deno-lint-ignore no-explicit-any -- topojson-client ships no types here
  const topology = counties as any;
  const collection = feature(topology, topology.objects.counties) as unknown as {
    features: Array<{ id: string; geometry: GeoJSONGeometry; properties: Record<string, unknown> }>;
  };
  return collection.features.map((f) => ({
    id: f.id,
    geometry: flatFromGeoJSON(f.geometry),
    properties: f.properties,
  }));
}

/** 1°×1° cells over lon −125…−66, lat 24…50 (59 × 26 = 1,534), ids "lon_lat" of the lower-left corner. */
export function degreeGrid(bbox = [-125, 24, -66, 50]): FlatFeature[] {
  const [minX, minY, maxX, maxY] = bbox as [number, number, number, number];
  const cells: FlatFeature[] = [];
  for (let x = minX; x < maxX; x++) {
    for (let y = minY; y < maxY; y++) {
      cells.push({
        id: `${x}_${y}`,
        geometry: { kind: "Polygon", xy: new Float64Array([x, y, x + 1, y, x + 1, y + 1, x, y + 1, x, y]) },
      });
    }
  }
  return cells;
}
