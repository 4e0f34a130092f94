/**
 * The edge Worker's HTTP layer: middleware order, the contract routes (declared
 * with `createRoute`, so `/openapi.json` documents every one), one validation
 * hook, one error handler. Durable Object work happens in the {@link Handlers}
 * the caller passes to {@link createApp}.
 *
 * Middleware order: trace → body limit (Content-Length) → bearer auth (/v1/*)
 * → gateway (sensitive headers dropped) → submission rate limit (POST /v1/jobs)
 * → operator role (/v1/ops/*)
 * → per route: body read (415/413/400) → zod validation (400/422) → handler.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { accepts } from "hono/accepts";
import { timing } from "hono/timing";
import { GEOS_VERSION } from "../wasm/generated/version.ts";
import { assertOperator } from "../shared/auth/abac.ts";
import type { Claims } from "../shared/auth/claims.ts";
import { bearerAuth, requireOperator } from "./auth/middleware.ts";
import { DatasetName, JobId } from "../shared/contract/common.ts";
import {
  DATASET_MEDIA_TYPES,
  DatasetDocument,
  DatasetManifest,
  DatasetParams,
  DatasetPutQuery,
  DatasetUploadCreated,
  DatasetUploadParams,
  DatasetUploadPart,
  DatasetUploadPartParams,
  DatasetUploadQuery,
  DatasetUploadStatus,
} from "../shared/contract/dataset.ts";
import {
  checkFeatureCollection,
  FeatureCollection,
  type FeatureCollectionSummary,
} from "../shared/contract/geojson.ts";
import { Health } from "../shared/contract/health.ts";
import {
  JobAccepted,
  JobRequest,
  JobStatusValue,
  normalizeJobRequest,
  type OutputFormat,
} from "../shared/contract/job.ts";
import {
  DATASET_LIMITS,
  MAX_DATASET_BODY_BYTES,
  MAX_JOB_BODY_BYTES,
  MAX_OTHER_BODY_BYTES,
} from "../shared/contract/limits.ts";
import { Problem } from "../shared/contract/problem.ts";
import { JobStatus } from "../shared/contract/status.ts";
import { bodyLimit, type BodyVariables, readBody } from "./http/body.ts";
import { collectFieldErrors, validationErrorFrom, validationHook } from "./http/validation.ts";
import { notFound, NotImplementedError, onError, ValidationError } from "../shared/problem.ts";
import { trace, type TraceVariables } from "./http/trace.ts";
import { gateway } from "./http/gateway.ts";
import { submissionRateLimit } from "./http/rate_limit.ts";

/** Context variables available to handlers. */
export type AppVariables = TraceVariables & Partial<BodyVariables> & { claims: Claims };
/** The Hono env of the app; `B` is the Worker's bindings (the lead passes `Env`). */
export interface AppEnv<B extends object = Record<string, unknown>> {
  Bindings: B;
  Variables: AppVariables;
}
export type AppContext<B extends object = Record<string, unknown>> = Context<AppEnv<B>>;

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

/** A validated dataset upload. */
export type DatasetBody =
  | {
    format: "geojson";
    /** Structurally valid, ids present and unique, coordinates in range of `query.crs` (not yet normalized). */
    featureCollection: FeatureCollection;
    summary: FeatureCollectionSummary;
    bytes: Uint8Array;
  }
  | {
    /** Size and magic bytes checked; contents not parsed. */
    format: "flatgeobuf";
    bytes: Uint8Array;
  };

/** A part's body as read (size, media type, JSON syntax); validated by the handler with the upload's CRS. */
export interface RawDatasetBody {
  mediaType: string;
  bytes: Uint8Array;
  /** The parsed JSON for JSON media types. */
  json: unknown;
}

