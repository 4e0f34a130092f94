/**
 * Splits features into one FlatGeobuf tile per H3 cell they touch, and names
 * the objects in R2:
 *
 * ```
 * datasets/<name>/<upload id>/tiles/<cell>.fgb   a published version's immutable tiles
 * payloads/<request hash>/tiles/<cell>.fgb         a job payload's tiles (same bytes for the same payload)
 * ```
 *
 * A stored feature that touches more than its own tile's cell carries
 * `cells`, the sorted cells it touches (in the internal `_cells` column, apart
 * from the user's properties: stored_columns.ts): the executor's reference rule (a pair
 * belongs to the smallest cell both of its features touch) reads it instead of
 * covering geometries again. One that touches only its tile's cell (every
 * point) carries nothing: its cells are that one cell.
 *
 * @module
 */
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import { cellsForGeometry } from "../routing/h3_cover.ts";
import { type StoredFeature, writeFlatGeobuf, type WriteOptions } from "./fgb_writer.ts";
import { expandByBbox, geometryBbox } from "./geometry_bbox.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";
import { tileKey } from "../r2_keys.ts";

/** One tile as the manifest lists it. */
export interface TileManifestEntry {
  /** The H3 cell (at the partition resolution) the tile holds. */
  cell: string;
  /** The R2 key of the tile. */
  key: string;
  feature_count: number;
  /** The bbox of the tile's features (whole features, not clipped to the cell). */
  bbox: Bbox;
  /** The tile's size in bytes. */
  bytes: number;
}

/** A tile ready to upload: its manifest entry and its bytes. */
export interface BuiltTile {
  entry: TileManifestEntry;
  bytes: Uint8Array;
}

/** The sorted cells of a feature stored in the tile of `tileCell`. */
export function storedCells(feature: StoredFeature, tileCell: string): string[] {
  return feature.cells ? feature.cells.split(",") : [tileCell];
}

/**
 * Groups features by every H3 cell at `resolution` their geometry touches (so a feature spanning
 * cells is in each of their tiles), each such feature stamped with its `cells`. Cells come out sorted;
 * features keep their input order.
 */
export function splitByCell(features: readonly FlatFeature[], resolution: number): Map<string, StoredFeature[]> {
  const byCell = new Map<string, StoredFeature[]>();
  for (const feature of features) {
    const cells = cellsForGeometry(feature.geometry, resolution).sort();
    const stored = cells.length > 1 ? { ...feature, cells: cells.join(",") } : feature;
    for (const cell of cells) {
      let list = byCell.get(cell);
      if (!list) byCell.set(cell, list = []);
      list.push(stored);
    }
  }
  return new Map([...byCell].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Splits features into FlatGeobuf tiles (with their packed Hilbert R-tree) under `keyPrefix`, and
 * their manifest entries, sorted by cell.
 *
 * @example
 * ```ts
 * for (const { entry, bytes } of buildTiles(features, 2, "datasets/counties/6f1c…/")) await env.TILES.put(entry.key, bytes);
 * ```
 */
export function buildTiles(
  features: readonly FlatFeature[],
  resolution: number,
  keyPrefix: string,
  options: Omit<WriteOptions, "name"> = {},
): BuiltTile[] {
  const tiles: BuiltTile[] = [];
  for (const [cell, members] of splitByCell(features, resolution)) {
    const bytes = writeFlatGeobuf(members, { ...options, name: cell });
    const bbox: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
    for (const feature of members) expandByBbox(bbox, geometryBbox(feature.geometry)!);
    tiles.push({
      entry: { cell, key: tileKey(keyPrefix, cell), feature_count: members.length, bbox, bytes: bytes.length },
      bytes,
    });
  }
  return tiles;
}
