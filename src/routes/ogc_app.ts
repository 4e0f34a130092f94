/**
 * OGC API – Processes – Part 1: Core over the same engine as `/v1`: every job is submitted, read, fetched and
 * cancelled through the `/v1` job service (same ledger, idempotency, scope and tier checks), so a job submitted
 * through either API is visible through both. JSON by default; HTML with `?f=html` or `Accept: text/html`.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { accepts } from "hono/accepts";
import type { Claims } from "../../shared/auth/claims.ts";
import { JobId } from "../../shared/contract/common.ts";
import { MAX_JOB_BODY_BYTES } from "../../shared/contract/limits.ts";
import {
  OGC_CONFORMANCE_CLASSES,
  OGC_EXCEPTION,
  OgcConformance,
  OgcExecute,
  OgcJobList,
  OgcLandingPage,
  type OgcLink,
  OgcProcess,
  OgcProcessList,
  OgcStatusInfo,
} from "../../shared/contract/ogc.ts";
import { NotFoundError, ProblemError, ValidationError } from "../../shared/problem.ts";
import { readBody } from "../http/body.ts";
import { jobRequestOf } from "../ogc/execute.ts";
import * as pages from "../ogc/html.ts";
import { isProcessId, processDescription, processIds, processListLinks, processSummary } from "../ogc/processes.ts";
import { statusInfo } from "../ogc/status_info.ts";
import type { JobService } from "./jobs_app.ts";
import { resultResponse } from "../results/response.ts";
import { type AppContext, type AppEnv, problems, publicProblems, router, security } from "./openapi.ts";

type Ctx = AppContext;

/** A page of the caller's jobs; `next` is the cursor of the following page. */
export interface OwnJobsPage {
  jobs: { job_id: string; operation: string }[];
  next?: string;
}

/** The caller's jobs, newest first, whichever API submitted them. */
export interface OgcJobIndex {
  ownJobs(c: Ctx, claims: Claims, limit: number, after?: string): Promise<OwnJobsPage>;
  /** The operation of one of the caller's jobs; null when the caller did not submit it (an operator's view). */
  jobOperation(c: Ctx, claims: Claims, jobId: string): Promise<string | null>;
}

const TITLE = "spatial-jobs";
const DESCRIPTION = "Heavy spatial queries (overlays, joins, point in polygon) run asynchronously at the edge, " +
  "as OGC API – Processes.";
const REL = "http://www.opengis.net/def/rel/ogc/1.0/";

const Format = z.enum(["json", "html"]).optional().openapi({
  description: "Response format (else by Accept: text/html gives HTML)",
});
const AccessToken = z.string().optional().openapi({
  description: "The bearer token, for pages a browser opens (RFC 6750 §2.3); never echoed",
});
const ProcessParams = z.object({
  processId: z.string().openapi({ param: { name: "processId", in: "path" }, example: "polygon_intersection" }),
});
const JobParams = z.object({ jobId: JobId.openapi({ param: { name: "jobId", in: "path" } }) });
const htmlContent = { "text/html": { schema: { type: "string" as const } } };

const landing = createRoute({
  method: "get",
  operationId: "getLandingPage",
  path: "/",
  tags: ["ogc"],
  summary: "OGC API landing page",
  security: [],
  request: { query: z.object({ f: Format }) },
  responses: {
    200: {
      description: "Landing page",
      content: { "application/json": { schema: OgcLandingPage }, ...htmlContent },
    },
    ...publicProblems(413, 422),
  },
});

const conformance = createRoute({
  method: "get",
  operationId: "getConformance",
  path: "/conformance",
  tags: ["ogc"],
  summary: "Conformance classes",
  security: [],
  request: { query: z.object({ f: Format }) },
  responses: {
    200: { description: "Conformance", content: { "application/json": { schema: OgcConformance }, ...htmlContent } },
    ...publicProblems(413, 422),
  },
});

const processList = createRoute({
  method: "get",
  operationId: "listProcesses",
  path: "/processes",
  tags: ["ogc"],
  summary: "One process per spatial operation",
  security: [],
  request: { query: z.object({ f: Format }) },
  responses: {
    200: {
      description: "Process list",
      content: { "application/json": { schema: OgcProcessList }, ...htmlContent },
    },
    ...publicProblems(413, 422),
  },
});

const processRoute = createRoute({
  method: "get",
  operationId: "getProcess",
  path: "/processes/{processId}",
  tags: ["ogc"],
  summary: "A process: its inputs (the /v1 job request's fields) and output as JSON Schema",
  security: [],
  request: { params: ProcessParams, query: z.object({ f: Format }) },
  responses: {
    200: {
      description: "Process description",
      content: { "application/json": { schema: OgcProcess }, ...htmlContent },
    },
    ...publicProblems(404, 413, 422),
  },
});

/** Unknown process: 404 before the body is read. */
const knownProcess: MiddlewareHandler<AppEnv> = async (c, next) => {
  const id = c.req.param("processId") ?? "";
  if (!isProcessId(id)) throw noSuchProcess(id);
  await next();
};

