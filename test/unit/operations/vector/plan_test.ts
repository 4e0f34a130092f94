import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { cellToChildren, cellToParent, getResolution } from "h3-js";
import { cellWork, planPartitions, specForJob, specForPartition } from "../../../../operations/vector/plan.ts";
import { balancePartitions, groupPartitions } from "../../../../operations/partition_groups.ts";
import { canonicalJson, requestHash } from "../../../../shared/request_hash.ts";
import type { JobSpec, TileRef } from "../../../../shared/job_spec.ts";
import type { Bbox } from "../../../../shared/contract/common.ts";

const tile = (bbox: Bbox): TileRef => ({ key: "k", bbox, feature_count: 1, bytes: 1 });

Deno.test("partitions are the cells where both sides have a tile, sorted", () => {
  const left = { c3: tile([0, 0, 1, 1]), c1: tile([0, 0, 1, 1]), c2: tile([0, 0, 1, 1]) };
  const right = { c2: tile([0, 0, 1, 1]), c1: tile([0, 0, 1, 1]), c9: tile([0, 0, 1, 1]) };
  deepEqual(planPartitions(left, right, null), ["c1", "c2"]);
});

Deno.test("a bbox filter drops cells where either side's tile cannot reach it", () => {
  const left = { a: tile([0, 0, 1, 1]), b: tile([5, 5, 6, 6]) };
  const right = { a: tile([0, 0, 1, 1]), b: tile([0, 0, 10, 10]) };
  deepEqual(planPartitions(left, right, [0.5, 0.5, 2, 2]), ["a"]);
  deepEqual(planPartitions(left, right, [1, 1, 5, 5]), ["a", "b"], "touching boxes count, as PostGIS &&");
});

Deno.test("request fingerprints ignore key order and change with any value", async () => {
  equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
  equal(await requestHash({ a: 1, b: 2 }), await requestHash({ b: 2, a: 1 }));
  notEqual(await requestHash({ a: 1, b: 2 }), await requestHash({ a: 1, b: 3 }));
});

Deno.test("sparse sibling cells merge into their H3 parent while the group's bytes fit; dense cells stay", () => {
  // Two resolution-0 cells: all children of the first are light, one child of the second is heavy.
  const light = cellToChildren("8029fffffffffff", 1);
  const [heavy, ...rest] = cellToChildren("802bfffffffffff", 1);
  const bytes = new Map<string, number>([...light, ...rest].map((c) => [c, 100]));
  bytes.set(heavy!, 10_000);
  const cells = [...bytes.keys()].sort();
  const plan = groupPartitions(cells, (c) => bytes.get(c)!, 5_000);
  deepEqual(plan.partitions, ["8029fffffffffff", heavy!, ...rest].sort());
  deepEqual(plan.members["8029fffffffffff"], [...light].sort());
  deepEqual(plan.members[heavy!], [heavy]);
  deepEqual(Object.values(plan.members).flat().sort(), cells, "every tile cell runs in exactly one partition");
  const none = groupPartitions(cells, (c) => bytes.get(c)!, 0);
  deepEqual(none.partitions, cells, "0 bytes: one partition per tile cell");
  equal(groupPartitions(["8029fffffffffff"], () => 1, 10).partitions[0], "8029fffffffffff");
});

Deno.test("grouping climbs several levels and never nests a partition inside another", () => {
  const cells = cellToChildren("8029fffffffffff", 3).slice(0, 40).sort();
  const plan = groupPartitions(cells, () => 1, 1_000);
  equal(plan.partitions.length, 1, "40 light resolution-3 cells become one partition");
  const [only] = plan.partitions;
  ok(getResolution(only!) < 3 && cells.every((c) => cellToParent(c, getResolution(only!)) === only));
  const tight = groupPartitions(cells, () => 1, 7);
  for (const p of tight.partitions) {
    for (const q of tight.partitions) {
      if (p !== q) notEqual(cellToParent(q, Math.min(getResolution(q), getResolution(p))), p);
    }
  }
  deepEqual(Object.values(tight.members).flat().sort(), cells);
  ok(tight.partitions.length < cells.length, `${tight.partitions.length} partitions for ${cells.length} cells`);
});

