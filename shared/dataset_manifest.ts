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

/** What a dataset holds: features (tiled FlatGeobuf), a raster, or a network's topology. */
export type DatasetKind = "vector" | "raster" | "network";

export type DatasetManifest = {
  name: string;
  /** Absent on manifests published before rasters and networks: those are vector. */
  kind?: DatasetKind;
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
};

export type DatasetVersionEntry = {
  version: number;
  created_at: string;
  feature_count: number;
  etag: string;
};

export type PublishOutcome =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };

/** A manifest's kind (manifests published before rasters and networks are vector). */
export function datasetKind(manifest: Pick<DatasetManifest, "kind">): DatasetKind {
  return manifest.kind ?? "vector";
}