const execute = createRoute({
  method: "post",
  operationId: "executeProcess",
  path: "/processes/{processId}/execution",
  tags: ["ogc"],
  summary: "Execute a process: a job, asynchronously",
  description: "Always asynchronous (the processes' jobControlOptions are async-execute and dismiss): 201 with " +
    "`Location: /jobs/{jobId}` and a statusInfo; an `Idempotency-Key` (UUID v4) that was used before with the " +
    "same inputs answers 200 with that job. `subscriber` URIs become the job's callback_url (one URI for every " +
    "event). Same auth, scope, tier and rate checks as `POST /v1/jobs`.",
  security,
  middleware: [knownProcess, readBody({ maxBytes: MAX_JOB_BODY_BYTES, accept: ["application/json"] })] as const,
  request: {
    params: ProcessParams,
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({ description: "A UUID v4: the job's idempotency key" }),
      prefer: z.string().optional().openapi({ description: "respond-async (the only mode)" }),
    }),
    body: { required: true, content: { "application/json": { schema: OgcExecute } } },
  },
  responses: {
    201: {
      description: "Job created",
      headers: { Location: { description: "/jobs/{jobId}", schema: { type: "string" } } },
      content: { "application/json": { schema: OgcStatusInfo } },
    },
    200: {
      description: "Idempotent replay: the existing job",
      content: { "application/json": { schema: OgcStatusInfo } },
    },
    ...problems(400, 403, 404, 409, 413, 415, 422),
  },
});

const jobList = createRoute({
  method: "get",
  operationId: "listOgcJobs",
  path: "/jobs",
  tags: ["ogc"],
  summary: "The caller's jobs (either API), newest first",
  security,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(10).openapi({ type: "integer" }),
      after: z.string().max(200).optional().openapi({ description: "The cursor of the previous page's next link" }),
      f: Format,
      access_token: AccessToken,
    }),
  },
  responses: {
    200: { description: "Job list", content: { "application/json": { schema: OgcJobList }, ...htmlContent } },
    ...problems(422),
  },
});

const jobStatus = createRoute({
  method: "get",
  operationId: "getOgcJobStatus",
  path: "/jobs/{jobId}",
  tags: ["ogc"],
  summary: "A job's statusInfo; as HTML, a live page with the result on a map",
  security,
  request: { params: JobParams, query: z.object({ f: Format, access_token: AccessToken }) },
  responses: {
    200: { description: "statusInfo", content: { "application/json": { schema: OgcStatusInfo }, ...htmlContent } },
    ...problems(400, 404),
  },
});

const jobResults = createRoute({
  method: "get",
  operationId: "getOgcJobResults",
  path: "/jobs/{jobId}/results",
  tags: ["ogc"],
  summary: "The job's one output, raw (the same bytes as GET /v1/jobs/{job_id}/result)",
  security,
  request: { params: JobParams, query: z.object({ access_token: AccessToken }) },
  responses: {
    200: {
      description: "The result",
      content: {
        "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
        "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
      },
    },
    ...problems(400, 403, 404),
  },
});

const dismiss = createRoute({
  method: "delete",
  operationId: "dismissOgcJob",
  path: "/jobs/{jobId}",
  tags: ["ogc"],
  summary: "Dismiss (cancel) a job",
  security,
  request: { params: JobParams },
  responses: {
    200: { description: "statusInfo, dismissed", content: { "application/json": { schema: OgcStatusInfo } } },
    ...problems(400, 404),
  },
});

