import { equal, ok } from "node:assert/strict";
import { cellToChildren, getRes0Cells } from "h3-js";
import { LIVE_WORK_SHARDS, liveWorkShardOf } from "../../../../shared/routing/live_work_shards.ts";

Deno.test("the live-work index shards spread H3 partitions evenly and keep each cell on one shard", () => {
  const cells = getRes0Cells().flatMap((c) => cellToChildren(c, 1));
  const counts = new Array<number>(LIVE_WORK_SHARDS).fill(0);
  for (const cell of cells) {
    const shard = liveWorkShardOf(cell);
    ok(shard >= 0 && shard < LIVE_WORK_SHARDS && Number.isInteger(shard), `${cell} → ${shard}`);
    equal(liveWorkShardOf(cell), shard);
    counts[shard]!++;
  }
  const mean = cells.length / LIVE_WORK_SHARDS;
  ok(Math.max(...counts) < 1.4 * mean && Math.min(...counts) > 0.6 * mean, `per shard: ${counts.join(", ")}`);
});
