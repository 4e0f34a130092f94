import { deepEqual, equal } from "node:assert/strict";
import { R2TileReader } from "../../../../shared/tiles/fgb_reader.ts";
import { fromBase64, toBase64 } from "../../../../shared/base64.ts";
import { inlineTileBucket } from "../../../../shared/tiles/inline_tile.ts";
import { buildTiles } from "../../../../shared/tiles/tiling.ts";
import type { FlatFeature } from "../../../../wasm/flat_geometry.ts";
import { MemoryBucket } from "./memory_bucket.ts";

Deno.test("base64 round trip of every byte value, across the encoder's 32 KiB chunks", () => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 31 + 7) % 256);
  deepEqual(fromBase64(toBase64(bytes)), bytes);
  equal(toBase64(new Uint8Array([0, 255, 128])), "AP+A");
});

Deno.test("an inline tile reads like the same tile in R2: whole, ranged and filtered", async () => {
  const features: FlatFeature[] = Array.from({ length: 300 }, (_, i) => ({
    id: i,
    geometry: {
      kind: "Point" as const,
      xy: new Float64Array([-100 + (i % 20) * 0.01, 40 + Math.floor(i / 20) * 0.01]),
    },
    properties: { n: i },
  }));
  const [tile] = buildTiles(features, 1, "payloads/x/");
  const r2 = new MemoryBucket();
  await r2.put(tile!.entry.key, tile!.bytes);
  const inline = inlineTileBucket(toBase64(tile!.bytes));
  const box = [-99.95, 40.02, -99.9, 40.05] as const;
  for (const wholeObjectThreshold of [1 << 20, 256]) {
    const options = { size: tile!.entry.bytes, wholeObjectThreshold, prefetchBytes: 512 };
    const fromR2 = await R2TileReader.open(r2, tile!.entry.key, options);
    const fromSpec = await R2TileReader.open(inline, tile!.entry.key, options);
    equal(fromSpec.mode, fromR2.mode);
    deepEqual(await fromSpec.all(), await fromR2.all());
    const hits = await fromSpec.collect(box);
    deepEqual(hits, await fromR2.collect(box));
    equal(hits.length, 24, "6 columns × 4 rows of the grid in the box");
  }
});
