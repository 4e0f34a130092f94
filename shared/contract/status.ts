/** `GET /v1/jobs/{job_id}`: the job status document. */
import { z } from "@hono/zod-openapi";
import { Timestamp } from "./common.ts";
import { JobStatusValue, OutputFormat } from "./job.ts";
import { Problem } from "./problem.ts";

export const JobResultRef = z
  .object({
    href: z.string().openapi({ example: "/v1/jobs/abc/result" }),
    format: OutputFormat,
    feature_count: z.int().nonnegative(),
    bytes: z.int().nonnegative().openapi({
      description:
        "The result's size in its format (GeoJSON is stored and sent gzip-compressed: this is its decoded size)",
    }),
    etag: z.string().openapi({
      description: "The stored object's ETag, as GET …/result sends it (gzip where accepted)",
    }),
  })
  .openapi("JobResultRef");

/** The job's own execution plan and timings; fields the engine adds are kept. */
export const JobStats = z
  .looseObject({
    partitions: z.int().nonnegative().optional(),
    candidates_after_bbox: z.int().nonnegative().optional().openapi({
      description: "Candidate pairs after the bbox filter.",
    }),
    exact_tests: z.int().nonnegative().optional().openapi({ description: "Exact predicate evaluations." }),
    pairs: z.int().nonnegative().optional(),
    partition_work: z.object({ max: z.number(), median: z.number(), p95: z.number() }).optional().openapi({
      description: "Work units per partition (≈ 0.1 µs of compute each): how evenly the plan spread the job.",
    }),
    critical_path_ms: z.number().optional().openapi({
      description: "The slowest partition's read + index + compute + write time: partitions run concurrently.",
    }),
    ms: z.record(z.string(), z.number()).optional().openapi({
      description: "Milliseconds per phase, summed over partitions (commit: the home's merge and upload).",
    }),
  })
  .openapi("JobStats");

/** The job's latest webhook delivery (jobs with a `callback_url`, once an event was emitted). */
export const WebhookDelivery = z
  .object({
    url_host: z.string().openapi({ example: "example.org" }),
    event: z.enum(["job.completed", "job.failed", "job.dead_lettered", "job.cancelled"]),
    delivery_id: z.string().openapi({ description: "X-Spatial-Jobs-Delivery: the same on every retry." }),
    state: z.enum(["PENDING", "DELIVERED", "GAVE_UP"]),
    attempts: z.int().nonnegative(),
    last_status: z.int().nullable().openapi({ description: "HTTP status of the last attempt (null: no response)." }),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable(),
    delivered_at: Timestamp.nullable(),
  })
  .openapi("WebhookDelivery");

export const JobStatusDocument = z
  .object({
    job_id: z.string(),
    status: JobStatusValue,
    created_at: Timestamp,
    updated_at: Timestamp,
    attempts: z.int().nonnegative(),
    progress: z.object({
      partitions_total: z.int().nonnegative(),
      partitions_done: z.int().nonnegative(),
    }),
    result: JobResultRef.optional(),
    error: Problem.optional(),
    stats: JobStats.optional(),
    webhook: WebhookDelivery.optional(),
    degraded: z.boolean(),
    degraded_reason: z.string().optional().openapi({
      description: "Why the job ran the degraded path (SLO fallback: bounding-box approximation).",
    }),
  })
  .openapi("JobStatus");
export type JobStatusDocument = z.infer<typeof JobStatusDocument>;
