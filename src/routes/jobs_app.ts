/** `/v1/jobs`: submit, status, result, cancel (the work is the job service's: src/routes/jobs.ts). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Claims } from "../../shared/auth/claims.ts";
import { JobAccepted, type JobStatusValue } from "../../shared/contract/job.ts";
import { JobRequest, normalizeJobRequest } from "../../operations/request.ts";
import { MAX_JOB_BODY_BYTES } from "../../shared/contract/limits.ts";
import { JobList, JobListParams, type JobListQuery, JobStatusDocument } from "../../shared/contract/status.ts";
import { readBody } from "../http/body.ts";
import { type CommittedResult, resultResponse } from "../results/response.ts";
import { type AppContext, type AppEnv, JobParams, problems, router, security, traceHeaders } from "./openapi.ts";

type Ctx = AppContext;

/** What `submitJob` answers: `created` → 202, an idempotent replay → 200. */
export interface SubmittedJob {
  job_id: string;
  status: JobStatusValue;
  created: boolean;
}

/** How a result download is authorized: the caller's token, or a signed link (query `expires` and `signature`). */
export type ResultAccess =
  | { claims: Claims }
  | { link: { expires: string | undefined; signature: string } };

/**
 * The work behind `/v1/jobs`. Input is already validated and the caller authenticated; expected failures are
 * thrown as ProblemErrors (`NotFoundError`, `ConflictError`, …).
 */
export interface JobService {
  /** ABAC (area, dataset tiers), unknown dataset (422) and idempotency (409) are checked here. */
  submitJob(c: Ctx, request: JobRequest, claims: Claims): Promise<SubmittedJob>;
  /** 404 when unknown or not the caller's. */
  getJob(c: Ctx, jobId: string, claims: Claims): Promise<JobStatusDocument>;
  /** `ConflictError.resultNotReady` while not COMPLETED; a refused signed link is a `ForbiddenError`. */
  getResult(c: Ctx, jobId: string, access: ResultAccess): Promise<CommittedResult>;
  /** The caller's own jobs, newest first (src/jobs/list.ts). */
  listOwnJobs(c: Ctx, query: JobListQuery, claims: Claims): Promise<Omit<JobList, "links">>;
  /** Idempotent; the (CANCELLED) status document. */
  cancelJob(c: Ctx, jobId: string, claims: Claims): Promise<JobStatusDocument>;
}

const submitJob = createRoute({
  method: "post",
  operationId: "submitJob",
  path: "/v1/jobs",
  tags: ["jobs"],
  summary: "Submit a spatial job",
  description: `JSON body of at most ${MAX_JOB_BODY_BYTES} bytes. Same idempotency key and payload → the same job ` +
    "(200); same key, different payload → 409.",
  security,
  middleware: [readBody({ maxBytes: MAX_JOB_BODY_BYTES, accept: ["application/json"] })] as const,
  request: { body: { required: true, content: { "application/json": { schema: JobRequest } } } },
  responses: {
    202: {
      description: "Accepted",
      headers: { Location: { description: "/v1/jobs/{job_id}", schema: { type: "string" } }, ...traceHeaders },
      content: { "application/json": { schema: JobAccepted } },
    },
    200: {
      description: "Idempotent replay: the existing job",
      content: { "application/json": { schema: JobAccepted } },
    },
    ...problems(400, 403, 409, 413, 415, 422),
  },
});

const listJobs = createRoute({
  method: "get",
  operationId: "listJobs",
  path: "/v1/jobs",
  tags: ["jobs"],
  summary: "The caller's own jobs, newest first",
  description:
    "Opaque cursor paging: pass `next_cursor` back as `cursor`; the listing ends when it is absent. A page " +
    "may hold fewer than `limit` jobs and still have a `next_cursor` (a `status` filter that matched few of the " +
    "jobs looked at). Jobs submitted while a client pages appear on a fresh first page, never mid-way.",
  security,
  request: { query: JobListParams },
  responses: {
    200: { description: "A page of status documents", content: { "application/json": { schema: JobList } } },
    ...problems(400, 422),
  },
});

const getJob = createRoute({
  method: "get",
  operationId: "getJob",
  path: "/v1/jobs/{job_id}",
  tags: ["jobs"],
  summary: "The job's status document",
  security,
  request: { params: JobParams },
  responses: {
    200: { description: "Status", content: { "application/json": { schema: JobStatusDocument } } },
    ...problems(400, 403, 404),
  },
});

const ResultQuery = z.object({
  expires: z.string().max(32).optional().openapi({
    param: { name: "expires", in: "query" },
    description: "Signed links only (`result.signed_href`): the link's expiry, unix seconds.",
  }),
  signature: z.string().max(128).optional().openapi({
    param: { name: "signature", in: "query" },
    description: "Signed links only: the link's signature. With it, no Authorization header is needed.",
  }),
});

