/** `/v1/jobs`: submit, status, result, cancel (the work is the job service's: src/routes/jobs.ts). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { accepts } from "hono/accepts";
import type { Claims } from "../../shared/auth/claims.ts";
import { JobAccepted, type JobStatusValue, type OutputFormat } from "../../shared/contract/job.ts";
import { JobRequest, normalizeJobRequest } from "../../operations/request.ts";
import { MAX_JOB_BODY_BYTES } from "../../shared/contract/limits.ts";
import { JobStatusDocument } from "../../shared/contract/status.ts";
import { readBody } from "../http/body.ts";
import {
  type AppContext,
  type AppEnv,
  JobParams,
  problems,
  quoteEtag,
  router,
  security,
  traceHeaders,
} from "./openapi.ts";

type Ctx = AppContext;

/** What `submitJob` answers: `created` → 202, an idempotent replay → 200. */
export interface SubmittedJob {
  job_id: string;
  status: JobStatusValue;
  created: boolean;
}

/** A committed result to stream back from `GET /v1/jobs/{job_id}/result`. */
export interface JobResultBody {
  body: ReadableStream<Uint8Array> | Uint8Array | ArrayBuffer | string;
  format: OutputFormat;
  /** The strong ETag (quoted or not; it is quoted on the way out). */
  etag: string;
  /** The result's size (decoded). */
  bytes?: number;
  /** The body is this content coding of the result (sent as is to clients that accept it, else decoded). */
  encoding?: "gzip";
  /** The body's size when it is encoded. */
  storedBytes?: number;
}

/**
 * The work behind `/v1/jobs`. Input is already validated and the caller authenticated; expected failures are
 * thrown as ProblemErrors (`NotFoundError`, `ConflictError`, …).
 */
export interface JobService {
  /** ABAC (area, dataset tiers), unknown dataset (422) and idempotency (409) are checked here. */
  submitJob(c: Ctx, request: JobRequest, claims: Claims): Promise<SubmittedJob>;
  /** 404 when unknown or not the caller's. */
  getJob(c: Ctx, jobId: string, claims: Claims): Promise<JobStatusDocument>;
  /** `ConflictError.resultNotReady` while not COMPLETED. */
  getResult(c: Ctx, jobId: string, claims: Claims): Promise<JobResultBody>;
  /** Idempotent; the (CANCELLED) status document. */
  cancelJob(c: Ctx, jobId: string, claims: Claims): Promise<JobStatusDocument>;
}

const submitJob = createRoute({
  method: "post",
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

const getJob = createRoute({
  method: "get",
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

const getResult = createRoute({
  method: "get",
  path: "/v1/jobs/{job_id}/result",
  tags: ["jobs"],
  summary: "The committed result (409 until COMPLETED)",
  security,
  request: { params: JobParams },
  responses: {
    200: {
      description: "The result, with its ETag. GeoJSON results are stored gzip-compressed: sent with " +
        "`Content-Encoding: gzip` to clients whose Accept-Encoding allows it (the status document's ETag), " +
        "else decoded on the way (the same ETag, weak).",
      headers: {
        ETag: { schema: { type: "string" } },
        "Content-Encoding": { schema: { type: "string", enum: ["gzip"] } },
        Vary: { schema: { type: "string" } },
      },
      content: {
        "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
        "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
      },
    },
    304: { description: "Not modified (If-None-Match matched)" },
    ...problems(400, 403, 404, 409),
  },
});

const cancelJob = createRoute({
  method: "delete",
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
  return router()
    .openapi(submitJob, async (c) => {
      const request = normalizeJobRequest(c.req.valid("json"));
      const job = await service.submitJob(c, request, c.var.claims);
      const self = `/v1/jobs/${encodeURIComponent(job.job_id)}`;
      const body: JobAccepted = { job_id: job.job_id, status: job.status, links: { self, result: `${self}/result` } };
      c.header("Location", self);
      return job.created ? c.json(body, 202) : c.json(body, 200);
    })
    .openapi(getJob, async (c) => c.json(await service.getJob(c, c.req.valid("param").job_id, c.var.claims), 200))
    .openapi(getResult, async (c) => {
      const result = await service.getResult(c, c.req.valid("param").job_id, c.var.claims);
      return (await resultResponse(c, result)) as never;
    })
    .openapi(
      cancelJob,
      async (c) => c.json(await service.cancelJob(c, c.req.valid("param").job_id, c.var.claims), 200),
    );
}

/** The result as stored, or decoded for clients that refuse its coding; 304 when If-None-Match matches. */
async function resultResponse(c: Ctx, result: JobResultBody): Promise<Response> {
  const encoded = result.encoding !== undefined &&
    accepts(c, { header: "Accept-Encoding", supports: [result.encoding], default: "identity" }) === result.encoding;
  // Decoded on the way out, the body is another representation: its validator is the stored one, weak.
  const etag = result.encoding && !encoded ? `W/${quoteEtag(result.etag)}` : quoteEtag(result.etag);
  const headers = new Headers({
    "Content-Type": result.format === "flatgeobuf" ? "application/flatgeobuf" : "application/geo+json",
    ETag: etag,
    "Cache-Control": "private, max-age=0, must-revalidate",
  });
  if (result.encoding) headers.set("Vary", "Accept-Encoding");
  const inm = c.req.header("if-none-match");
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  if (inm && inm.split(",").some((t) => opaque(t) === opaque(etag) || t.trim() === "*")) {
    if (result.body instanceof ReadableStream) await result.body.cancel().catch(() => {});
    return new Response(null, { status: 304, headers });
  }
  if (encoded) {
    headers.set("Content-Encoding", result.encoding!);
    if (result.storedBytes !== undefined) headers.set("Content-Length", String(result.storedBytes));
    // workerd: send the body as it is (it would otherwise encode it again).
    return new Response(result.body as BodyInit, { status: 200, headers, encodeBody: "manual" } as ResponseInit);
  }
  if (result.encoding) {
    const body = new Response(result.body as BodyInit).body!.pipeThrough(new DecompressionStream(result.encoding));
    return new Response(body, { status: 200, headers });
  }
  if (result.bytes !== undefined) headers.set("Content-Length", String(result.bytes));
  return new Response(result.body as BodyInit, { status: 200, headers });
}
