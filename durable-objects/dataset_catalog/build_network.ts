/**
 * The catalog's build of a multipart network upload (shared/network/staged_edges.ts parts) into the blocks a
 * single `PUT` would store, within a Durable Object's 128 MB: the vertex numbering, components and block layout
 * need only typed arrays over the endpoints (about 50 bytes per edge), and the blocks are then built a batch of
 * blocks at a time (at most one block's worth of vertices, about 25 MB of directions and lines at the default
 * 65,536), each pass reading the parts again and copying only the edges that leave the batch.
 */
import type { TileEntry } from "../../shared/dataset_manifest.ts";
import type { TileBucket } from "../../shared/tiles/fgb_reader.ts";
import { stagedEdges } from "../../shared/network/staged_edges.ts";
import { storeBlock } from "../../shared/network/store_block.ts";
import {
  blockLayout,
  buildBlock,
  countComponents,
  type Direction,
  numberVertices,
} from "../../shared/network/topology.ts";

const UPLOAD_CONCURRENCY = 4;

export interface StagedNetworkPart {
  n: number;
  feature_count: number;
  edges_key: string;
}

export interface BuiltNetwork {
  tiles: TileEntry[];
  vertex_count: number;
  edge_count: number;
  component_count: number;
  resolution: number;
  shift: number;
}

export async function buildUploadNetwork(
  bucket: Pick<TileBucket, "get" | "put">,
  prefix: string,
  unsorted: readonly StagedNetworkPart[],
  options: { snapM: number; baseResolution: number; maxBlockVertices: number },
): Promise<BuiltNetwork> {
  const parts = [...unsorted].sort((a, b) => a.n - b.n);
  const read = async (part: StagedNetworkPart) => {
    const object = await bucket.get(part.edges_key);
    if (!object) throw new Error(`Staged part "${part.edges_key}" is missing`);
    return await object.arrayBuffer();
  };
  const edgeCount = parts.reduce((n, p) => n + p.feature_count, 0);

  let ends: Float64Array | null = new Float64Array(edgeCount * 4);
  const usable = new Uint8Array(edgeCount);
  let g = 0;
  for (const part of parts) {
    for (const edge of stagedEdges(await read(part))) {
      const last = edge.xy.length - 2;
      ends[4 * g] = edge.xy[0]!, ends[4 * g + 1] = edge.xy[1]!;
      ends[4 * g + 2] = edge.xy[last]!, ends[4 * g + 3] = edge.xy[last + 1]!;
      usable[g++] = edge.cost >= 0 || edge.reverse_cost >= 0 ? 1 : 0;
    }
  }
  if (g !== edgeCount) throw new Error(`The staged parts hold ${g} edges, not ${edgeCount}`);
  const { source, target, lonlat } = numberVertices(ends, options.snapM);
  ends = null;
  const vertexCount = lonlat.length / 2;
  const componentCount = countComponents(vertexCount, source, target, (i) => usable[i] === 1);
  const layout = blockLayout(lonlat, options.baseResolution, options.maxBlockVertices);
  const blockOf = (v: number) => layout.ref[v]! >>> layout.shift;

  const tiles: TileEntry[] = [];
  for (let first = 0; first < layout.cells.length;) {
    let end = first + 1;
    while (
      end < layout.cells.length && layout.starts[end + 1]! - layout.starts[first]! <= options.maxBlockVertices
    ) end++;
    const leaving = new Map<number, Direction[]>();
    const add = (tail: number, direction: Direction) => {
      const list = leaving.get(tail);
      if (list) list.push(direction);
      else leaving.set(tail, [direction]);
    };
    let i = 0;
    for (const part of parts) {
      for (const edge of stagedEdges(await read(part))) {
        const s = source[i]!, t = target[i++]!;
        if (s === t) continue;
        const forward = edge.cost >= 0 && blockOf(s) >= first && blockOf(s) < end;
        const backward = edge.reverse_cost >= 0 && blockOf(t) >= first && blockOf(t) < end;
        if (!forward && !backward) continue;
        const xy = edge.xy.slice();
        if (forward) add(s, { head: t, cost: edge.cost, xy, reversed: false });
        if (backward) add(t, { head: s, cost: edge.reverse_cost, xy, reversed: true });
      }
    }
    const none: Direction[] = [];
    for (let b = first; b < end; b += UPLOAD_CONCURRENCY) {
      const stored = await Promise.all(
        Array.from({ length: Math.min(UPLOAD_CONCURRENCY, end - b) }, (_, k) =>
          storeBlock(
            bucket,
            prefix,
            buildBlock(
              layout.cells[b + k]!,
              layout.members.subarray(layout.starts[b + k]!, layout.starts[b + k + 1]!),
              lonlat,
              layout.ref,
              (v) => leaving.get(v) ?? none,
            ),
          )),
      );
      tiles.push(...stored);
    }
    first = end;
  }
  return {
    tiles,
    vertex_count: vertexCount,
    edge_count: edgeCount,
    component_count: componentCount,
    resolution: layout.resolution,
    shift: layout.shift,
  };
}