const resultDescription = "The committed result. GeoJSON is stored gzip-compressed: a client whose Accept-Encoding " +
  "lists gzip gets the stored bytes (`Content-Encoding: gzip`, the status document's ETag); any other, and every " +
  "Range request, gets identity bytes (the same ETag, weak). FlatGeobuf is stored and sent as it is. `Range` " +
  "(one range) → 206 with `Content-Range`; several ranges → 200 with the whole result; none of its bytes → 416. " +
  "`If-Range` with the current strong ETag keeps the range, anything else gets the whole result. Authorized by a " +
  "bearer token, or by a signed link (`result.signed_href`) without one.";

const resultHeaders = {
  ETag: { schema: { type: "string" as const } },
  "Content-Length": { schema: { type: "integer" as const } },
  "Accept-Ranges": { schema: { type: "string" as const, enum: ["bytes"] } },
  "Content-Disposition": { schema: { type: "string" as const } },
  Vary: { schema: { type: "string" as const } },
};

const getResult = createRoute({
  method: "get",
  operationId: "getJobResult",
  path: "/v1/jobs/{job_id}/result",
  tags: ["jobs"],
  summary: "The committed result (409 until COMPLETED)",
  description: resultDescription,
  security: [...security, {}],
  request: { params: JobParams, query: ResultQuery },
  responses: {
    200: {
      description: "The result",
      headers: { ...resultHeaders, "Content-Encoding": { schema: { type: "string", enum: ["gzip"] } } },
      content: {
        "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
        "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
        "application/vnd.apache.parquet": { schema: { type: "string", format: "binary" } },
      },
    },
    206: {
      description: "One byte range of the result's identity bytes",
      headers: { ...resultHeaders, "Content-Range": { schema: { type: "string" } } },
      content: {
        "application/geo+json": { schema: { type: "string", format: "binary" } },
        "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
        "application/vnd.apache.parquet": { schema: { type: "string", format: "binary" } },
      },
    },
    304: { description: "Not modified (If-None-Match matched)" },
    ...problems(400, 403, 404, 409, 416),
  },
});

/** Documents HEAD (Hono answers it from the GET route, without a body). */
const headResult = createRoute({
  ...getResult,
  method: "head",
  operationId: "headJobResult",
  summary: "The result's headers (Content-Length of the representation a GET would send)",
});

const cancelJob = createRoute({
  method: "delete",
  operationId: "cancelJob",
  path: "/v1/jobs/{job_id}",
  tags: ["jobs"],
  summary: "Cancel a job (idempotent; a committed result stays)",
  security,
  request: { params: JobParams },
  responses: {
    200: {
      description: "The status document, CANCELLED",
      content: { "application/json": { schema: JobStatusDocument } },
    },
    ...problems(400, 403, 404),
  },
});

/** `/v1/jobs` routes over `service`. */
export function jobRoutes(service: JobService): OpenAPIHono<AppEnv> {
  const app = router();
  app.openAPIRegistry.registerPath(headResult);
  return app
    .openapi(submitJob, async (c) => {
      const request = normalizeJobRequest(c.req.valid("json"));
      const job = await service.submitJob(c, request, c.get("claims"));
      const self = `/v1/jobs/${encodeURIComponent(job.job_id)}`;
      const body: JobAccepted = { job_id: job.job_id, status: job.status, links: { self, result: `${self}/result` } };
      c.header("Location", self);
      return job.created ? c.json(body, 202) : c.json(body, 200);
    })
    .openapi(listJobs, async (c) => {
      const { status, limit, cursor } = c.req.valid("query");
      const page = await service.listOwnJobs(c, c.req.valid("query"), c.get("claims"));
      const query = (extra: Record<string, string>) =>
        new URLSearchParams({ ...(status.length ? { status: status.join(",") } : {}), limit: String(limit), ...extra });
      const links = {
        self: `/v1/jobs?${query(cursor ? { cursor } : {})}`,
        ...(page.next_cursor ? { next: `/v1/jobs?${query({ cursor: page.next_cursor })}` } : {}),
      };
      return c.json({ ...page, links }, 200);
    })
    .openapi(getJob, async (c) => c.json(await service.getJob(c, c.req.valid("param").job_id, c.get("claims")), 200))
    .openapi(getResult, async (c) => {
      const { expires, signature } = c.req.valid("query");
      const access: ResultAccess = signature === undefined
        ? { claims: c.get("claims") }
        : { link: { expires, signature } };
      const result = await service.getResult(c, c.req.valid("param").job_id, access);
      return (await resultResponse(c.req.raw, result)) as never;
    })
    .openapi(
      cancelJob,
      async (c) => c.json(await service.cancelJob(c, c.req.valid("param").job_id, c.get("claims")), 200),
    );
}
