import { deepEqual, equal, ok } from "node:assert/strict";
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

Deno.test("a run of a tile's features by position reads as the same slice of all of them, ranged from the index", async () => {
  const square = (i: number) => new Float64Array([i, 0, i + 1, 0, i + 1, 1, i, 1, i, 0]);
  const polygons: FlatFeature[] = Array.from({ length: 3000 }, (_, i) => ({
    id: i,
    geometry: { kind: "Polygon", xy: square(i * 1e-4) },
  }));
  for (const [features, kind] of [[points(5000), "points"], [polygons, "polygons"]] as const) {
    for (const wholeObjectThreshold of [1 << 22, 1024]) {
      const tile = await reader(features, wholeObjectThreshold);
      const all = await tile.all();
      const n = all.length;
      for (const [from, to] of [[0, n], [0, 1], [1234, 2345], [n - 7, n], [10, 10], [n - 1, n + 50]] as const) {
        const read = await tile.between(from, to);
        const expected = all.slice(from, to);
        const ids = Array.isArray(read) ? read.map((f) => f.id) : read.ids;
        deepEqual(ids, expected.map((f) => f.id), `${kind} ${from}…${to}`);
        const xy = Array.isArray(read) ? read.flatMap((f) => [...f.geometry.xy]) : [...read.xy];
        deepEqual(xy, expected.flatMap((f) => [...f.geometry.xy]), `${kind} ${from}…${to}`);
        equal(Array.isArray(read), kind === "polygons", "bare points come back as columns");
      }
      if (wholeObjectThreshold === 1024) {
        // A ranged tile: a tenth of its features costs about a tenth of its bytes, not the whole feature section.
        const before = tile.stats.bytesRead;
        await tile.between(Math.floor(n / 2), Math.floor(n / 2) + n / 10);
        const read = tile.stats.bytesRead - before;
        ok(read < tile.size / 5, `${kind}: read ${read} of ${tile.size} bytes for a tenth of the features`);
      }
    }
  }
});
