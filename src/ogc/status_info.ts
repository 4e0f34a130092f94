/** A job's `/v1` status document as an OGC statusInfo, with the links a client follows next. */
import type { JobStatusDocument } from "../../shared/contract/status.ts";
import { OGC_STATUS_OF, type OgcLink, type OgcStatusInfo } from "../../shared/contract/ogc.ts";

const TERMINAL = new Set(["successful", "failed", "dismissed"]);

export function statusInfo(job: JobStatusDocument, base: string, processId?: string): OgcStatusInfo {
  const status = OGC_STATUS_OF[job.status];
  const self = `${base}/jobs/${encodeURIComponent(job.job_id)}`;
  const { partitions_total: total, partitions_done: done } = job.progress;
  const links: OgcLink[] = [
    { href: self, rel: "self", type: "application/json", title: "Job status" },
    { href: `${self}?f=html`, rel: "alternate", type: "text/html", title: "Job page with a map of the result" },
    { href: `${base}/v1/jobs/${encodeURIComponent(job.job_id)}`, rel: "related", type: "application/json" },
  ];
  if (status === "successful") {
    const type = job.result?.format === "flatgeobuf" ? "application/flatgeobuf" : "application/geo+json";
    links.push({ href: `${self}/results`, rel: "http://www.opengis.net/def/rel/ogc/1.0/results", type });
  }
  return {
    ...(processId ? { processID: processId } : {}),
    type: "process",
    jobID: job.job_id,
    status,
    message: job.error?.detail ?? `${job.status}: ${done} of ${total} partitions done`,
    created: job.created_at,
    updated: job.updated_at,
    ...(TERMINAL.has(status) ? { finished: job.updated_at } : {}),
    progress: status === "successful" ? 100 : total > 0 ? Math.floor((100 * done) / total) : 0,
    links,
  };
}
