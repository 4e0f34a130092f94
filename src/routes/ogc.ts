/**
 * What the OGC API needs beyond the job service: the caller's job index (their idempotency registry, which holds
 * one claim per job they submitted through either API; durable-objects/idempotency_registry/job_list.ts).
 */
import type { Claims } from "../../shared/auth/claims.ts";
import { idempotencyStub } from "../../shared/routing/partitions.ts";
import type { OgcJobIndex } from "./ogc_app.ts";

export const ogcJobIndex: OgcJobIndex = {
  async ownJobs(c, claims: Claims, limit, after) {
    return await idempotencyStub(c.env, claims.sub).jobs(limit, after);
  },
  async jobOperation(c, claims: Claims, jobId) {
    return (await idempotencyStub(c.env, claims.sub).claimedJob(jobId))?.operation ?? null;
  },
};
