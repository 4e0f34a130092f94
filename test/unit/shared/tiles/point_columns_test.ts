import { deepEqual, equal } from "node:assert/strict";
import { R2TileReader } from "../../../../shared/tiles/fgb_reader.ts";
import type { FgbRangeReader } from "../../../../shared/tiles/fgb_range_reader.ts";
import { buildTiles } from "../../../../shared/tiles/tiling.ts";
import type { FlatFeature } from "../../../../wasm/flat_geometry.ts";
import { MemoryBucket } from "./memory_bucket.ts";

const points = (n: number, properties?: (i: number) => Record<string, unknown>): FlatFeature[] =>
  Array.from({ length: n }, (_, i) => ({
    id: i % 3 ? i * 7 : `p${i}`,
    geometry: { kind: "Point" as const, xy: new Float64Array([-100 + (i % 40) * 0.013, 40 + i * 1e-4]) },
    ...(properties ? { properties: properties(i) } : {}),
  }));

async function reader(features: FlatFeature[], wholeObjectThreshold: number): Promise<FgbRangeReader> {
  const [tile] = buildTiles(features, 1, "datasets/x/");
  const bucket = new MemoryBucket();
  await bucket.put(tile!.entry.key, tile!.bytes);
  return await R2TileReader.open(bucket, tile!.entry.key, { size: tile!.entry.bytes, wholeObjectThreshold });
}

Deno.test("a tile of bare points reads as columns equal to its features, whole or ranged", async () => {
  for (const wholeObjectThreshold of [1 << 22, 1024]) {
    const tile = await reader(points(5000), wholeObjectThreshold);
    const features = await tile.all();
    const columns = (await tile.allPoints())!;
    deepEqual(columns.ids, features.map((f) => f.id));
    deepEqual([...columns.xy], features.flatMap((f) => [...f.geometry.xy]));
    equal(columns.ids.length, 5000);
  }
});

Deno.test("points with properties, and other geometries, are not read as columns", async () => {
  equal(await (await reader(points(10, (i) => ({ name: `n${i}` })), 1 << 20)).allPoints(), null);
  const square = new Float64Array([0, 0, 1, 0, 1, 1, 0, 1, 0, 0]);
  equal(await (await reader([{ id: 1, geometry: { kind: "Polygon", xy: square } }], 1 << 20)).allPoints(), null);
});
