/** What a dataset catalog records and hands out: the published version's manifest and its tiles. */
import type { GeometryKind } from "../wasm/flat_geometry.ts";
import type { Bbox, Classification } from "./contract/common.ts";

export type TileEntry = {
  cell: string;
  key: string;
  feature_count: number;
  bbox: Bbox;
  bytes: number;
};

export type DatasetManifest = {
  name: string;
  version: number;
  owner_domain: string;
  classification: Classification;
  feature_count: number;
  bbox: Bbox | null;
  geometry_types: GeometryKind[];
  resolution: number;
  repaired_count: number;
  tiles: TileEntry[];
  /** SHA-256 of the tile list, computed by the publisher: the etag's content part. */
  content_hash: string;
  etag: string;
  created_at: string;
  published_by: string;
  /** Absent on manifests written before kinds existed: `vector`. */
  kind?: "vector" | "network";
} & Partial<NetworkFacts>;

/**
 * What a network manifest adds. Its tiles are the topology's blocks: `key` the block's graph object
 * (`networkBlockKey`), `feature_count` its vertices.
 */
export type NetworkFacts = {
  vertex_count: number;
  edge_count: number;
  component_count: number;
  snap_m: number;
  /** H3 resolution of the blocks. */
  block_resolution: number;
  /** Bits of a packed vertex reference that hold the index inside its block. */
  block_shift: number;
};

/** A manifest's kind (`vector` when it predates kinds). */
export function datasetKind(manifest: Pick<DatasetManifest, "kind">): "vector" | "network" {
  return manifest.kind ?? "vector";
}

export type DatasetVersionEntry = {
  version: number;
  created_at: string;
  feature_count: number;
  etag: string;
};

export type PublishOutcome =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };
