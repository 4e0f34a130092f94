/** The two traversals a job asks for, from one origin vertex, over a network's blocks. */
import type { BlockCache } from "./block_cache.ts";
import { DijkstraSearch, type SettledVertices } from "./dijkstra.ts";
import { pathLine } from "./path.ts";
import { runSearch } from "./run_search.ts";

export interface Reached {
  cost: number;
  /** The path's line (interleaved lon/lat), when asked for. */
  line?: Float64Array;
}

/**
 * `pgr_dijkstraCost` from `origin` to each of `destinations` (packed references): the reached ones, keyed by
 * reference. The origin itself is never in the answer (pgRouting returns no row for start = end).
 */
export async function shortestPathsFrom(
  cache: BlockCache,
  origin: number,
  destinations: readonly number[],
  withLine: boolean,
): Promise<{ reached: Map<number, Reached>; work: number }> {
  const targets = destinations.filter((d) => d !== origin);
  const reached = new Map<number, Reached>();
  if (targets.length === 0) return { reached, work: 0 };
  const search = new DijkstraSearch(cache, origin, { targets, paths: withLine });
  try {
    await runSearch(cache, search, Infinity);
    for (const target of targets) {
      const cost = search.costTo(target);
      if (cost === undefined) continue;
      reached.set(target, withLine ? { cost, line: await pathLine(cache, search, target) } : { cost });
    }
    return { reached, work: search.work };
  } finally {
    search.release();
  }
}

/** A service area's vertices sorted by pgRouting id: ids, interleaved lon/lat, aggregate costs. */
export interface ServiceArea {
  vertexIds: Uint32Array;
  xy: Float64Array;
  costs: Float64Array;
}

/**
 * `pgr_drivingDistance` from `origin`: every vertex with `agg_cost <= maxCost`, the origin at 0 included, in
 * pgRouting's order (by vertex id).
 */
export async function serviceAreaFrom(
  cache: BlockCache,
  origin: number,
  maxCost: number,
): Promise<{ area: ServiceArea; work: number }> {
  const search = new DijkstraSearch(cache, origin, { maxCost, recordSettled: true });
  try {
    await runSearch(cache, search, Infinity);
    return { area: byVertexId(search.settled), work: search.work };
  } finally {
    search.release();
  }
}

function byVertexId(settled: SettledVertices): ServiceArea {
  const { vertexIds, xy, costs } = settled;
  const n = vertexIds.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => vertexIds[a]! - vertexIds[b]!);
  const area = { vertexIds: new Uint32Array(n), xy: new Float64Array(2 * n), costs: new Float64Array(n) };
  order.forEach((i, k) => {
    area.vertexIds[k] = vertexIds[i]!;
    area.xy[2 * k] = xy[2 * i]!;
    area.xy[2 * k + 1] = xy[2 * i + 1]!;
    area.costs[k] = costs[i]!;
  });
  return area;
}
