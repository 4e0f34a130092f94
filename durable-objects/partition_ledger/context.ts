/** What the partition's home coordinator and task runner share: its ledger, its peers, its alarm. */
import type { JobError } from "../../shared/job_record.ts";
import type { JobSpec } from "../../shared/job_spec.ts";
import { createLogger } from "../../shared/telemetry/log.ts";
import { type Span, startSpan } from "../../shared/telemetry/span.ts";
import type { Ledger, PartReport } from "./ledger.ts";

/** How long a report to another partition (or to the live-work index) waits before it is tried again. */
export const RETRY_REPORT_MS = 2_000;

/** The RPC methods partitions call on each other. */
export interface PartitionApi {
  enqueueTask(spec: JobSpec, attempt: number, cell: string): Promise<void>;
  cancelTask(jobId: string): void | Promise<void>;
  partDone(report: PartReport): Promise<void>;
  taskFailed(jobId: string, attempt: number, error: JobError): void | Promise<void>;
  progress(jobId: string, attempt: number): void | Promise<void>;
}

/** One partition as its coordinator and runner see it (the Durable Object supplies it). */
export interface Partition {
  readonly env: Env;
  readonly ledger: Ledger;
  /** Calls on this very partition stay local; others go through the partition's stub. */
  forPartition(cell: string): PartitionApi;
}

/** A span of the job's life in this partition, child of the submitting request's span; its lines carry job_id. */
export function jobSpan(
  name: string,
  spec: JobSpec,
  attributes: Record<string, string | number> = {},
  level: "debug" | "info" = "info",
): Span {
  return startSpan(name, {
    level,
    traceId: spec.trace_id,
    parentSpanId: spec.parent_span_id,
    attributes: { job_id: spec.job_id, ...attributes },
    logger: createLogger({ job_id: spec.job_id }),
  });
}

/** The error's own message, for the logs only. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