Deno.test("balancePartitions splits partitions heavier than the median into named shards of the same cells", () => {
  const plan = { partitions: ["a", "b", "c"], members: { a: ["a1", "a2"], b: ["b"], c: ["c"] } };
  const work: Record<string, number> = { a: 30, b: 10, c: 10 };
  const balanced = balancePartitions(plan, (p) => ({ work: work[p]!, bytes: 1 }), 100);
  // Median 10 (the mean, 16.7, would leave shards of 15): a is worth 3 shards of 10; b and c stay whole.
  deepEqual(balanced.partitions, ["a", "a.1", "a.2", "b", "c"]);
  deepEqual(balanced.members, { a: ["a1", "a2"], "a.1": ["a1", "a2"], "a.2": ["a1", "a2"], b: ["b"], c: ["c"] });
  deepEqual(balanced.shards, { a: [0, 3], "a.1": [1, 3], "a.2": [2, 3] });
  // Mostly near-empty partitions: the target is half the mean, not their median.
  const sparse = { partitions: ["a", "b", "c", "d"], members: { a: ["a"], b: ["b"], c: ["c"], d: ["d"] } };
  const few: Record<string, number> = { a: 80, b: 1, c: 1, d: 1 };
  deepEqual(balancePartitions(sparse, (p) => ({ work: few[p]!, bytes: 1 }), 100).shards.a, [0, 8]);
});

Deno.test("balancePartitions packs light partitions together within the target work and the byte budget", () => {
  const plan = {
    partitions: ["a", "b", "c", "d", "e"],
    members: { a: ["a"], b: ["b"], c: ["c1", "c2"], d: ["d"], e: ["e"] },
  };
  const work: Record<string, number> = { a: 100, b: 100, c: 30, d: 10, e: 5 };
  // Median 30: a and b are worth three shards each, c stays whole, d and e (under half of it) share one pack.
  const balanced = balancePartitions(plan, (p) => ({ work: work[p]!, bytes: 1 }), 100);
  deepEqual(balanced.partitions, ["a", "a.1", "a.2", "b", "b.1", "b.2", "c", "d"]);
  deepEqual(balanced.members.c, ["c1", "c2"]);
  deepEqual(balanced.members.d, ["d", "e"]);
  const values = Object.values(balanced.members).flat().sort();
  deepEqual(values, ["a", "a", "a", "b", "b", "b", "c1", "c2", "d", "e"], "every cell in one pack or one shard set");
  const tight = balancePartitions(plan, (p) => ({ work: work[p]!, bytes: p === "d" ? 100 : 1 }), 100);
  deepEqual([tight.members.d, tight.members.e], [["d"], ["e"]], "a pack stays within the byte budget");
});

Deno.test("balancePartitions shards a partition over the byte budget, caps its shards, and is off without a budget", () => {
  const plan = { partitions: ["a"], members: { a: ["a"] } };
  equal(balancePartitions(plan, () => ({ work: 1, bytes: 1_000 }), 1, 4).partitions.length, 4);
  deepEqual(balancePartitions(plan, () => ({ work: 1, bytes: 1_000 }), 0), {
    partitions: ["a"],
    members: { a: ["a"] },
    shards: {},
  });
});

Deno.test("cellWork weighs polygons by features × both sides' vertices, and points by their count", () => {
  const points: TileRef = { key: "p", bbox: [0, 0, 1, 1], feature_count: 1_000, bytes: 138_700 };
  const polygons: TileRef = { key: "q", bbox: [0, 0, 1, 1], feature_count: 10, bytes: 10 * (120 + 16 * 200) };
  const squares: TileRef = { key: "s", bbox: [0, 0, 1, 1], feature_count: 100, bytes: 100 * (120 + 16 * 5) };
  equal(cellWork({ c: polygons }, { c: squares }, "c"), 110 * (200 + 5));
  // Against points, the polygons are visited once and each point costs the same: 32 units.
  equal(cellWork({ c: polygons }, { c: points }, "c"), 10 * 200 + 32 * 1_000);
  equal(cellWork({ c: points }, { c: polygons }, "c"), 10 * 200 + 32 * 1_000);
  // A hot cell of simple polygons outweighs a sparse cell of long coastlines with a tenth of its points (weighing
  // points by the polygons' vertices made the coast 32 times heavier).
  const coast: TileRef = { key: "k", bbox: [0, 0, 1, 1], feature_count: 10, bytes: 10 * (120 + 16 * 2_000) };
  const sparse: TileRef = { ...points, feature_count: 100, bytes: 13_870 };
  ok(cellWork({ c: squares }, { c: points }, "c") > cellWork({ c: coast }, { c: sparse }, "c"));
  equal(cellWork({ c: polygons }, {}, "c"), 10 * 200);
});

