import { deepEqual, equal, notEqual } from "node:assert/strict";
import { canonicalJson, planPartitions, requestHash } from "../../../src/jobs/plan.ts";
import type { Bbox, TileRef } from "../../../durable-objects/partition_ledger/job_spec.ts";

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
