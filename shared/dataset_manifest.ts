/** What a dataset catalog records and hands out: the published version's manifest and its tiles (or raster). */
import type { GeometryKind } from "../wasm/flat_geometry.ts";
import type { Bbox, Classification } from "./contract/common.ts";
import type { RasterInfo } from "./raster/raster_info.ts";
import type { Attribute } from "./attributes.ts";

export type TileEntry = {
  cell: string;
  key: string;
  feature_count: number;
  bbox: Bbox;
  bytes: number;
};

/** What every version of every kind records. */
type ManifestBase = {
  name: string;
  version: number;
  owner_domain: string;
  classification: Classification;
  /** EPSG:4326 extent (null: an empty vector dataset). */
  bbox: Bbox | null;
  /** SHA-256 of what the version stores, computed by the publisher: the etag's content part. */
  content_hash: string;
  etag: string;
  created_at: string;
  published_by: string;
};

/** A raster version: one GeoTIFF object in R2, read by range (`key`), and its grid as the header says. */
export type RasterDatasetManifest =
  & ManifestBase
  & Omit<RasterInfo, "compression" | "bbox">
  & { kind: "raster"; key: string; bytes: number; bbox: Bbox };

/** The manifest of any dataset kind; vector manifests written before kinds existed have no `kind`. */
export type DatasetManifest = VectorDatasetManifest | RasterDatasetManifest;

/** `Omit` applied to each member of a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a publisher hands the catalog; the catalog adds version, etag and time. */
export type ManifestDraft = DistributiveOmit<DatasetManifest, "version" | "etag" | "created_at">;

export function isRasterManifest(manifest: DatasetManifest): manifest is RasterDatasetManifest {
  return manifest.kind === "raster";
}

export type VectorDatasetManifest = {
  name: string;
  version: number;
  owner_domain: string;
  classification: Classification;
  feature_count: number;
  bbox: Bbox | null;
  geometry_types: GeometryKind[];
  /** The features' attributes and their types (absent on versions published before they were recorded). */
  attributes?: Attribute[];
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

export type DatasetVersionEntry = {
  version: number;
  created_at: string;
  /** Null for a raster version. */
  feature_count: number | null;
  etag: string;
};

export type PublishOutcome =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };

/** What a dataset holds: features (tiled FlatGeobuf), a raster, or a network's topology. */
export type DatasetKind = "vector" | "raster" | "network";

/** A manifest's kind (manifests published before rasters and networks are vector). */
export function datasetKind(manifest: { kind?: DatasetKind }): DatasetKind {
  return manifest.kind ?? "vector";
}

/** A manifest as callers see it: no storage keys (a raster's object, a vector's tiles). */
export type PublicManifest =
  | Omit<RasterDatasetManifest, "key">
  | (Omit<VectorDatasetManifest, "tiles"> & { tiles: Omit<TileEntry, "key">[] });

export function publicManifest(manifest: DatasetManifest): PublicManifest {
  if (isRasterManifest(manifest)) {
    const { key: _key, ...rest } = manifest;
    return rest;
  }
  return { ...manifest, tiles: manifest.tiles.map(({ key: _key, ...tile }) => tile) };
}

/** The R2 objects a version stores: its raster object, or its tiles (a network's: its blocks' graph objects). */
export function storedKeys(manifest: DatasetManifest): string[] {
  return isRasterManifest(manifest) ? [manifest.key] : manifest.tiles.map((t) => t.key);
}
