/**
 * Splits a dataset into one FlatGeobuf tile per H3 cell, and names the objects in R2:
 *
 * ```
 * datasets/<name>/v<version>/tiles/<cell>.fgb   immutable tiles
 * datasets/<name>/v<version>/manifest.json      the version's manifest
 * ```
 *
 * A version directory is written once and never rewritten; a new publish is a new version.
 *
 * @module
 */
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import { addGeometryCells } from "../routing/h3_cover.ts";
import { writeFlatGeobuf, type WriteOptions } from "./fgb_writer.ts";
import { type BBox, expandByBBox, geometryBBox } from "./geometry_bbox.ts";

/** One tile as the manifest lists it. */
export interface TileManifestEntry {
  /** The H3 cell (at the partition resolution) the tile holds. */
  cell: string;
  /** The R2 key of the tile. */
  key: string;
  feature_count: number;
  /** The bbox of the tile's features (whole features, not clipped to the cell). */
  bbox: BBox;
  /** The tile's size in bytes. */
  bytes: number;
}

/** A tile ready to upload: its manifest entry and its bytes. */
export interface BuiltTile {
  entry: TileManifestEntry;
  bytes: Uint8Array;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function checkDataset(name: string, version: number): void {
  if (!NAME.test(name) || name.includes("..")) {
    throw new RangeError(`Dataset name "${name}" is invalid; use 1-128 of [A-Za-z0-9._-], starting alphanumeric`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RangeError(`Dataset version ${version} is invalid; versions are integers from 1`);
  }
}

/** `datasets/<name>/v<version>/`: the immutable directory of one version. */
export function datasetVersionPrefix(name: string, version: number): string {
  checkDataset(name, version);
  return `datasets/${name}/v${version}/`;
}

/** `datasets/<name>/v<version>/tiles/<cell>.fgb`. */
export function tileKey(name: string, version: number, cell: string): string {
  if (!/^[0-9a-f]{15}$/.test(cell)) throw new RangeError(`Cell "${cell}" is not an H3 cell index`);
  return `${datasetVersionPrefix(name, version)}tiles/${cell}.fgb`;
}

/** `datasets/<name>/v<version>/manifest.json`. */
export function manifestKey(name: string, version: number): string {
  return `${datasetVersionPrefix(name, version)}manifest.json`;
}

/**
 * Groups features by every H3 cell at `resolution` their geometry touches (so a feature spanning
 * cells is in each of their tiles). Cells come out sorted; features keep their input order.
 */
export function splitByCell(features: readonly FlatFeature[], resolution: number): Map<string, FlatFeature[]> {
  const byCell = new Map<string, FlatFeature[]>();
  const cells = new Set<string>();
  for (const feature of features) {
    cells.clear();
    addGeometryCells(cells, feature.geometry, resolution);
    for (const cell of cells) {
      let list = byCell.get(cell);
      if (!list) byCell.set(cell, list = []);
      list.push(feature);
    }
  }
  return new Map([...byCell].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Splits a dataset version into FlatGeobuf tiles (with their packed Hilbert R-tree) and their
 * manifest entries, sorted by cell.
 *
 * @example
 * ```ts
 * for (const { entry, bytes } of buildTiles(features, 2, "counties", 1)) await env.TILES.put(entry.key, bytes);
 * ```
 */
export function buildTiles(
  features: readonly FlatFeature[],
  resolution: number,
  name: string,
  version: number,
  options: Omit<WriteOptions, "name"> = {},
): BuiltTile[] {
  checkDataset(name, version);
  const tiles: BuiltTile[] = [];
  for (const [cell, members] of splitByCell(features, resolution)) {
    const bytes = writeFlatGeobuf(members, { ...options, name: `${name}/${cell}` });
    const bbox: BBox = [Infinity, Infinity, -Infinity, -Infinity];
    for (const feature of members) expandByBBox(bbox, geometryBBox(feature.geometry)!);
    tiles.push({
      entry: { cell, key: tileKey(name, version, cell), feature_count: members.length, bbox, bytes: bytes.length },
      bytes,
    });
  }
  return tiles;
}
