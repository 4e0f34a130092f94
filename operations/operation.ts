/**
 * One spatial operation, whole: what its request may carry, how a job of it is
 * planned into partitions at the edge, how one partition computes one slice,
 * what its result rows are, and how the home partition puts the partitions'
 * rows together. The executor, the commit and the routes know operations only
 * through this interface and the registry (`operations/mod.ts`).
 *
 * Layering: wasm/ ← shared/ ← operations/ ← src/ and durable-objects/.
 */
import type { z } from "@hono/zod-openapi";
import type { JobWindow } from "../shared/auth/job_policy.ts";
import type { Bbox } from "../shared/contract/common.ts";
import type { DatasetManifest } from "../shared/dataset_manifest.ts";
import type { JobSide, JobSpec, ResultRow, StagedRow } from "../shared/job_spec.ts";
import type { AddIssue, SpatialOperation } from "../shared/contract/job.ts";
import type { Attribute, AttributeColumn } from "../shared/attributes.ts";
import type { GeometryKind } from "../wasm/flat_geometry.ts";
import type { GeometryCore } from "../wasm/mod.ts";
import type { TileBucket } from "../shared/tiles/fgb_reader.ts";

export type { AddIssue };

/** The request as the common schema parsed it, with this operation's own fields (`request.fields`). */
export type OperationRequest = Record<string, unknown> & {
  spatial_operation: SpatialOperation;
  geometry_payload?: unknown;
  left_dataset?: string;
  dataset: string;
  bbox?: Bbox;
};

/** The left side as the edge resolved it (payload tiled, or a pinned dataset). */
export interface ResolvedLeft {
  side: JobSide;
  /** Geometry kinds on the left side. */
  types: string[];
  bbox: Bbox | null;
  /** The side's attributes (absent or null: a dataset version published before they were recorded). */
  attributes?: readonly Attribute[] | null;
}

export interface PlanInput {
  request: OperationRequest;
  left: ResolvedLeft;
  /** The pinned manifest of the request's `dataset` (the right side: vector, raster or network). */
  dataset: DatasetManifest;
  /** The request's bbox filter, if any. */
  filter: Bbox | null;
  /** Tile bytes up to which sparse sibling cells merge into one partition (0: never). */
  groupBytes: number;
  /** The manifests the edge pinned for the operation's `pins` fields, by field (read and tier-checked). */
  pinned?: Readonly<Record<string, DatasetManifest>>;
}

/** What planning adds to the job spec. */
export interface OperationPlan {
  right: JobSide;
  partitions: string[];
  members: Record<string, string[]>;
  /** Operation parameters recorded in the spec (e.g. `predicate`, `band`, `max_cost`). */
  params: Partial<JobSpec>;
}

/** One partition's task as the ledger hands it to a slice. */
export interface SliceTask {
  job_id: string;
  attempt: number;
  cell: string;
  /** The partition's share of the spec (`Operation.specForPartition`), `approximate` set for the SLO fallback. */
  spec: JobSpec;
  /** Where the previous slice stopped (0 for the first). */
  next_offset: number;
  /** Stats the task's earlier slices recorded. */
  stats: Readonly<Record<string, number>>;
}

export interface SliceContext {
  bucket: TileBucket;
  task: SliceTask;
  /** The job's window: nothing outside it may be read (null: the job reads nothing). */
  window: JobWindow | null;
  /** Work units the slice may spend before it returns (a unit ≈ 0.1 µs of compute). */
  workBudget: number;
  /** Rows the slice may stage before it returns. */
  maxRows: number;
  /** The GEOS core of this isolate (loaded once; the runtime decides how its WebAssembly is loaded). */
  geometryCore(): Promise<GeometryCore>;
}

export interface SliceOutput {
  next_offset: number;
  /** The slice's rows, sorted by (l, r). */
  rows: StagedRow[];
  /** Counters to add to the task's stats (`candidates`, `exact_tests`, `read_ms`, …). */
  stats: Record<string, number>;
  done: boolean;
}

/** A result column beyond the key columns. `double?` may be null (NaN in a row). */
export interface ResultColumn {
  name: string;
  type: "double" | "double?" | "long";
}

/** The result's row schema: key column names for `l` and `r` (`r` absent: one row per left feature). */
export interface ResultSchema {
  keys: readonly ["left_id", string] | readonly ["left_id"];
  columns: readonly ResultColumn[];
  /** The geometry kinds rows may carry, when the operation knows them up front (else the parts' facts say). */
  geometryKinds?: readonly GeometryKind[];
  /** Attributes of the sides copied into every row, after the columns (JobSpec `properties`). */
  attributes?: readonly AttributeColumn[];
  /** Rows carry no geometry (shortest_path with `path_geometry: false`): GeoJSON `null`, FlatGeobuf empty. */
  withoutGeometry?: boolean;
}

export interface Operation {
  readonly name: SpatialOperation;
  /** A title and one sentence for people choosing an operation (the OGC process list); else the name is shown. */
  readonly summary?: { readonly title: string; readonly description: string };
  /** What the `dataset` of a request must be. */
  readonly datasetKind: "vector" | "raster" | "network";
  readonly request: {
    /** The request fields only this operation accepts (zod shapes; the registry rejects them on other operations). */
    readonly fields: Readonly<Record<string, z.ZodType>>;
    /**
     * Cross-field checks on the parsed request; `payloadTypes` are the geometry types of a `geometry_payload` that
     * passed the common checks (null otherwise).
     */
    check(request: OperationRequest, add: AddIssue, payloadTypes: readonly string[] | null): void;
    /** Fills defaults that depend on other fields (before the request is fingerprinted for idempotency). */
    defaults?(request: OperationRequest): OperationRequest;
  };
  /** Request fields naming further datasets the edge pins (like `dataset`) and hands to `plan` (`PlanInput.pinned`). */
  readonly pins?: readonly string[];
  /** Checks the resolved sides fit (geometry kinds); returns problems as `{path, message}`. */
  checkInputs(left: ResolvedLeft, dataset: DatasetManifest, leftField: string): { path: string; message: string }[];
  /** Edge planning: the partitions and what the spec records. Pure; no I/O. */
  plan(input: PlanInput): OperationPlan;
  /**
   * The spec the job's records keep (the registry's claim, the home's ledger), after the edge authorized the whole
   * plan: only the tile references its partitions read. Absent: the whole spec.
   */
  specForJob?(spec: JobSpec): JobSpec;
  /** The share of the spec one partition needs (its tile references only), so dispatch stays small. */
  specForPartition(spec: JobSpec, cell: string): JobSpec;
  /** One slice of one partition's task. */
  runSlice(context: SliceContext): Promise<SliceOutput>;
  /** Frees what a job holds in this isolate (cancel, end of job). */
  releaseJob(jobId: string): void;
  /** Whether the SLO fallback (bounding-box approximation) applies to this operation. */
  readonly approximates: boolean;
  schema(spec: JobSpec): ResultSchema;
  /**
   * Rows with equal (l, r) from different partitions are partial aggregates: `combine` folds them (associative,
   * and `finalize` turns the folded partial into the result row). Absent: every (l, r) is staged exactly once.
   */
  combine?(a: ResultRow, b: ResultRow): ResultRow;
  finalize?(row: ResultRow): ResultRow;
}
