import { deepEqual, equal } from "node:assert/strict";
import { JOB_STATUSES } from "../../../../shared/contract/job.ts";
import type { JobStatusDocument as JobStatus } from "../../../../shared/contract/status.ts";
import { statusInfo } from "../../../../src/ogc/status_info.ts";

const job = (status: JobStatus["status"], done: number, total: number): JobStatus => ({
  job_id: "j1",
  status,
  created_at: "2025-01-01T00:00:00.000Z",
  updated_at: "2025-01-01T00:01:00.000Z",
  attempts: 1,
  progress: { partitions_total: total, partitions_done: done, percent: total ? Math.floor((100 * done) / total) : 0 },
  degraded: false,
  ...(status === "COMPLETED"
    ? { result: { href: "/v1/jobs/j1/result", format: "flatgeobuf" as const, feature_count: 1, bytes: 9, etag: "e" } }
    : {}),
});

Deno.test("every job status maps to the contract's OGC status code", () => {
  const mapped = Object.fromEntries(JOB_STATUSES.map((s) => [s, statusInfo(job(s, 0, 1), "http://h").status]));
  deepEqual(mapped, {
    QUEUED: "accepted",
    IN_PROGRESS: "running",
    COMPLETED: "successful",
    FAILED: "failed",
    CANCELLED: "dismissed",
    DEAD_LETTER: "failed",
  });
});

Deno.test("progress is the share of partitions done; a results link only once successful, typed by format", () => {
  equal(statusInfo(job("IN_PROGRESS", 1, 3), "http://h").progress, 33);
  equal(statusInfo(job("QUEUED", 0, 0), "http://h").progress, 0);
  const done = statusInfo(job("COMPLETED", 3, 3), "http://h", "spatial_join");
  equal(done.progress, 100);
  equal(done.finished, "2025-01-01T00:01:00.000Z");
  equal(done.processID, "spatial_join");
  const results = done.links.filter((l) => l.rel === "http://www.opengis.net/def/rel/ogc/1.0/results");
  deepEqual(results, [{
    href: "http://h/jobs/j1/results",
    rel: "http://www.opengis.net/def/rel/ogc/1.0/results",
    type: "application/flatgeobuf",
  }]);
  equal(statusInfo(job("IN_PROGRESS", 1, 3), "http://h").links.some((l) => l.rel?.endsWith("/results")), false);
  equal(statusInfo(job("IN_PROGRESS", 1, 3), "http://h").finished, undefined);
});
