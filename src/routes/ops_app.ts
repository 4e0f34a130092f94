/**
 * `/v1/ops/*`, for operators: the role is checked once, by this sub-app's middleware (the work is the ops
 * service's: src/routes/ops.ts).
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Claims } from "../../shared/auth/claims.ts";
import { requireOperator } from "../auth/middleware.ts";
import { JobId } from "../../shared/contract/common.ts";
import { JobStatusValue } from "../../shared/contract/job.ts";
import { JobStatusDocument } from "../../shared/contract/status.ts";
import { type AppContext, type AppEnv, JobParams, problems, router, security } from "./openapi.ts";

export const OpsListQuery = z.object({
  status: JobStatusValue.default("DEAD_LETTER").openapi({ param: { name: "status", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().max(512).optional().openapi({ param: { name: "cursor", in: "query" } }),
  stalled: z.enum(["true", "false"]).default("false").transform((v) => v === "true").openapi({
    param: { name: "stalled", in: "query" },
    type: "boolean",
    description: "Only IN_PROGRESS jobs with no progress within STALL_AFTER_MS (use with status=IN_PROGRESS).",
  }),
});
export type OpsListQuery = z.output<typeof OpsListQuery>;

/** One page of jobs for operators. */
export interface JobList {
  jobs: JobStatusDocument[];
  next_cursor?: string;
}

/** The work behind `/v1/ops/*`; the caller is an operator. */
export interface OpsService {
  listJobs(c: AppContext, query: OpsListQuery): Promise<JobList>;
  /** Re-queues a DEAD_LETTER or FAILED job. */
  redriveJob(c: AppContext, jobId: string, claims: Claims): Promise<JobStatusDocument>;
  /** The job's objects in R2 and which one the ledger committed. */
  jobObjects(c: AppContext, jobId: string): Promise<Record<string, unknown>>;
  /** The partition's ledger events (optionally one job's) as NDJSON. */
  exportEvents(c: AppContext, cell: string, jobId: string | undefined): Promise<string>;
  metrics(c: AppContext): Promise<Record<string, unknown>>;
}

const EventsParams = z.object({
  cell: z.string().regex(/^[0-9a-f]{15}$/, "an H3 cell index").openapi({ param: { name: "cell", in: "path" } }),
});
const EventsQuery = z.object({
  job_id: JobId.optional().openapi({ param: { name: "job_id", in: "query" } }),
});

const listJobsRoute = createRoute({
  method: "get",
  operationId: "listOpsJobs",
  path: "/jobs",
  tags: ["operations"],
  summary: "List jobs by status (operators; default DEAD_LETTER)",
  security,
  request: { query: OpsListQuery },
  responses: {
    200: {
      description: "A page of jobs",
      content: {
        "application/json": {
          schema: z.object({ jobs: z.array(JobStatusDocument), next_cursor: z.string().optional() }).openapi(
            "OpsJobList",
          ),
        },
      },
    },
    ...problems(403, 422),
  },
});

const redriveRoute = createRoute({
  method: "post",
  operationId: "redriveJob",
  path: "/jobs/{job_id}/redrive",
  tags: ["operations"],
  summary: "Re-queue a DEAD_LETTER or FAILED job (operators)",
  security,
  request: { params: JobParams },
  responses: {
    200: { description: "The re-queued job", content: { "application/json": { schema: JobStatusDocument } } },
    ...problems(400, 403, 404, 409),
  },
});

const eventsRoute = createRoute({
  method: "get",
  operationId: "getPartitionEvents",
  path: "/partitions/{cell}/events",
  tags: ["operations"],
  summary: "Export a partition's ledger events as NDJSON, for audit and replay (operators)",
  security,
  request: { params: EventsParams, query: EventsQuery },
  responses: {
    200: { description: "One JSON event per line", content: { "application/x-ndjson": { schema: z.string() } } },
    ...problems(400, 403),
  },
});

const jobObjectsRoute = createRoute({
  method: "get",
  operationId: "listJobObjects",
  path: "/jobs/{job_id}/objects",
  tags: ["operations"],
  summary: "A job's objects in R2 (results, staged parts) and the committed one (operators, for reconciliation)",
  security,
  request: { params: JobParams },
  responses: {
    200: { description: "Objects", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...problems(400, 403, 404),
  },
});

const metricsRoute = createRoute({
  method: "get",
  operationId: "getMetrics",
  path: "/metrics",
  tags: ["operations"],
  summary: "Queue depth, oldest queued age, in-flight, retries, dead letters, alert thresholds (operators)",
  security,
  responses: {
    200: { description: "Metrics", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
    ...problems(403),
  },
});

/** The operator routes over `service`, to mount at `/v1/ops`: every one needs the operator role (403). */
export function opsRoutes(service: OpsService): OpenAPIHono<AppEnv> {
  const ops = router();
  ops.use("*", requireOperator());
  return ops
    .openapi(listJobsRoute, async (c) => c.json(await service.listJobs(c, c.req.valid("query")), 200))
    .openapi(
      redriveRoute,
      async (c) => c.json(await service.redriveJob(c, c.req.valid("param").job_id, c.var.claims), 200),
    )
    .openapi(eventsRoute, async (c) => {
      const body = await service.exportEvents(c, c.req.valid("param").cell, c.req.valid("query").job_id);
      return c.body(body, 200, { "content-type": "application/x-ndjson" }) as never;
    })
    .openapi(jobObjectsRoute, async (c) => c.json(await service.jobObjects(c, c.req.valid("param").job_id), 200))
    .openapi(metricsRoute, async (c) => c.json(await service.metrics(c), 200));
}
