import { deepEqual } from "node:assert/strict";
import { compareRows, RowHeap } from "../../../../durable-objects/partition_ledger/result_order.ts";
import type { ResultRow } from "../../../../shared/job_spec.ts";

const row = (l: string | number, r: string | number): ResultRow => ({
  l,
  r,
  g: { kind: "Point", xy: new Float64Array([0, 0]) },
});

/** What the commit's k-way merge does with part cursors, over arrays. */
function mergeSorted(lists: ResultRow[][]): ResultRow[] {
  const cursors = lists.filter((l) => l.length).map((rows) => ({ rows, at: 0, ...rows[0]! }));
  const heap = new RowHeap(cursors);
  const out: ResultRow[] = [];
  while (heap.size) {
    const top = heap.top();
    out.push(top.rows[top.at]!);
    if (++top.at < top.rows.length) {
      Object.assign(top, top.rows[top.at]!);
      heap.replaceTop();
    } else heap.pop();
  }
  return out;
}

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

Deno.test("the heap merge of many sorted partitions equals one sort of all their rows", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const id = () => (random() < 0.3 ? `s${Math.floor(random() * 50)}` : Math.floor(random() * 50));
  const lists = Array.from(
    { length: 40 },
    () => Array.from({ length: Math.floor(random() * 60) }, () => row(id(), id())).sort(compareRows),
  );
  deepEqual(mergeSorted(lists).map((r) => [r.l, r.r]), lists.flat().sort(compareRows).map((r) => [r.l, r.r]));
});
