/**
 * Snapping points to vertices as the reference does: each point takes the geodesically nearest vertex (WGS84,
 * GeographicLib), ties to the smaller vertex id. The planar-nearest vertex of the nearest block bounds the
 * distance; every vertex in any block within that geodesic reach is then measured exactly.
 *
 * The blocks' vertices are scanned, not indexed: an R-tree per block (flatbush, 36 bytes a vertex: 18 MiB over the
 * generated million-edge network) cost more memory than the searches' own state, and scanning is no slower
 * (`scripts/bench/network_core.ts --origins 10 --budgets 64`, alternating: 2,000 points snapped in 0.59–0.62 s of CPU
 * scanning, 0.67–0.72 s with the trees).
 */
import { pointDistance, reachBoxes } from "../../wasm/geodesic.ts";
import type { BlockCache } from "./block_cache.ts";

export interface Snap {
  /** Packed vertex reference. */
  ref: number;
  vertexId: number;
  distance_m: number;
}

type Box = readonly [number, number, number, number];

const intersects = (a: Box, b: Box) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/** Squared planar distance in degrees from (x, y) to a box, longitudes scaled at the point's latitude. */
function boxDistance2(x: number, y: number, b: Box): number {
  const dx = Math.max(0, b[0] - x, x - b[2]) * Math.cos((y * Math.PI) / 180);
  const dy = Math.max(0, b[1] - y, y - b[3]);
  return dx * dx + dy * dy;
}

/** The nearest vertex of a non-empty network to (x, y). */
export async function snapPoint(cache: BlockCache, x: number, y: number): Promise<Snap> {
  const blocks = cache.layout.blocks;
  let first = 0;
  for (let b = 1; b < blocks.length; b++) {
    if (boxDistance2(x, y, blocks[b]!.bbox) < boxDistance2(x, y, blocks[first]!.bbox)) first = b;
  }
  const seed = (await cache.loadGraph(first)).lonlat;
  const scale = Math.cos((y * Math.PI) / 180);
  let nearest = 0, nearest2 = Infinity;
  for (let i = 0; i < seed.length; i += 2) {
    const dx = (seed[i]! - x) * scale, dy = seed[i + 1]! - y;
    const d2 = dx * dx + dy * dy;
    if (d2 < nearest2) nearest2 = d2, nearest = i;
  }
  const reach = pointDistance(x, y, seed[nearest]!, seed[nearest + 1]!);
  let best: Snap = { ref: 0, vertexId: Infinity, distance_m: Infinity };
  for (const box of reachBoxes([x, y, x, y], reach)) {
    const [minX, minY, maxX, maxY] = box;
    for (let b = 0; b < blocks.length; b++) {
      if (!intersects(blocks[b]!.bbox, box)) continue;
      const graph = await cache.loadGraph(b);
      const lonlat = graph.lonlat;
      for (let i = 0; i < lonlat.length; i += 2) {
        const vx = lonlat[i]!, vy = lonlat[i + 1]!;
        if (vx < minX || vx > maxX || vy < minY || vy > maxY) continue;
        const d = pointDistance(x, y, vx, vy);
        const id = graph.vertexIds[i >> 1]!;
        if (d < best.distance_m || (d === best.distance_m && id < best.vertexId)) {
          best = { ref: ((b << cache.layout.shift) | (i >> 1)) >>> 0, vertexId: id, distance_m: d };
        }
      }
    }
  }
  return best;
}