/** Multipart dataset uploads (`/v1/datasets/{name}/uploads/...`; see src/datasets/upload.ts). */
export interface DatasetUploadHandlers<B extends object = Record<string, unknown>> {
  /** POST …/uploads: ownership checked like PUT. */
  open(
    c: AppContext<B>,
    name: string,
    query: DatasetPutQuery,
    claims: Claims,
  ): Promise<{ upload_id: string; expires_at: string }>;
  /** PUT …/uploads/{id}/parts/{n}: validated like PUT, tiled, recorded (replaces part n). */
  putPart(
    c: AppContext<B>,
    name: string,
    uploadId: string,
    n: number,
    body: RawDatasetBody,
    claims: Claims,
  ): Promise<DatasetUploadPart>;
  /** POST …/uploads/{id}/complete: the status (COMPLETING, or COMPLETED when already merged). */
  complete(c: AppContext<B>, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
  /** GET …/uploads/{id}. */
  status(c: AppContext<B>, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
  /** DELETE …/uploads/{id}: abort, part tiles deleted. */
  abort(c: AppContext<B>, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
}

/** `GET /v1/webhooks/secret`. */
export const WebhookSecret = z
  .object({
    secret: z.string().openapi({ example: "whsec_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
    signature_header: z.literal("X-Spatial-Jobs-Signature"),
    scheme: z.string(),
    tolerance_seconds: z.int().positive(),
  })
  .openapi("WebhookSecret");
export type WebhookSecret = z.infer<typeof WebhookSecret>;

/** One page of jobs for operators. */
export interface JobList {
  jobs: JobStatus[];
  next_cursor?: string;
}

/**
 * What the lead implements. Every method gets the Hono context (`c.env`,
 * `c.executionCtx`, `c.var.traceId`/`spanId`/`traceparent`/`logger`) and the
 * verified claims; input is already validated. Throw ProblemErrors
 * (`NotFoundError`, `ForbiddenError`, `ConflictError`, …) for expected failures.
 */
export interface Handlers<B extends object = Record<string, unknown>> {
  /** POST /v1/jobs. ABAC (area, dataset tiers), unknown dataset (422) and idempotency (409) are yours. */
  submitJob(c: AppContext<B>, request: JobRequest, claims: Claims): Promise<SubmittedJob>;
  /** GET /v1/jobs/{job_id}: 404 when unknown. */
  getJob(c: AppContext<B>, jobId: string, claims: Claims): Promise<JobStatus>;
  /** GET /v1/jobs/{job_id}/result: `ConflictError.resultNotReady` while not COMPLETED. */
  getResult(c: AppContext<B>, jobId: string, claims: Claims): Promise<JobResultBody>;
  /** DELETE /v1/jobs/{job_id}: idempotent; returns the (CANCELLED) status document. */
  cancelJob(c: AppContext<B>, jobId: string, claims: Claims): Promise<JobStatus>;
  /** PUT /v1/datasets/{name}: publish a new version; returns its manifest (201). */
  putDataset(
    c: AppContext<B>,
    name: string,
    query: DatasetPutQuery,
    body: DatasetBody,
    claims: Claims,
  ): Promise<DatasetManifest>;
  /** GET /v1/datasets/{name}: the current manifest with `versions`. */
  getDataset(c: AppContext<B>, name: string, claims: Claims): Promise<DatasetDocument>;
  /** GET /v1/ops/jobs?status=…: operator listing (the operator role is checked before the call). */
  listJobs?(c: AppContext<B>, query: OpsListQuery, claims: Claims): Promise<JobList>;
  /** POST /v1/ops/jobs/{job_id}/redrive: re-queue a DEAD_LETTER/FAILED job (operator role checked). */
  redriveJob?(c: AppContext<B>, jobId: string, claims: Claims): Promise<JobStatus>;
  /** GET /v1/ops/partitions/{cell}/events: the partition ledger's events as NDJSON (operator role checked). */
  exportEvents?(c: AppContext<B>, cell: string, jobId: string | undefined, claims: Claims): Promise<string>;
  /** GET /v1/ops/jobs/{job_id}/objects: the job's objects in R2 and which one the ledger committed (operator). */
  jobObjects?(c: AppContext<B>, jobId: string, claims: Claims): Promise<Record<string, unknown>>;
  /** GET /v1/ops/metrics: queue depth, oldest queued age, in-flight, retries, dead letters (operator role checked). */
  metrics?(c: AppContext<B>, claims: Claims): Promise<Record<string, unknown>>;
  /** GET /health: proves the geometry core is up (throws when it cannot load). */
  checkHealth?(c: AppContext<B>): Promise<void>;
  /** GET /v1/webhooks/secret: the caller's webhook signing secret. */
  webhookSecret?(c: AppContext<B>, claims: Claims): Promise<WebhookSecret>;
  /** Multipart dataset uploads. */
  datasetUploads?: DatasetUploadHandlers<B>;
}

/** Handlers that answer 501 until the lead wires the Durable Objects. */
export const notImplementedHandlers: Handlers<never> = {
  submitJob: () => Promise.reject(new NotImplementedError("POST /v1/jobs")),
  getJob: () => Promise.reject(new NotImplementedError("GET /v1/jobs/{job_id}")),
  getResult: () => Promise.reject(new NotImplementedError("GET /v1/jobs/{job_id}/result")),
  cancelJob: () => Promise.reject(new NotImplementedError("DELETE /v1/jobs/{job_id}")),
  putDataset: () => Promise.reject(new NotImplementedError("PUT /v1/datasets/{name}")),
  getDataset: () => Promise.reject(new NotImplementedError("GET /v1/datasets/{name}")),
};

const problemContent = { "application/problem+json": { schema: Problem } };
function problems(...codes: number[]) {
  const descriptions: Record<number, string> = {
    400: "Malformed request (JSON syntax, path parameter)",
    401: "Missing, forged or expired token",
    403: "Denied by ABAC (scope, classification, ownership, role)",
    404: "Not found",
    409: "Conflict",
    413: "Body over the documented size limit",
    415: "Unsupported content type or coding",
    422: "Request violates the contract",
    429: "Rate limited (see Retry-After)",
    500: "Unexpected error (quote the trace id)",
    501: "Not implemented yet",
  };
  return Object.fromEntries(
    [...codes, 401, 429, 500].map((
      code,
    ) => [code, { description: descriptions[code] ?? "Error", content: problemContent }]),
  );
}

const JobParams = z.object({ job_id: JobId.openapi({ param: { name: "job_id", in: "path" } }) });
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
const EventsParams = z.object({
  cell: z.string().regex(/^[0-9a-f]{15}$/, "an H3 cell index").openapi({ param: { name: "cell", in: "path" } }),
});
const EventsQuery = z.object({
  job_id: JobId.optional().openapi({ param: { name: "job_id", in: "query" } }),
});
export type OpsListQuery = z.output<typeof OpsListQuery>;
const security = [{ bearerAuth: [] }];
const traceHeaders = {
  "X-Request-Trace-ID": {
    description: "Echoed when valid (16–128 of [A-Za-z0-9._-]), else generated",
    schema: { type: "string" as const },
  },
  traceparent: { description: "W3C trace context of this response's span", schema: { type: "string" as const } },
};

export const routes = {
  health: createRoute({
    method: "get",
    path: "/health",
    tags: ["service"],
    summary: "Liveness and the GEOS version",
    responses: {
      200: { description: "Healthy", headers: traceHeaders, content: { "application/json": { schema: Health } } },
    },
  }),
  putDataset: createRoute({
    method: "put",
    path: "/v1/datasets/{name}",
    tags: ["datasets"],
    summary: "Publish a new version of a dataset (owning domain only)",
    description: "GeoJSON FeatureCollection (application/geo+json or application/json) or FlatGeobuf " +
      `(application/flatgeobuf), at most ${MAX_DATASET_BODY_BYTES} bytes. Feature ids: \`id\`, else \`properties.id\`; ` +
      "missing or duplicate → 422. Coordinates in `crs` (normalized to EPSG:4326).",
    security,
    middleware: [readBody({ maxBytes: MAX_DATASET_BODY_BYTES, accept: DATASET_MEDIA_TYPES })] as const,
    request: {
      params: DatasetParams,
      query: DatasetPutQuery,
      body: {
        required: true,
        content: {
          "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
          "application/json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
          "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
        },
      },
    },
    responses: {
      201: {
        description: "Published",
        headers: traceHeaders,
        content: { "application/json": { schema: DatasetManifest } },
      },
      ...problems(400, 403, 413, 415, 422),
    },
  }),
  openDatasetUpload: createRoute({
    method: "post",
    path: "/v1/datasets/{name}/uploads",
    tags: ["datasets"],
    summary: "Open a multipart upload of a new dataset version (owning domain only)",
    description: "For datasets over one PUT's limits. Then PUT each part (any order, re-PUT replaces it), then " +
      "POST …/complete. Query options are PUT's and apply to every part. An open upload expires after 24 h.",
    security,
    request: { params: DatasetParams, query: DatasetUploadQuery },
    responses: {
      201: {
        description: "Opened",
        headers: { Location: { description: "The upload's status URL", schema: { type: "string" } } },
        content: { "application/json": { schema: DatasetUploadCreated } },
      },
      ...problems(400, 403, 422),
    },
  }),
  putDatasetUploadPart: createRoute({
    method: "put",
    path: "/v1/datasets/{name}/uploads/{upload_id}/parts/{n}",
    tags: ["datasets"],
    summary: "Upload part n: a GeoJSON FeatureCollection or FlatGeobuf file, validated exactly like PUT",
    description: `At most ${MAX_DATASET_BODY_BYTES} bytes and PUT's feature limits per part. Invalid → 422 and ` +
      "nothing of the part is kept. Ids must be unique within the part; ids repeated across parts are refused " +
      "at complete (422).",
    security,
    middleware: [readBody({ maxBytes: MAX_DATASET_BODY_BYTES, accept: DATASET_MEDIA_TYPES })] as const,
    request: {
      params: DatasetUploadPartParams,
      body: {
        required: true,
        content: {
          "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
          "application/json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
          "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
        },
      },
    },
    responses: {
      200: { description: "Part stored", content: { "application/json": { schema: DatasetUploadPart } } },
      ...problems(400, 403, 404, 409, 413, 415, 422),
    },
  }),
  completeDatasetUpload: createRoute({
    method: "post",
    path: "/v1/datasets/{name}/uploads/{upload_id}/complete",
    tags: ["datasets"],
    summary: "Complete an upload: merge the parts' tiles per cell and publish the version",
    description: "Ids present in two parts → 422 (the upload stays OPEN: re-PUT a part and complete again). " +
      "Otherwise 202 with state COMPLETING and Location: the merge runs in the dataset's catalog (its alarm); poll " +
      "GET …/uploads/{upload_id} until COMPLETED (with the manifest, as PUT answers) or FAILED. Completing again " +
      "is idempotent (200 once COMPLETED, same manifest, no new version).",
    security,
    request: { params: DatasetUploadParams },
    responses: {
      202: {
        description: "Merging",
        headers: { Location: { description: "The upload's status URL", schema: { type: "string" } } },
        content: { "application/json": { schema: DatasetUploadStatus } },
      },
      200: { description: "Already completed", content: { "application/json": { schema: DatasetUploadStatus } } },
      ...problems(400, 403, 404, 409, 422),
    },
  }),
  getDatasetUpload: createRoute({
    method: "get",
    path: "/v1/datasets/{name}/uploads/{upload_id}",
    tags: ["datasets"],
    summary: "An upload's state: OPEN, COMPLETING, COMPLETED (with the manifest), FAILED, ABORTED",
    security,
    request: { params: DatasetUploadParams },
    responses: {
      200: { description: "Status", content: { "application/json": { schema: DatasetUploadStatus } } },
      ...problems(400, 403, 404),
    },
  }),
  abortDatasetUpload: createRoute({
    method: "delete",
    path: "/v1/datasets/{name}/uploads/{upload_id}",
    tags: ["datasets"],
    summary: "Abort an upload (its part tiles are deleted; 409 once completing or completed)",
    security,
    request: { params: DatasetUploadParams },
    responses: {
      200: { description: "Aborted", content: { "application/json": { schema: DatasetUploadStatus } } },
      ...problems(400, 403, 404, 409),
    },
  }),
  getDataset: createRoute({
    method: "get",
    path: "/v1/datasets/{name}",
    tags: ["datasets"],
    summary: "The current manifest of a dataset, with its versions",
    security,
    request: { params: DatasetParams },
    responses: {
      200: { description: "Manifest", content: { "application/json": { schema: DatasetDocument } } },
      ...problems(400, 403, 404),
    },
  }),
  submitJob: createRoute({
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
  }),
  getJob: createRoute({
    method: "get",
    path: "/v1/jobs/{job_id}",
    tags: ["jobs"],
    summary: "The job's status document",
    security,
    request: { params: JobParams },
    responses: {
      200: { description: "Status", content: { "application/json": { schema: JobStatus } } },
      ...problems(400, 403, 404),
    },
  }),
  getResult: createRoute({
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
  }),
  cancelJob: createRoute({
    method: "delete",
    path: "/v1/jobs/{job_id}",
    tags: ["jobs"],
    summary: "Cancel a job (idempotent; a committed result stays)",
    security,
    request: { params: JobParams },
    responses: {
      200: { description: "The status document, CANCELLED", content: { "application/json": { schema: JobStatus } } },
      ...problems(400, 403, 404),
    },
  }),
  opsListJobs: createRoute({
    method: "get",
    path: "/v1/ops/jobs",
    tags: ["operations"],
    summary: "List jobs by status (operators; default DEAD_LETTER)",
    security,
    request: { query: OpsListQuery },
    responses: {
      200: {
        description: "A page of jobs",
        content: {
          "application/json": {
            schema: z.object({ jobs: z.array(JobStatus), next_cursor: z.string().optional() }).openapi("JobList"),
          },
        },
      },
      ...problems(403, 422, 501),
    },
  }),
  opsRedrive: createRoute({
    method: "post",
    path: "/v1/ops/jobs/{job_id}/redrive",
    tags: ["operations"],
    summary: "Re-queue a DEAD_LETTER or FAILED job (operators)",
    security,
    request: { params: JobParams },
    responses: {
      200: { description: "The re-queued job", content: { "application/json": { schema: JobStatus } } },
      ...problems(400, 403, 404, 409, 501),
    },
  }),
  opsEvents: createRoute({
    method: "get",
    path: "/v1/ops/partitions/{cell}/events",
    tags: ["operations"],
    summary: "Export a partition's ledger events as NDJSON, for audit and replay (operators)",
    security,
    request: { params: EventsParams, query: EventsQuery },
    responses: {
      200: { description: "One JSON event per line", content: { "application/x-ndjson": { schema: z.string() } } },
      ...problems(400, 403, 501),
    },
  }),
  opsJobObjects: createRoute({
    method: "get",
    path: "/v1/ops/jobs/{job_id}/objects",
    tags: ["operations"],
    summary: "A job's objects in R2 (results, staged parts) and the committed one (operators, for reconciliation)",
    security,
    request: { params: JobParams },
    responses: {
      200: { description: "Objects", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
      ...problems(400, 403, 404, 501),
    },
  }),
  webhookSecret: createRoute({
    method: "get",
    path: "/v1/webhooks/secret",
    tags: ["webhooks"],
    summary: "Your webhook signing secret",
    description: "Callbacks to your callback_url carry `X-Spatial-Jobs-Signature: t=<unix seconds>,v1=<hex>` where " +
      "v1 = HMAC-SHA256(key = this secret's UTF-8 bytes, message = `<t>.<raw body>`). Recompute it over the raw body, " +
      "compare in constant time, and refuse a t more than tolerance_seconds from your clock (replays). Dedupe on " +
      "X-Spatial-Jobs-Delivery: a delivery may arrive more than once. The secret is derived per token subject.",
    security,
    responses: {
      200: { description: "The secret", content: { "application/json": { schema: WebhookSecret } } },
      ...problems(503),
    },
  }),
  opsMetrics: createRoute({
    method: "get",
    path: "/v1/ops/metrics",
    tags: ["operations"],
    summary: "Queue depth, oldest queued age, in-flight, retries, dead letters, alert thresholds (operators)",
    security,
    responses: {
      200: { description: "Metrics", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } },
      ...problems(403, 501),
    },
  }),
} as const;

/** Byte limit per route, enforced on Content-Length before auth and again while streaming. */
export function bodyLimitFor(method: string, path: string): number {
  if (method === "POST" && path === "/v1/jobs") return MAX_JOB_BODY_BYTES;
  if (method === "PUT" && path.startsWith("/v1/datasets/")) return MAX_DATASET_BODY_BYTES;
  return MAX_OTHER_BODY_BYTES;
}

/** FlatGeobuf files start with `fgb`, the major version 3, `fgb`, then a patch byte. */
export function isFlatGeobuf(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x66 && bytes[1] === 0x67 && bytes[2] === 0x62 && bytes[3] === 0x03 &&
    bytes[4] === 0x66 && bytes[5] === 0x67 && bytes[6] === 0x62;
}

/** Validates a GeoJSON dataset body: structure (zod), then ranges in `crs`, rings, ids and limits. */
export function validateDatasetGeoJson(
  json: unknown,
  crs: DatasetPutQuery["crs"],
): { featureCollection: FeatureCollection; summary: FeatureCollectionSummary } {
  const parsed = FeatureCollection.safeParse(json);
  if (!parsed.success) throw validationErrorFrom(parsed.error, "json");
  const issues = collectFieldErrors("The dataset");
  const summary = checkFeatureCollection(parsed.data, crs, DATASET_LIMITS, [], issues.sink);
  issues.throwIfAny();
  return { featureCollection: parsed.data, summary };
}

function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}

/**
 * Builds the app around `handlers`.
 *
 * @example
 * ```ts
 * // src/worker.ts
 * const app = createApp<Env>(handlers);
 * export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
 * ```
 */
export function createApp<B extends object = Record<string, unknown>>(
  handlers: Handlers<B> = notImplementedHandlers as unknown as Handlers<B>,
): OpenAPIHono<AppEnv<B>> {
  const app = new OpenAPIHono<AppEnv<B>>({ defaultHook: validationHook });
  app.onError(onError);
  app.notFound(notFound);

  app.use("*", trace());
  app.use("*", bodyLimit(bodyLimitFor));
  // Server-Timing on every API answer: where a request's time went (a submit's stages: rate_limit, catalog,
  // payload, claim, upload, home).
  app.use("/v1/*", timing({ totalDescription: "total" }));
  app.use("/v1/*", bearerAuth());
  app.use("*", gateway());
  app.use("/v1/jobs", submissionRateLimit());
  app.use("/v1/ops/*", requireOperator());

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "HS256 with JWT_SECRET locally; RS256/ES256 against JWT_JWKS in production. " +
      "Claims: sub, domain, spatial_scope, data_classification, exp, iat (60 s clock skew).",
  });
  app.openAPIRegistry.register("FeatureCollection", FeatureCollection);
  app.openAPIRegistry.register("DatasetName", DatasetName);

  const claimsOf = (c: AppContext<B>): Claims => c.var.claims;

  app.openapi(routes.health, async (c) => {
    await handlers.checkHealth?.(c);
    return c.json({ status: "ok" as const, geos_version: GEOS_VERSION }, 200);
  });

  app.openapi(routes.putDataset, async (c) => {
    const { name } = c.req.valid("param");
    const query = c.req.valid("query");
    const bytes = c.var.rawBody ?? new Uint8Array(0);
    let body: DatasetBody;
    if (c.var.bodyMediaType === "application/flatgeobuf") {
      if (!isFlatGeobuf(bytes)) {
        throw new ValidationError("The body is not a FlatGeobuf file (bad magic bytes).", [
          { path: "", message: "expected a FlatGeobuf v3 file" },
        ]);
      }
      body = { format: "flatgeobuf", bytes };
    } else {
      body = { format: "geojson", ...validateDatasetGeoJson(c.var.jsonBody, query.crs), bytes };
    }
    const manifest = await handlers.putDataset(c as AppContext<B>, name, query, body, claimsOf(c as AppContext<B>));
    c.header("Location", `/v1/datasets/${encodeURIComponent(name)}`);
    c.header("ETag", quoteEtag(manifest.etag));
    return c.json(manifest, 201);
  });

  const uploads = (): DatasetUploadHandlers<B> => {
    if (!handlers.datasetUploads) throw new NotImplementedError("/v1/datasets/{name}/uploads");
    return handlers.datasetUploads;
  };
  const uploadUrl = (name: string, id: string) =>
    `/v1/datasets/${encodeURIComponent(name)}/uploads/${encodeURIComponent(id)}`;

  app.openapi(routes.openDatasetUpload, async (c) => {
    const { name } = c.req.valid("param");
    const ctx = c as AppContext<B>;
    const opened = await uploads().open(ctx, name, c.req.valid("query"), claimsOf(ctx));
    const self = uploadUrl(name, opened.upload_id);
    c.header("Location", self);
    return c.json({ ...opened, links: { self, parts: `${self}/parts/{n}`, complete: `${self}/complete` } }, 201);
  });

  app.openapi(routes.putDatasetUploadPart, async (c) => {
    const { name, upload_id, n } = c.req.valid("param");
    const ctx = c as AppContext<B>;
    const body = {
      mediaType: c.var.bodyMediaType ?? "",
      bytes: c.var.rawBody ?? new Uint8Array(0),
      json: c.var.jsonBody,
    };
    return c.json(await uploads().putPart(ctx, name, upload_id, n, body, claimsOf(ctx)), 200);
  });

  app.openapi(routes.completeDatasetUpload, async (c) => {
    const { name, upload_id } = c.req.valid("param");
    const ctx = c as AppContext<B>;
    const status = await uploads().complete(ctx, name, upload_id, claimsOf(ctx));
    if (status.state === "COMPLETED") return c.json(status, 200);
    c.header("Location", uploadUrl(name, upload_id));
    return c.json(status, 202);
  });

  app.openapi(routes.getDatasetUpload, async (c) => {
    const { name, upload_id } = c.req.valid("param");
    const ctx = c as AppContext<B>;
    return c.json(await uploads().status(ctx, name, upload_id, claimsOf(ctx)), 200);
  });

  app.openapi(routes.abortDatasetUpload, async (c) => {
    const { name, upload_id } = c.req.valid("param");
    const ctx = c as AppContext<B>;
    return c.json(await uploads().abort(ctx, name, upload_id, claimsOf(ctx)), 200);
  });

  app.openapi(routes.getDataset, async (c) => {
    const { name } = c.req.valid("param");
    const doc = await handlers.getDataset(c as AppContext<B>, name, claimsOf(c as AppContext<B>));
    c.header("ETag", quoteEtag(doc.etag));
    return c.json(doc, 200);
  });

  app.openapi(routes.submitJob, async (c) => {
    const request = normalizeJobRequest(c.req.valid("json"));
    const job = await handlers.submitJob(c as AppContext<B>, request, claimsOf(c as AppContext<B>));
    const self = `/v1/jobs/${encodeURIComponent(job.job_id)}`;
    const body: JobAccepted = { job_id: job.job_id, status: job.status, links: { self, result: `${self}/result` } };
    c.header("Location", self);
    return job.created ? c.json(body, 202) : c.json(body, 200);
  });

  app.openapi(routes.getJob, async (c) => {
    const { job_id } = c.req.valid("param");
    return c.json(await handlers.getJob(c as AppContext<B>, job_id, claimsOf(c as AppContext<B>)), 200);
  });

  app.openapi(routes.getResult, async (c) => {
    const { job_id } = c.req.valid("param");
    const result = await handlers.getResult(c as AppContext<B>, job_id, claimsOf(c as AppContext<B>));
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
      return new Response(null, { status: 304, headers }) as never;
    }
    if (encoded) {
      headers.set("Content-Encoding", result.encoding!);
      if (result.storedBytes !== undefined) headers.set("Content-Length", String(result.storedBytes));
      // workerd: send the body as it is (it would otherwise encode it again).
      return new Response(
        result.body as BodyInit,
        { status: 200, headers, encodeBody: "manual" } as ResponseInit,
      ) as never;
    }
    if (result.encoding) {
      const body = new Response(result.body as BodyInit).body!.pipeThrough(new DecompressionStream(result.encoding));
      return new Response(body, { status: 200, headers }) as never;
    }
    if (result.bytes !== undefined) headers.set("Content-Length", String(result.bytes));
    return new Response(result.body as BodyInit, { status: 200, headers }) as never;
  });

  app.openapi(routes.cancelJob, async (c) => {
    const { job_id } = c.req.valid("param");
    return c.json(await handlers.cancelJob(c as AppContext<B>, job_id, claimsOf(c as AppContext<B>)), 200);
  });

  app.openapi(routes.opsListJobs, async (c) => {
    const claims = claimsOf(c as AppContext<B>);
    assertOperator(claims, c.var.logger);
    if (!handlers.listJobs) throw new NotImplementedError("GET /v1/ops/jobs");
    return c.json(await handlers.listJobs(c as AppContext<B>, c.req.valid("query"), claims), 200);
  });

  app.openapi(routes.opsRedrive, async (c) => {
    const claims = claimsOf(c as AppContext<B>);
    assertOperator(claims, c.var.logger);
    if (!handlers.redriveJob) throw new NotImplementedError("POST /v1/ops/jobs/{job_id}/redrive");
    return c.json(await handlers.redriveJob(c as AppContext<B>, c.req.valid("param").job_id, claims), 200);
  });

  app.openapi(routes.opsEvents, async (c) => {
    const claims = claimsOf(c as AppContext<B>);
    assertOperator(claims, c.var.logger);
    if (!handlers.exportEvents) throw new NotImplementedError("GET /v1/ops/partitions/{cell}/events");
    const body = await handlers.exportEvents(
      c as AppContext<B>,
      c.req.valid("param").cell,
      c.req.valid("query").job_id,
      claims,
    );
    return c.body(body, 200, { "content-type": "application/x-ndjson" }) as never;
  });

  app.openapi(routes.opsJobObjects, async (c) => {
    const claims = claimsOf(c as AppContext<B>);
    assertOperator(claims, c.var.logger);
    if (!handlers.jobObjects) throw new NotImplementedError("GET /v1/ops/jobs/{job_id}/objects");
    return c.json(await handlers.jobObjects(c as AppContext<B>, c.req.valid("param").job_id, claims), 200);
  });

  app.openapi(routes.webhookSecret, async (c) => {
    if (!handlers.webhookSecret) throw new NotImplementedError("GET /v1/webhooks/secret");
    return c.json(await handlers.webhookSecret(c as AppContext<B>, claimsOf(c as AppContext<B>)), 200);
  });

  app.openapi(routes.opsMetrics, async (c) => {
    const claims = claimsOf(c as AppContext<B>);
    assertOperator(claims, c.var.logger);
    if (!handlers.metrics) throw new NotImplementedError("GET /v1/ops/metrics");
    return c.json(await handlers.metrics(c as AppContext<B>, claims), 200);
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["service"],
    summary: "This OpenAPI 3.1 document",
    responses: {
      200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } },
    },
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "spatial-jobs",
      version: "1.0.0",
      description: "Asynchronous heavy spatial queries at the edge. Errors are RFC 9457 application/problem+json " +
        "with trace_id; every response carries X-Request-Trace-ID and traceparent. Limits: jobs " +
        `${MAX_JOB_BODY_BYTES} bytes, datasets ${MAX_DATASET_BODY_BYTES} bytes (see shared/contract/limits.ts).`,
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));

  return app;
}
