/** The catalog's merge of an upload's part tiles into the dataset's tiles, one cell at a time. */
import type { TileEntry } from "../../shared/dataset_manifest.ts";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import { type StoredFeature, writeFlatGeobuf } from "../../shared/tiles/fgb_writer.ts";
import { expandByBbox } from "../../shared/tiles/geometry_bbox.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";
import { tileKey } from "../../shared/r2_keys.ts";

/** Part tiles read at once while merging one cell. */
const READ_CONCURRENCY = 8;

/**
 * Merges the part tiles of each cell into one indexed FlatGeobuf tile under `<prefix>tiles/`:
 * one cell's features in memory at a time. Features keep part order (then their order within
 * the part), so a dataset sent as consecutive slices yields the tiles a single `PUT` would.
 * Keys are deterministic: running it again rewrites the same objects.
 */
export async function mergeUploadTiles(
  bucket: R2Bucket,
  prefix: string,
  parts: readonly { n: number; tiles: readonly TileEntry[] }[],
): Promise<TileEntry[]> {
  const byCell = new Map<string, TileEntry[]>();
  for (const part of [...parts].sort((a, b) => a.n - b.n)) {
    for (const tile of part.tiles) {
      let list = byCell.get(tile.cell);
      if (!list) byCell.set(tile.cell, list = []);
      list.push(tile);
    }
  }
  const cells = [...byCell.keys()].sort();
  const out: TileEntry[] = [];
  for (const cell of cells) {
    const sources = byCell.get(cell)!;
    const chunks: Uint8Array[] = new Array(sources.length);
    for (let i = 0; i < sources.length; i += READ_CONCURRENCY) {
      await Promise.all(
        sources.slice(i, i + READ_CONCURRENCY).map(async (tile, j) => {
          const object = await bucket.get(tile.key);
          if (!object) throw new Error(`Part tile "${tile.key}" is missing`);
          chunks[i + j] = new Uint8Array(await object.arrayBuffer());
        }),
      );
    }
    const features: StoredFeature[] = [];
    for (let i = 0; i < chunks.length; i++) {
      for (const f of parseFlatGeobuf(chunks[i]!, { storedColumns: true }).features) features.push(f);
      chunks[i] = new Uint8Array(0);
    }
    const bytes = writeFlatGeobuf(features, { name: cell });
    const bbox: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
    for (const s of sources) expandByBbox(bbox, s.bbox);
    const key = tileKey(prefix, cell);
    await bucket.put(key, bytes, { httpMetadata: { contentType: "application/flatgeobuf" } });
    out.push({ cell, key, feature_count: features.length, bbox, bytes: bytes.length });
  }
  return out;
}
