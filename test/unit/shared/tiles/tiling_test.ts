import { deepEqual, equal, ok } from "node:assert/strict";
import { latLngToCell } from "h3-js";
import { buildTiles, splitByCell, storedCells } from "../../../../shared/tiles/tiling.ts";
import { parseFlatGeobuf } from "../../../../shared/tiles/fgb_features.ts";
import type { FlatFeature } from "../../../../wasm/flat_geometry.ts";

const f64 = (...v: number[]) => new Float64Array(v);

Deno.test("a feature spanning two cells goes into both tiles; the manifest entries describe each tile", () => {
  const a = latLngToCell(40.7, -74, 2), b = latLngToCell(40.7, -70, 2);
  ok(a !== b);
  const features: FlatFeature[] = [
    { id: 1, geometry: { kind: "Point", xy: f64(-74, 40.7) } },
    { id: 2, geometry: { kind: "LineString", xy: f64(-74, 40.7, -70, 40.7) }, properties: { name: "span" } },
    { id: 3, geometry: { kind: "Point", xy: f64(-70, 40.7) } },
  ];
  const byCell = splitByCell(features, 2);
  deepEqual(byCell.get(a)!.map((f) => f.id), [1, 2]);
  deepEqual(byCell.get(b)!.map((f) => f.id), [2, 3]);
  deepEqual(storedCells(byCell.get(a)![1]!, a), [a, b].sort(), "a feature spanning cells lists every cell it touches");
  equal(byCell.get(a)![0]!.properties, undefined, "a feature inside one cell carries nothing");
  deepEqual(storedCells(byCell.get(a)![0]!, a), [a], "its cells are its tile's");
  const tiles = buildTiles(features, 2, "datasets/roads/u1/");
  deepEqual(tiles.map((t) => t.entry.cell), [...byCell.keys()]);
  for (const { entry, bytes } of tiles) {
    equal(entry.key, `datasets/roads/u1/tiles/${entry.cell}.fgb`);
    equal(entry.bytes, bytes.length);
    const back = parseFlatGeobuf(bytes).features;
    equal(entry.feature_count, back.length);
    deepEqual(back.map((f) => f.id).sort(), byCell.get(entry.cell)!.map((f) => f.id).sort());
  }
  const tileA = tiles.find((t) => t.entry.cell === a)!;
  deepEqual(tileA.entry.bbox, [-74, 40.7, -70, 40.7]);
});
