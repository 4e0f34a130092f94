/**
 * Snapping points to vertices as the reference does: each point takes the geodesically nearest vertex (WGS84,
 * GeographicLib), ties to the smaller vertex id. A first candidate from the nearest block's R-tree bounds the
 * distance; every vertex in any block within that geodesic reach is then measured exactly.
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
  const seed = await cache.vertexIndex(first);
  const [local] = seed.index.neighbors(x, y, 1);
  const reach = pointDistance(x, y, seed.graph.lonlat[2 * local!]!, seed.graph.lonlat[2 * local! + 1]!);
  let best: Snap = { ref: 0, vertexId: Infinity, distance_m: Infinity };
  for (const box of reachBoxes([x, y, x, y], reach)) {
    for (let b = 0; b < blocks.length; b++) {
      if (!intersects(blocks[b]!.bbox, box)) continue;
      const { graph, index } = await cache.vertexIndex(b);
      for (const i of index.search(box[0], box[1], box[2], box[3])) {
        const d = pointDistance(x, y, graph.lonlat[2 * i]!, graph.lonlat[2 * i + 1]!);
        const id = graph.vertexIds[i]!;
        if (d < best.distance_m || (d === best.distance_m && id < best.vertexId)) {
          best = { ref: ((b << cache.layout.shift) | i) >>> 0, vertexId: id, distance_m: d };
        }
      }
    }
  }
  return best;
}
