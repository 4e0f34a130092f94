import { deepEqual } from "node:assert/strict";
import { mergeSorted } from "../../../durable-objects/partition_ledger/result_order.ts";
import type { ResultRow } from "../../../durable-objects/partition_ledger/job_spec.ts";

const row = (l: string | number, r: string | number): ResultRow => ({
  l,
  r,
  g: { kind: "Point", xy: new Float64Array([0, 0]) },
});

Deno.test("partition outputs merge in (left_id, right_id) order: numbers before strings, numbers numerically", () => {
  const merged = mergeSorted([
    [row(2, "b"), row(10, "a"), row("a", 1)],
    [row(2, "a"), row(9, "z"), row("B", 3)],
    [],
    [row(1, 1), row("a", 0)],
  ]);
  deepEqual(merged.map((r) => [r.l, r.r]), [[1, 1], [2, "a"], [2, "b"], [9, "z"], [10, "a"], ["B", 3], ["a", 0], [
    "a",
    1,
  ]]);
});
