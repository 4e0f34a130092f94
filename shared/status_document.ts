/** The job status document (`GET /v1/jobs/{id}`, operator listings, webhook bodies) built from the ledger's record. */
import type { JobSlo, JobStatusDocument } from "./contract/status.ts";
import type { JobRecord } from "./job_record.ts";

/** The contract's view of a job record: timestamps as ISO text, the result as a link, the error as problem fields. */
export function statusDocument(job: JobRecord & { webhook?: JobStatusDocument["webhook"] | null }): JobStatusDocument {
  const doc: JobStatusDocument = {
    job_id: job.job_id,
    status: job.status,
    created_at: new Date(job.created_at).toISOString(),
    updated_at: new Date(job.updated_at).toISOString(),
    attempts: job.attempts,
    progress: {
      partitions_total: job.partitions_total,
      partitions_done: job.partitions_done,
      percent: progressPercent(job),
    },
    degraded: job.degraded !== null,
  };
  if (job.degraded) doc.degraded_reason = job.degraded.reason;
  if (job.result) {
    const { format, feature_count, bytes, etag } = job.result;
    doc.result = { href: `/v1/jobs/${job.job_id}/result`, format, feature_count, bytes, etag };
  }
  if (job.error) {
    const { type, title, status, detail } = job.error;
    doc.error = { type, title, status, detail, trace_id: job.spec.trace_id };
  }
  if (job.stats) doc.stats = job.stats;
  const slo = job.stats?.slo as Omit<JobSlo, "projected_overrun_ms" | "actual_overrun_ms"> | undefined;
  if (slo) {
    doc.slo = { ...slo, projected_overrun_ms: Math.max(0, slo.projected_ms - slo.deadline_ms) };
    if (slo.actual_ms !== undefined) doc.slo.actual_overrun_ms = Math.max(0, slo.actual_ms - slo.deadline_ms);
  }
  if (job.webhook) doc.webhook = job.webhook;
  return doc;
}

/** Partitions done in percent, rounded down; 100 only once COMPLETED, since the merge and commit come after. */
function progressPercent(job: JobRecord): number {
  if (job.status === "COMPLETED") return 100;
  if (job.partitions_total === 0) return 0;
  return Math.min(99, Math.floor((100 * job.partitions_done) / job.partitions_total));
}
