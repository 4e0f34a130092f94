/**
 * The search's reused state and the block cache's bound: what keeps a network job's memory small must not change
 * its answers (those are compared with pgRouting's in traversal_test.ts).
 */
import { deepEqual, ok, throws } from "node:assert/strict";
import { DijkstraSearch } from "../../../../operations/network/dijkstra.ts";
import { runSearch } from "../../../../operations/network/run_search.ts";
import { snapPoint } from "../../../../operations/network/snap.ts";
import { BlockBudget, BlockCache } from "../../../../operations/network/block_cache.ts";
import { loadNetwork, readFeatures } from "./fixture_network.ts";

async function snappedRefs(cache: BlockCache, file: string): Promise<number[]> {
  const refs = [];
  for (const p of await readFeatures(file)) {
    const [x, y] = p.geometry.coordinates as number[];
    refs.push((await snapPoint(cache, x!, y!)).ref);
  }
  return refs;
}

async function costs(cache: BlockCache, origin: number, targets: number[], paths: boolean) {
  const search = new DijkstraSearch(cache, origin, { targets, paths });
  try {
    await runSearch(cache, search, Infinity);
    return {
      costs: targets.map((t) => search.costTo(t) ?? null),
      pathLengths: paths ? targets.map((t) => search.costTo(t) === undefined ? -1 : search.pathEdges(t).length) : [],
    };
  } finally {
    search.release();
  }
}

Deno.test("a search without predecessors gives the same costs as one with them, and refuses to give a path", async () => {
  const net = await loadNetwork("osm_gothenburg_edges.geojson.gz", { maxBlockVertices: 2000 });
  const origins = (await snappedRefs(net.cache, "points_osm_origins.geojson")).slice(0, 10);
  const targets = await snappedRefs(net.cache, "points_osm_destinations.geojson");
  let reached = 0;
  for (const origin of origins) {
    const without = await costs(net.cache, origin, targets, false);
    const withPaths = await costs(net.cache, origin, targets, true);
    deepEqual(without.costs, withPaths.costs);
    reached += without.costs.filter((c) => c !== null).length;
    ok(withPaths.pathLengths.some((n) => n > 0), "the search with predecessors gives paths");
  }
  ok(reached > 500, `${reached} pairs reached`);
  const search = new DijkstraSearch(net.cache, origins[0]!, { targets });
  await runSearch(net.cache, search, Infinity);
  throws(() => search.pathEdges(targets.find((t) => search.costTo(t) !== undefined)!), TypeError);
  search.release();
});

Deno.test("a reused search state forgets the last search's targets and stamps, across the 16-bit epoch wrap", async () => {
  const net = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100 });
  const fresh = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100 });
  const points = await snappedRefs(net.cache, "points_small.geojson");
  const [a, b] = [points.slice(0, 25), points.slice(25, 50)];
  // A's targets marked, then released: B's search must stop at B's targets only, not count A's.
  const want = await costs(fresh.cache, b[0]!, b, false);
  await costs(net.cache, a[0]!, a, false);
  deepEqual((await costs(net.cache, b[0]!, b, false)).costs, want.costs);
  // 32,766 searches later the stamps are cleared and counted from 1 again; answers stay those of a fresh state.
  for (let i = 0; i < 32_770; i++) {
    const search = new DijkstraSearch(net.cache, points[i % points.length]!, { maxCost: 0 });
    await runSearch(net.cache, search, Infinity);
    search.release();
  }
  deepEqual((await costs(net.cache, b[0]!, b, false)).costs, want.costs);
});

Deno.test("the block cache keeps its blocks within its budget beside the newest one, dropping the least recently used", async () => {
  const whole = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100 });
  const blocks = whole.topology.blocks.length;
  ok(blocks >= 10, `${blocks} blocks`);
  for (let b = 0; b < blocks; b++) await whole.cache.loadGraph(b);
  const sizes = whole.cache.stats.block_bytes_read / blocks;
  const budget = Math.floor(3 * sizes);
  const net = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100, budgetBytes: budget });
  let largest = 0;
  for (let b = 0; b < blocks; b++) {
    const before = net.cache.stats.block_bytes_read;
    await net.cache.loadGraph(b);
    largest = Math.max(largest, net.cache.stats.block_bytes_read - before);
    ok(net.cache.graph(0), "block 0, used before each load, stays");
  }
  ok(
    net.cache.stats.peak_block_bytes <= budget + largest,
    `peak ${net.cache.stats.peak_block_bytes} ≤ ${budget} + ${largest}`,
  );
  deepEqual(net.cache.graph(1), undefined, "block 1, not used since, was dropped");
  const reads = net.cache.stats.block_reads;
  await net.cache.loadGraph(1);
  deepEqual(net.cache.stats.block_reads, reads + 1, "a dropped block is read again");
  deepEqual(whole.cache.stats.block_reads, blocks, "a budget over the network reads each block once");
});

Deno.test("networks in one isolate share one block budget: a load drops the least recently used block of any network", async () => {
  const a = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100 });
  const b = await loadNetwork("cases_edges.geojson");
  const graphBytes = async (net: typeof a, block: number) => (await net.cache.loadGraph(block)).costs.buffer.byteLength;
  const sizeA0 = await graphBytes(a, 0), sizeA1 = await graphBytes(a, 1), sizeB0 = await graphBytes(b, 0);
  const budget = new BlockBudget(sizeA0 + sizeA1 + sizeB0 - 1);
  const read = (net: typeof a) => (block: number, part: "graph" | "lines") =>
    part === "graph"
      ? net.cache.loadGraph(block).then((g) => new Uint8Array(g.costs.buffer.slice(0)))
      : Promise.reject();
  const cacheA = new BlockCache(a.cache.layout, read(a), budget);
  const cacheB = new BlockCache(b.cache.layout, read(b), budget);
  await cacheA.loadGraph(0);
  await cacheB.loadGraph(0);
  await cacheA.loadGraph(1);
  deepEqual(cacheA.graph(0), undefined, "A's block 0, the least recently used of both networks, was dropped");
  ok(cacheB.graph(0) && cacheA.graph(1), "the others stay");
  ok(budget.heldBytes <= budget.maxBytes, `${budget.heldBytes} ≤ ${budget.maxBytes}`);
  budget.leave(cacheB);
  deepEqual(budget.heldBytes, sizeA1, "a network that leaves no longer counts");
  await cacheB.loadGraph(0);
  deepEqual(budget.heldBytes, sizeA1, "nor what it loads after");
});
