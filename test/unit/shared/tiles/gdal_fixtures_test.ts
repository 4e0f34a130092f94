import { deepEqual, equal, ok } from "node:assert/strict";
import { parseFlatGeobuf } from "../../../../shared/tiles/fgb_features.ts";
import { R2TileReader } from "../../../../shared/tiles/fgb_reader.ts";
import { bboxesIntersect, geometryBbox } from "../../../../shared/tiles/geometry_bbox.ts";
import { flatFromGeoJSON, type GeoJSONGeometry } from "../../../../wasm/geojson.ts";
import type { FlatGeometry } from "../../../../wasm/flat_geometry.ts";
import { MemoryBucket } from "./memory_bucket.ts";

const fixture = (name: string) => new URL(`../../../fixtures/${name}`, import.meta.url);

interface GeoJSONFeature {
  id: string | number;
  properties: Record<string, unknown>;
  geometry: GeoJSONGeometry;
}

function geojson(name: string): Map<string | number, GeoJSONFeature> {
  const collection = JSON.parse(Deno.readTextFileSync(fixture(`inputs/${name}`))) as { features: GeoJSONFeature[] };
  return new Map(collection.features.map((f) => [f.id, f]));
}

function coordinates(g: FlatGeometry): number[] {
  return [...g.xy, ...(g.parts ?? []).flatMap(coordinates)];
}

for (
  const [file, input, epsg] of [
    ["counties_sample.fgb", "counties_sample.geojson", 4326],
    ["counties_sample_3857.fgb", "counties_sample_3857.geojson", 3857],
    ["points_sample.fgb", "points_sample.geojson", 4326],
  ] as const
) {
  Deno.test(`GDAL's ${file} parses with every id, property and coordinate of ${input} (EPSG:${epsg})`, () => {
    const { header, features } = parseFlatGeobuf(Deno.readFileSync(fixture(`gdal/${file}`)));
    const expected = geojson(input);
    equal(header.epsg, epsg);
    equal(header.indexNodeSize, 16);
    equal(features.length, expected.size);
    deepEqual(new Set(features.map((f) => f.id)), new Set(expected.keys()));
    for (const feature of features) {
      const source = expected.get(feature.id)!;
      const { id: _id, ...properties } = Object.fromEntries(
        Object.entries(source.properties).filter(([, v]) => v !== null),
      );
      deepEqual(feature.properties, properties, `properties of ${feature.id}`);
      const want = coordinates(flatFromGeoJSON(source.geometry));
      const got = coordinates(feature.geometry);
      equal(got.length, want.length, `coordinates of ${feature.id}`);
      for (let i = 0; i < got.length; i++) ok(Math.abs(got[i]! - want[i]!) < 1e-9, `coordinate ${i} of ${feature.id}`);
    }
  });
}

Deno.test("R2TileReader searches GDAL's index with ranged reads like a brute-force filter", async () => {
  const bytes = Deno.readFileSync(fixture("gdal/points_sample.fgb"));
  const all = parseFlatGeobuf(bytes).features;
  const bucket = new MemoryBucket();
  await bucket.put("gdal.fgb", bytes);
  const reader = await R2TileReader.open(bucket, "gdal.fgb", { wholeObjectThreshold: 0, prefetchBytes: 2048 });
  const rect = [-105, 38, -103, 40] as const;
  const found = await reader.collect(rect);
  const expected = all.filter((f) => bboxesIntersect(geometryBbox(f.geometry)!, rect));
  ok(expected.length > 10);
  deepEqual(found.map((f) => f.id).sort(), expected.map((f) => f.id).sort());
  ok(reader.stats.bytesRead < bytes.length / 2);
});
