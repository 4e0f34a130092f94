/**
 * What the OGC API needs beyond the job service: the caller's jobs (the same listing as `GET /v1/jobs`,
 * src/jobs/list.ts) and a job's operation (its process id).
 */
import type { Claims } from "../../shared/auth/claims.ts";
import { partitionStub } from "../../shared/routing/partitions.ts";
import { listOwnJobs } from "../jobs/list.ts";
import { homeCellOf } from "../routing/job_id.ts";
import type { OgcJobIndex } from "./ogc_app.ts";

export const ogcJobIndex: OgcJobIndex = {
  async ownJobs(c, claims: Claims, limit, after) {
    const page = await listOwnJobs(c.env, claims.sub, { status: [], limit, ...(after ? { cursor: after } : {}) });
    return {
      jobs: page.jobs.map((job) => ({ job_id: job.job_id, operation: job.spec.operation })),
      ...(page.next_cursor ? { next: page.next_cursor } : {}),
    };
  },
  async jobOperation(c, claims: Claims, jobId) {
    const cell = homeCellOf(jobId);
    const job = cell ? await partitionStub(c.env, cell).job(jobId) : null;
    return job && job.spec.owner_sub === claims.sub ? job.spec.operation : null;
  },
};
