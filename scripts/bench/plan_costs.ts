/**
 * A vector job's plan against what its partitions cost, in process: J1's inputs (counties × n points, uniform,
 * skewed or over land, as bench:e2e makes them) tiled as publishing tiles them, planned by the operation, then each
 * partition read, computed and staged on this thread one after another, timed. Partitions run concurrently when
 * deployed (one isolate each), so the slowest one is the job's critical path; here no other partition, isolate or
 * the R2 emulation shares its thread, so its time is its own.
 *
 * `deno task bench:plan [--points 1000000] [--set uniform|skewed|land] [--group-bytes 8388608]`
 */
import { parseArgs } from "node:util";
import { OPERATIONS } from "../../operations/mod.ts";
import { buildTiles } from "../../shared/tiles/tiling.ts";
import type { JobSpec, TileRef } from "../../shared/job_spec.ts";
import { encodePart } from "../../durable-objects/partition_ledger/part_codec.ts";
import { flatFromGeoJSON } from "../../wasm/geojson.ts";
import { loadGeometryCore } from "../../wasm/mod.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import { denoWasmModules } from "../../test/unit/wasm/load_core.ts";
import { MemoryBucket } from "../../test/unit/shared/tiles/memory_bucket.ts";
import * as data from "./datasets.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    points: { type: "string", default: "1000000" },
    set: { type: "string", default: "skewed" },
    "group-bytes": { type: "string", default: "8388608" },
  },
});
const n = Number(flags.points);
const RESOLUTION = 1;
const SLICE_WORK_UNITS = 2_000_000;
const features = { uniform: data.points, skewed: data.skewedPoints, land: data.landPoints }[flags.set as "skewed"](n);
const flat = (fs: data.Feature[]): FlatFeature[] =>
  fs.map((f) => ({ id: f.id, geometry: flatFromGeoJSON(f.geometry as never) }));

const bucket = new MemoryBucket();
async function side(fs: FlatFeature[], prefix: string): Promise<Record<string, TileRef>> {
  const tiles: Record<string, TileRef> = {};
  for (const { entry, bytes } of buildTiles(fs, RESOLUTION, prefix)) {
    await bucket.put(entry.key, bytes);
    tiles[entry.cell] = entry;
  }
  return tiles;
}
const left = await side(flat(data.counties()), "l/");
const right = await side(flat(features), "r/");
const operation = OPERATIONS.point_in_polygon!;
const dataset = {
  name: "pts",
  version: 1,
  geometry_types: ["Point"],
  resolution: RESOLUTION,
  tiles: Object.entries(right).map(([cell, t]) => ({ cell, ...t })),
};
const leftSide = { kind: "dataset" as const, name: "counties", version: 1, classification: "public", tiles: left };
const plan = operation.plan({
  request: { spatial_operation: "point_in_polygon" } as never,
  left: { side: leftSide, types: ["Polygon", "MultiPolygon"], bbox: null },
  dataset: dataset as never,
  filter: null,
  groupBytes: Number(flags["group-bytes"]),
});
const spec = {
  job_id: "plan-costs",
  operation: "point_in_polygon",
  bbox: null,
  left: leftSide,
  ...plan.params,
  right: plan.right,
  partitions: plan.partitions,
  members: plan.members,
} as unknown as JobSpec;

const core = await loadGeometryCore(await denoWasmModules());
const world: Bbox[] = [[-180, -90, 180, 90]];
interface Ms {
  read: number;
  index: number;
  compute: number;
  write: number;
}
let rows: { partition: string; work: number; pairs: number; ms: Ms }[] = [];
// Two passes, the second reported: the first also pays for compiling the code and growing the GEOS heap.
for (const pass of [1, 2]) {
  rows = [];
  for (const partition of plan.partitions) {
    const task = {
      job_id: spec.job_id,
      attempt: 0,
      cell: partition,
      spec: operation.specForPartition(spec, partition),
    };
    const ms: Ms = { read: 0, index: 0, compute: 0, write: 0 };
    let [offset, work, pairs, done] = [0, 0, 0, false];
    while (!done) {
      const started = performance.now();
      const slice = await operation.runSlice({
        bucket,
        task: { ...task, next_offset: offset, stats: {} },
        window: world,
        workBudget: SLICE_WORK_UNITS,
        maxRows: 50_000,
        geometryCore: () => Promise.resolve(core),
      });
      const read = (slice.stats.read_ms ?? 0) + (slice.stats.index_ms ?? 0);
      ms.read += slice.stats.read_ms ?? 0;
      ms.index += slice.stats.index_ms ?? 0;
      ms.compute += performance.now() - started - read;
      const writeStarted = performance.now();
      if (slice.rows.length) encodePart(slice.rows);
      ms.write += performance.now() - writeStarted;
      [offset, done] = [slice.next_offset, slice.done];
      work += slice.stats.work ?? 0;
      pairs += slice.rows.length;
    }
    rows.push({ partition, work, pairs, ms });
  }
  if (pass === 1) {
    console.log(
      `pass 1: ${rows.reduce((t, r) => t + r.ms.read + r.ms.index + r.ms.compute + r.ms.write, 0).toFixed(0)} ms`,
    );
  }
}
const total = (r: (typeof rows)[number]) => r.ms.read + r.ms.index + r.ms.compute + r.ms.write;
const sorted = [...rows].sort((a, b) => total(b) - total(a));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
console.log(
  `J1 ${n} ${flags.set} points: ${rows.length} partitions (${Object.keys(plan.params.shards ?? {}).length} shards), ` +
    `pairs ${rows.reduce((s, r) => s + r.pairs, 0)}, load ${Deno.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
);
const works = rows.map((r) => r.work), times = rows.map(total), pairs = rows.map((r) => r.pairs);
console.log(
  `work max/median ${(Math.max(...works) / median(works)).toFixed(2)}; pairs max/median ${
    (Math.max(...pairs) / median(pairs)).toFixed(2)
  }; ms max/median ${(Math.max(...times) / median(times)).toFixed(2)}; critical path ${
    Math.max(...times).toFixed(0)
  } ms; Σ ${times.reduce((a, b) => a + b, 0).toFixed(0)} ms`,
);
console.log("partition            members shard  work      pairs    read  index  compute  write  total ms");
for (const r of sorted) {
  const shard = (plan.params.shards as Record<string, number[]> | undefined)?.[r.partition];
  console.log(
    [
      r.partition.padEnd(20),
      String(plan.members[r.partition]!.length).padStart(7),
      (shard ? shard.join("/") : "").padStart(6),
      String(r.work).padStart(9),
      String(r.pairs).padStart(8),
      ...[r.ms.read, r.ms.index, r.ms.compute, r.ms.write, total(r)].map((v) => v.toFixed(0).padStart(7)),
    ].join(" "),
  );
}
