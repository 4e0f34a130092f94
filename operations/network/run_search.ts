/** Drives a search to its end (or its work budget), loading the blocks it reaches. */
import type { BlockCache } from "./block_cache.ts";
import type { DijkstraSearch } from "./dijkstra.ts";

/** true when the search finished; false when `budget` work units ran out first. */
export async function runSearch(cache: BlockCache, search: DijkstraSearch, budget: number): Promise<boolean> {
  const stop = search.work + budget;
  for (;;) {
    const step = search.advance(Math.max(0, stop - search.work));
    if (step.state === "done") return true;
    if (step.state === "paused") return false;
    await cache.loadGraph(step.block);
  }
}
