/** `GET /v1/jobs/{job_id}`: the job status document. */
import { z } from "@hono/zod-openapi";
import { PageLimit, Timestamp } from "./common.ts";
import { JOB_STATUSES, JobStatusValue, OutputFormat } from "./job.ts";
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
    signed_href: z.url().optional().openapi({
      description: "An absolute URL of the result that needs no Authorization header (GDAL /vsicurl/, DuckDB, " +
        "QGIS), valid for one hour (or until the caller's token expires, if sooner) and for this ETag only. " +
        "Offered to callers who may read the result.",
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

/** The job's deadline against its projection and, once committed, its actual time. */
export const JobSlo = z
  .object({
    deadline_ms: z.int().positive().openapi({ description: "The request's slo_deadline_ms." }),
    projected_ms: z.int().nonnegative().openapi({ description: "Projected from the plan when the attempt started." }),
    fallback: z.enum(["bbox", "none"]),
    projected_overrun_ms: z.int().nonnegative().openapi({ description: "max(0, projected_ms - deadline_ms)" }),
    actual_ms: z.int().nonnegative().optional().openapi({ description: "Submit to commit, once COMPLETED." }),
    actual_overrun_ms: z.int().nonnegative().optional().openapi({ description: "max(0, actual_ms - deadline_ms)" }),
  })
  .openapi("JobSlo");
export type JobSlo = z.infer<typeof JobSlo>;

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
      percent: z.int().min(0).max(100).openapi({
        description: "Partitions done of all, in percent, rounded down; 100 only once COMPLETED (the merge and " +
          "commit follow the last partition).",
      }),
    }),
    result: JobResultRef.optional(),
    error: Problem.optional(),
    stats: JobStats.optional(),
    webhook: WebhookDelivery.optional(),
    slo: JobSlo.optional().openapi({
      description: "Once the job started: its deadline, the projection and (once COMPLETED) the actual time. A job " +
        'with `fallback: "none"` projected past its deadline runs exact and reports its overrun here.',
    }),
    degraded: z.boolean(),
    degraded_reason: z.string().optional().openapi({
      description: "Why the job ran the degraded path (SLO fallback: bounding-box approximation).",
    }),
  })
  .openapi("JobStatus");
export type JobStatusDocument = z.infer<typeof JobStatusDocument>;

/** `GET /v1/jobs` query. */
export const JobListParams = z.object({
  status: z
    .string()
    .max(200)
    .optional()
    .transform((text, ctx) => {
      const statuses = text ? text.split(",").map((s) => s.trim()) : [];
      const unknown = statuses.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
      if (unknown.length) {
        ctx.addIssue({ code: "custom", message: `unknown status ${unknown.join(", ")}; one of ${JOB_STATUSES}` });
      }
      return statuses as JobStatusValue[];
    })
    .openapi({
      param: { name: "status", in: "query" },
      type: "string",
      description: "Only jobs in these statuses (comma-separated), e.g. `QUEUED,IN_PROGRESS`.",
    }),
  limit: PageLimit,
  cursor: z.string().max(64).optional().openapi({
    param: { name: "cursor", in: "query" },
    description: "`next_cursor` of the previous page.",
  }),
});

export type JobListQuery = z.output<typeof JobListParams>;

/** `GET /v1/jobs`: a page of the caller's jobs. */
export const JobList = z
  .object({
    jobs: z.array(JobStatusDocument),
    next_cursor: z.string().optional().openapi({ description: "Absent on the last page." }),
    links: z.object({ self: z.string(), next: z.string().optional() }),
  })
  .openapi("JobList");
export type JobList = z.infer<typeof JobList>;
