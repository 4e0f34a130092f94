/**
 * What the edge hands a partition: everything needed to compute a job,
 * resolved and pinned at submit (dataset versions, tile keys, partitions),
 * so later publishes never change a running job's answer.
 */
import type { FeatureId, FlatGeometry } from "../wasm/flat_geometry.ts";
import type { ClaimsSummary } from "./auth/job_policy.ts";
import type { Bbox } from "./contract/common.ts";
import type { VectorDatasetManifest } from "./dataset_manifest.ts";
import type { AttributeColumn } from "./attributes.ts";
import type { RasterGrid } from "./raster/raster_info.ts";
import type { OutputFormat, Predicate, SpatialOperation } from "./contract/job.ts";
import type { SupportedCrs } from "./contract/crs.ts";

/** A side of the join: published tiles (one FlatGeobuf object per H3 cell) or the request's own payload. */
export type JobSide =
  | {
    kind: "dataset";
    name: string;
    version: number;
    classification: string;
    tiles: Record<string, TileRef>;
    /**
     * A network dataset: its tiles are the topology's blocks (shared/network/block_codec.ts), every one of which a
     * search may read, so the job's window takes in their whole extent; `shift` as the manifest's `block_shift`.
     */
    network?: { shift: number };
  }
  | { kind: "payload"; key: string; tiles: Record<string, TileRef> };

/** A network job's destinations: a dataset's tiles, or the request's own points (lon/lat interleaved). */
export type DestinationsSide = JobSide | { kind: "points"; ids: FeatureId[]; xy: number[] };

export interface TileRef {
  key: string;
  bbox: Bbox;
  feature_count: number;
  bytes: number;
  /** The tile itself, base64, for a small payload's tiles: never written to R2 (`shared/tiles/inline_tile.ts`). */
  inline?: string;
}

export interface JobSpec {
  job_id: string;
  home_cell: string;
  resolution: number;
  owner_sub: string;
  request_hash: string;
  operation: SpatialOperation;
  /** spatial_join's predicate and `dwithin` distance in metres (absent for other operations). */
  predicate?: Predicate;
  distance_m?: number;
  output_format: OutputFormat;
  /** The CRS the result's geometries are written in (absent: EPSG:4326, the CRS the engine computes in). */
  output_crs?: SupportedCrs;
  bbox: Bbox | null;
  left: JobSide;
  right: JobSide;
  /**
   * Sorted partition cells, one Durable Object each. A pair belongs to the
   * smallest tile cell both features touch, and is emitted by the partition
   * that runs that tile cell.
   */
  partitions: string[];
  /** Partition cell → the tile cells it runs (absent: each partition runs its own cell's tiles). */
  members?: Record<string, string[]>;
  /**
   * Partitions that share their tile cells with others, each running `[index, count]`: the index-th of `count`
   * equal shares of the right side's features by position (operations/partition_groups.ts).
   */
  shards?: Record<string, [index: number, count: number]>;
  slo_deadline_ms: number;
  /** "none": a job projected past its deadline stays exact (absent: the bounding-box fallback, slo.ts). */
  fallback?: "none";
  callback_url: string | null;
  max_retries: number;
  trace_id: string;
  /** The span of the submitting request: the parent of every span of the job's life. */
  parent_span_id: string;
  /** What the policy needs to re-check the job inside the Durable Objects (no token, no headers). */
  claims: ClaimsSummary;
  created_at: number;
  /** Set by the home partition for an attempt that runs the SLO fallback (bounding boxes, see slo.ts). */
  approximate?: boolean;
  /** shortest_path: the destinations (absent: the origins themselves) and whether rows carry the path line. */
  destinations?: DestinationsSide;
  path_geometry?: boolean;
  /** service_area: the largest aggregate cost reported. */
  max_cost?: number;
  /**
   * Network operations: partition cell → [share, shares]: the partition runs every `shares`-th origin of its
   * member tile, from the `share`-th on (origins in id order), so one tile's origins spread over several objects.
   */
  origin_shares?: Record<string, [number, number]>;
  /** The attributes copied into every result row (`properties` of the request), left ones first. */
  properties?: AttributeColumn[];
  /** zonal_statistics: the pinned raster and what to compute over it. */
  zonal?: ZonalSpec;
}

/** A raster version as a job reads it: its object (by range) and grid. */
export type RasterRef = RasterGrid & { key: string; bytes: number };

export interface ZonalSpec {
  raster: RasterRef;
  /** 1-based. */
  band: number;
  statistics: string[];
  pixel_rule: "center" | "all_touched" | "coverage";
}

/** One line of a partition's part object: a result feature, sorted by (left_id, right_id). */
export interface ResultRow {
  l: FeatureId;
  r: FeatureId;
  /** The intersection piece, the point, or (spatial_join) the left feature's geometry. */
  g: FlatGeometry;
  /** Extra properties beyond left_id/right_id (area, area_m2). */
  p?: Record<string, number>;
  /** The copied attributes' values, in the order of the spec's `properties` (null for a missing one). */
  a?: unknown[];
}

/** A point row as the bulk point-in-polygon path stages it: the point's coordinates, no geometry object. */
export interface PointRow {
  l: FeatureId;
  r: FeatureId;
  g?: undefined;
  p?: undefined;
  a?: unknown[];
  x: number;
  y: number;
}

/** What a slice stages: rows with their geometry, or point rows. */
export type StagedRow = ResultRow | PointRow;

/** The tile bytes of both sides in one tile cell: the work measure of planning and the SLO projection. */
export function cellTileBytes(left: Record<string, TileRef>, right: Record<string, TileRef>, cell: string): number {
  return (left[cell]?.bytes ?? 0) + (right[cell]?.bytes ?? 0);
}

/** The tile cells partition `cell` runs. */
export function memberCells(spec: JobSpec, cell: string): string[] {
  return spec.members?.[cell] ?? [cell];
}

/** A pinned dataset version as a side of a job: its tiles by cell. */
export function pinnedDatasetSide(m: VectorDatasetManifest): Extract<JobSide, { kind: "dataset" }> {
  return {
    kind: "dataset",
    name: m.name,
    version: m.version,
    classification: m.classification,
    tiles: Object.fromEntries(m.tiles.map((t) => [t.cell, t])),
  };
}
