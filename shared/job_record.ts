/** A job as its home partition records it: what the ledger stores and the status document is built from. */
import type { JobSpec } from "./job_spec.ts";
import type { JobStatusValue } from "./contract/job.ts";

export interface JobResult {
  key: string;
  format: JobSpec["output_format"];
  feature_count: number;
  /** The result's own size (decoded, when it is stored compressed). */
  bytes: number;
  etag: string;
  /** How the object is stored: gzip for GeoJSON committed since stored compression (absent: as is). */
  encoding?: "gzip";
  /** The stored object's size, when it differs from `bytes`. */
  stored_bytes?: number;
  /** The stored bytes, base64, of a result of at most `INLINE_RESULT_BYTES`: kept here, never written to R2. */
  inline?: string;
}

export interface JobError {
  type: string;
  title: string;
  status: number;
  detail: string;
  retryable: boolean;
}

export interface JobRecord {
  job_id: string;
  spec: JobSpec;
  status: JobStatusValue;
  attempts: number;
  retry_base: number;
  created_at: number;
  updated_at: number;
  next_run_at: number | null;
  partitions_total: number;
  partitions_done: number;
  result: JobResult | null;
  error: JobError | null;
  stats: Record<string, unknown> | null;
  degraded: { reason: string } | null;
}

/**
 * A claimed job its home has not recorded yet (it waits in its caller's IdempotencyRegistry outbox): QUEUED, as
 * the home will record it.
 */
export function queuedJob(spec: JobSpec): JobRecord {
  return {
    job_id: spec.job_id,
    spec,
    status: "QUEUED",
    attempts: 0,
    retry_base: 0,
    created_at: spec.created_at,
    updated_at: spec.created_at,
    next_run_at: spec.created_at,
    partitions_total: spec.partitions.length,
    partitions_done: 0,
    result: null,
    error: null,
    stats: null,
    degraded: null,
  };
}
