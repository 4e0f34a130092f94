/** The job status document (`GET /v1/jobs/{id}`, operator listings, webhook bodies) built from the ledger's record. */
import type { JobStatusDocument } from "./contract/status.ts";
import type { JobRecord } from "./job_record.ts";

/** The contract's view of a job record: timestamps as ISO text, the result as a link, the error as problem fields. */
export function statusDocument(job: JobRecord & { webhook?: JobStatusDocument["webhook"] | null }): JobStatusDocument {
  const doc: JobStatusDocument = {
    job_id: job.job_id,
    status: job.status,
    created_at: new Date(job.created_at).toISOString(),
    updated_at: new Date(job.updated_at).toISOString(),
    attempts: job.attempts,
    progress: { partitions_total: job.partitions_total, partitions_done: job.partitions_done },
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
  if (job.webhook) doc.webhook = job.webhook;
  return doc;
}
