/** Writes one block's graph and lines objects under a version prefix; its tile entry points at the graph. */
import type { TileEntry } from "../dataset_manifest.ts";
import type { TileBucket } from "../tiles/fgb_reader.ts";
import { networkBlockKey } from "../r2_keys.ts";
import { encodeBlockGraph, encodeBlockLines } from "./block_codec.ts";
import type { NetworkBlock } from "./topology.ts";

export async function storeBlock(
  bucket: Pick<TileBucket, "put">,
  prefix: string,
  block: NetworkBlock,
): Promise<TileEntry> {
  const graph = encodeBlockGraph(block);
  const key = networkBlockKey(prefix, block.cell, "graph");
  await Promise.all([
    bucket.put(key, graph),
    bucket.put(networkBlockKey(prefix, block.cell, "lines"), encodeBlockLines(block)),
  ]);
  return { cell: block.cell, key, feature_count: block.vertexIds.length, bbox: block.bbox, bytes: graph.byteLength };
}
