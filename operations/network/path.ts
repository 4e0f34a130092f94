/**
 * A search's path as a line: the travelled edges' lines in order, each already stored in travel direction,
 * joined as `ST_MakeLine` joins them (a joint point repeated exactly is kept once).
 */
import type { BlockCache } from "./block_cache.ts";
import type { DijkstraSearch } from "./dijkstra.ts";

/** Interleaved lon/lat of the path to `ref` (the search settled it); empty when `ref` is the origin. */
export async function pathLine(cache: BlockCache, search: DijkstraSearch, ref: number): Promise<Float64Array> {
  const out: number[] = [];
  for (const { block, edge } of search.pathEdges(ref)) {
    const lines = await cache.loadLines(block);
    const start = lines.geomOffsets[edge]!, end = lines.geomOffsets[edge + 1]!;
    for (let p = start; p < end; p++) {
      const x = lines.geomXY[2 * p]!, y = lines.geomXY[2 * p + 1]!;
      if (out.length > 0 && out[out.length - 2] === x && out[out.length - 1] === y) continue;
      out.push(x, y);
    }
  }
  return Float64Array.from(out);
}