Deno.test("a job over thousands of cells is planned in at most 1,500 partitions, every cell in one", async () => {
  const { OPERATIONS } = await import("../../../../operations/mod.ts");
  const cells = cellToChildren("8029fffffffffff", 4).concat(cellToChildren("802bfffffffffff", 4)).sort();
  const tiles = cells.map((cell) => ({ cell, key: cell, bbox: [0, 0, 1, 1] as Bbox, feature_count: 10, bytes: 5_000 }));
  const manifest = {
    name: "grid",
    version: 1,
    owner_domain: "geo",
    classification: "public" as const,
    feature_count: 10 * cells.length,
    bbox: [0, 0, 1, 1] as Bbox,
    geometry_types: ["Polygon" as const],
    resolution: 3,
    repaired_count: 0,
    tiles,
    content_hash: "",
    etag: "",
    created_at: "",
    published_by: "",
  };
  const side = {
    kind: "dataset" as const,
    name: "l",
    version: 1,
    classification: "public",
    tiles: {} as Record<string, TileRef>,
  };
  for (const t of tiles) side.tiles[t.cell] = t;
  const plan = OPERATIONS.polygon_intersection!.plan({
    request: { spatial_operation: "polygon_intersection" } as never,
    left: { side, types: ["Polygon"], bbox: null },
    dataset: manifest,
    filter: null,
    groupBytes: 0,
  });
  ok(cells.length > 1_500 && plan.partitions.length <= 1_500, `${plan.partitions.length} for ${cells.length} cells`);
  deepEqual([...new Set(Object.values(plan.members).flat())].sort(), cells);
  // Shard k > 0 of a partition is named `<partition>.<k>` and runs its cells again, for another share.
  const owners = Object.entries(plan.members).filter(([p]) => !p.includes(".")).flatMap(([, m]) => m);
  equal(owners.length, cells.length, "no cell in two partitions but a partition's shards");
});

Deno.test("a job's spec keeps the tiles its partitions read, and each partition's share is the same as from the whole plan", () => {
  const sides = (cells: string[], x0: number) =>
    Object.fromEntries(cells.map((c, i) => [c, tile([x0 + i, 0, x0 + i + 0.5, 0.5])]));
  const whole = {
    operation: "polygon_intersection",
    bbox: null,
    left: { kind: "payload", key: "p/", tiles: sides(["a", "b", "c"], 0) },
    right: {
      kind: "dataset",
      name: "d",
      version: 1,
      classification: "public",
      tiles: sides(["a", "b", "c", "d", "e"], 0),
    },
    partitions: ["g", "b"],
    members: { g: ["a"], b: ["b"] },
  } as unknown as JobSpec;
  const kept = specForJob(whole);
  deepEqual(Object.keys(kept.right.tiles).sort(), ["a", "b"]);
  deepEqual(Object.keys(kept.left.tiles).sort(), ["a", "b"]);
  for (const cell of whole.partitions) deepEqual(specForPartition(kept, cell), specForPartition(whole, cell));
  deepEqual(specForJob({ ...whole, partitions: [], members: {} }).right.tiles, {}, "no partition reads no tile");

  // dwithin: left tiles within reach of the kept right tiles (60 km past a's east edge reaches b, 0.5° away, not c).
  const near = { ...whole, operation: "spatial_join", predicate: "dwithin", distance_m: 60_000 } as JobSpec;
  const reached = specForJob({ ...near, partitions: ["g"], members: { g: ["a"] } });
  deepEqual(Object.keys(reached.right.tiles), ["a"]);
  deepEqual(Object.keys(reached.left.tiles).sort(), ["a", "b"]);
  deepEqual(
    specForPartition(reached, "g"),
    specForPartition({ ...near, partitions: ["g"], members: { g: ["a"] } }, "g"),
  );
});
