/**
 * What the edge hands a partition: everything needed to compute a job,
 * resolved and pinned at submit (dataset versions, tile keys, partitions),
 * so later publishes never change a running job's answer.
 */
import type { FeatureId, FlatGeometry } from "../../wasm/flat_geometry.ts";
import type { ClaimsSummary } from "../../src/auth/job_policy.ts";
import { bboxesIntersect } from "../../src/tiles/geometry_bbox.ts";
import { expandBounds } from "../../wasm/geodesic.ts";

export type SpatialOperation = "polygon_intersection" | "point_in_polygon" | "spatial_join";
export type SpatialPredicate = "intersects" | "contains" | "within" | "dwithin";
export type OutputFormat = "geojson" | "flatgeobuf";
export type Bbox = [number, number, number, number];

/** A side of the join: published tiles (one FlatGeobuf object per H3 cell) or the request's own payload. */
export type JobSide =
  | { kind: "dataset"; name: string; version: number; classification: string; tiles: Record<string, TileRef> }
  | { kind: "payload"; key: string; tiles: Record<string, TileRef> };

export interface TileRef {
  key: string;
  bbox: Bbox;
  feature_count: number;
  bytes: number;
}

export interface JobSpec {
  job_id: string;
  home_cell: string;
  resolution: number;
  owner_sub: string;
  request_hash: string;
  operation: SpatialOperation;
  predicate: SpatialPredicate;
  distance_m: number;
  output_format: OutputFormat;
  bbox: Bbox | null;
  left: JobSide;
  right: JobSide;
  /** Sorted H3 cells, one partition each; a pair is emitted only by the smallest cell both features touch. */
  partitions: string[];
  slo_deadline_ms: number;
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
}

/** One line of a partition's part object: a result feature, sorted by (left_id, right_id). */
export interface ResultRow {
  l: FeatureId;
  r: FeatureId;
  /** The intersection piece, the point, or (spatial_join) the left feature's geometry. */
  g: FlatGeometry;
  /** Extra properties beyond left_id/right_id (area, area_m2). */
  p?: Record<string, number>;
}

/**
 * The spec a partition needs for its own share: the tile references of its
 * cell only (for `dwithin`, the left tiles within reach of its right tile),
 * so what a job dispatches grows with partitions + tiles, not their product.
 */
export function specForPartition(spec: JobSpec, cell: string): JobSpec {
  const right = spec.right.tiles[cell];
  const rightTiles: Record<string, TileRef> = right ? { [cell]: right } : {};
  let leftTiles: Record<string, TileRef>;
  if (spec.operation === "spatial_join" && spec.predicate === "dwithin") {
    const reach = right ? expandBounds(right.bbox, spec.distance_m) : null;
    leftTiles = Object.fromEntries(
      Object.entries(spec.left.tiles).filter(([, t]) => reach !== null && bboxesIntersect(t.bbox, reach)),
    );
  } else {
    const left = spec.left.tiles[cell];
    leftTiles = left ? { [cell]: left } : {};
  }
  return {
    ...spec,
    left: { ...spec.left, tiles: leftTiles },
    right: { ...spec.right, tiles: rightTiles },
    partitions: [cell],
  };
}

export const JOB_KEYS = {
  payload: (jobId: string) => `jobs/${jobId}/input/left.fgb`,
  part: (jobId: string, attempt: number, cell: string, slice: number) =>
    `jobs/${jobId}/staging/a${attempt}/parts/${cell}/${String(slice).padStart(6, "0")}.fgb`,
  stagingPrefix: (jobId: string) => `jobs/${jobId}/staging/`,
  result: (jobId: string, attempt: number, format: OutputFormat) =>
    `jobs/${jobId}/results/a${attempt}.${format === "geojson" ? "geojson" : "fgb"}`,
};