/** The OGC routes over the `/v1` job service and the caller's job index. */
export function ogcRoutes(jobs: JobService, index: OgcJobIndex): OpenAPIHono<AppEnv> {
  return router()
    .openapi(landing, (c) => {
      const base = baseOf(c);
      const links: OgcLink[] = [
        { href: `${base}/`, rel: "self", type: "application/json", title: "This document" },
        { href: `${base}/?f=html`, rel: "alternate", type: "text/html", title: "This document as HTML" },
        {
          href: `${base}/openapi.json`,
          rel: "service-desc",
          type: "application/vnd.oai.openapi+json;version=3.1",
          title: "The API definition",
        },
        { href: `${base}/conformance`, rel: `${REL}conformance`, type: "application/json", title: "Conformance" },
        { href: `${base}/processes`, rel: `${REL}processes`, type: "application/json", title: "Processes" },
        { href: `${base}/jobs`, rel: `${REL}job-list`, type: "application/json", title: "Your jobs" },
      ];
      if (wantsHtml(c)) return c.html(pages.landingPage(TITLE, DESCRIPTION, links)) as never;
      return c.json({ title: TITLE, description: DESCRIPTION, links }, 200);
    })
    .openapi(conformance, (c) => {
      if (wantsHtml(c)) return c.html(pages.conformancePage(OGC_CONFORMANCE_CLASSES)) as never;
      return c.json({ conformsTo: [...OGC_CONFORMANCE_CLASSES] }, 200);
    })
    .openapi(processList, (c) => {
      const base = baseOf(c);
      const processes = processIds().map((id) => processSummary(id, base));
      if (wantsHtml(c)) return c.html(pages.processListPage(processes)) as never;
      return c.json({ processes, links: processListLinks(base) }, 200);
    })
    .openapi(processRoute, (c) => {
      const id = c.req.valid("param").processId;
      if (!isProcessId(id)) throw noSuchProcess(id);
      const process = processDescription(id, baseOf(c));
      if (wantsHtml(c)) return c.html(pages.processPage(process)) as never;
      return c.json(process, 200);
    })
    .openapi(execute, async (c) => {
      const processId = c.req.valid("param").processId;
      if (!isProcessId(processId)) throw noSuchProcess(processId);
      const request = jobRequestOf(processId, c.req.valid("json"), c.req.header("idempotency-key"));
      const job = await jobs.submitJob(c, request, c.var.claims).catch(asInputErrors);
      const base = baseOf(c);
      const info = statusInfo(await jobs.getJob(c, job.job_id, c.var.claims), base, processId);
      c.header("Location", `${base}/jobs/${encodeURIComponent(job.job_id)}`);
      if (/\brespond-async\b/.test(c.req.header("prefer") ?? "")) c.header("Preference-Applied", "respond-async");
      return job.created ? c.json(info, 201) : c.json(info, 200);
    })
    .openapi(jobList, async (c) => {
      const { limit, after } = c.req.valid("query");
      const base = baseOf(c);
      const page = await index.ownJobs(c, c.var.claims, limit, after);
      const statuses = await Promise.all(
        page.jobs.map(async ({ job_id, operation }) => {
          try {
            return statusInfo(await jobs.getJob(c, job_id, c.var.claims), base, operation);
          } catch (err) {
            // A claim whose submission never reached its home partition is no job.
            if (err instanceof NotFoundError) return null;
            throw err;
          }
        }),
      );
      const found = statuses.filter((s) => s !== null);
      const next = page.next ? `${base}/jobs?limit=${limit}&after=${encodeURIComponent(page.next)}` : undefined;
      if (wantsHtml(c)) return c.html(pages.jobListPage(found, next && `${next}&f=html`)) as never;
      const links: OgcLink[] = [
        { href: `${base}/jobs?limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ""}`, rel: "self" },
        ...(next ? [{ href: next, rel: "next", type: "application/json" }] : []),
      ];
      return c.json({ jobs: found, links }, 200);
    })
    .openapi(jobStatus, async (c) => {
      const jobId = c.req.valid("param").jobId;
      const [status, operation] = await Promise.all([
        jobs.getJob(c, jobId, c.var.claims).catch(asNoSuchJob),
        index.jobOperation(c, c.var.claims, jobId),
      ]);
      if (wantsHtml(c)) return c.html(pages.jobPage(status, operation ?? undefined)) as never;
      return c.json(statusInfo(status, baseOf(c), operation ?? undefined), 200);
    })
    .openapi(jobResults, async (c) => {
      const jobId = c.req.valid("param").jobId;
      const status = await jobs.getJob(c, jobId, c.var.claims).catch(asNoSuchJob);
      if (status.status !== "COMPLETED") {
        throw new ProblemError(
          404,
          `Job "${jobId}" has no result (status ${status.status})` +
            (status.error ? `: ${status.error.detail}` : "; poll /jobs/" + jobId + " until successful."),
          { type: OGC_EXCEPTION.resultNotReady, title: "Result not ready" },
        );
      }
      return (await resultResponse(c.req.raw, await jobs.getResult(c, jobId, { claims: c.var.claims }))) as never;
    })
    .openapi(dismiss, async (c) => {
      const jobId = c.req.valid("param").jobId;
      const [status, operation] = await Promise.all([
        jobs.cancelJob(c, jobId, c.var.claims).catch(asNoSuchJob),
        index.jobOperation(c, c.var.claims, jobId),
      ]);
      return c.json(statusInfo(status, baseOf(c), operation ?? undefined), 200);
    });
}

function baseOf(c: Ctx): string {
  return new URL(c.req.url).origin;
}

function wantsHtml(c: Ctx): boolean {
  const f = c.req.query("f");
  if (f) return f === "html";
  return accepts(c, { header: "Accept", supports: ["application/json", "text/html"], default: "application/json" }) ===
    "text/html";
}

function noSuchProcess(id: string): ProblemError {
  return new ProblemError(404, `No process "${id}"; GET /processes lists them.`, {
    type: OGC_EXCEPTION.noSuchProcess,
    title: "No such process",
  });
}

/** The job service's field errors, named as the execute request spells them (`inputs.dataset`). */
function asInputErrors(err: unknown): never {
  if (err instanceof ValidationError && err.status === 422) {
    throw new ValidationError(err.detail, (err.errors ?? []).map((e) => ({ ...e, path: `inputs.${e.path}` })));
  }
  throw err;
}

/** The job service's 404 with the OGC exception type. */
function asNoSuchJob(err: unknown): never {
  if (err instanceof NotFoundError) {
    throw new ProblemError(404, err.detail, { type: OGC_EXCEPTION.noSuchJob, title: "No such job" });
  }
  throw err;
}
