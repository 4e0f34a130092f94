/**
 * The edge Worker's HTTP layer: middleware order, the route sub-apps (src/routes/*, each declaring its routes
 * with `createRoute`, so `/openapi.json` documents every one), one error handler. The validation hook is the
 * one every sub-app gets from `router()` (src/routes/openapi.ts).
 *
 * Middleware order: trace → body limit (Content-Length) → bearer auth (/v1/*; the OGC API's /jobs and execution,
 * where `?access_token=` also works) → gateway (sensitive headers dropped) → submission rate limit (POST /v1/jobs,
 * POST /processes/{id}/execution)
 * → operator role (the /v1/ops sub-app)
 * → per route: body read (415/413/400) → zod validation (400/422) → handler.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { cors } from "hono/cors";
import { timing } from "hono/timing";
import { bearerAuth } from "./auth/middleware.ts";
import { MAX_DATASET_BODY_BYTES, MAX_JOB_BODY_BYTES, MAX_OTHER_BODY_BYTES } from "../shared/contract/limits.ts";
import { bodyLimit } from "./http/body.ts";
import { gateway } from "./http/gateway.ts";
import { setResponseHeader } from "./http/response_headers.ts";
import { notFound, onError } from "./http/problem.ts";
import { submissionRateLimit } from "./http/rate_limit.ts";
import { trace } from "./http/trace.ts";
import { datasetUploadRoutes, type DatasetUploadService } from "./routes/dataset_uploads_app.ts";
import { datasetRoutes, type DatasetService } from "./routes/datasets_app.ts";
import { jobRoutes, type JobService } from "./routes/jobs_app.ts";
import { type OgcJobIndex, ogcRoutes } from "./routes/ogc_app.ts";
import { type AppEnv, router } from "./routes/openapi.ts";
import { opsRoutes, type OpsService } from "./routes/ops_app.ts";
import { healthRoutes, serveOpenApi } from "./routes/service.ts";
import { webhookRoutes } from "./routes/webhooks.ts";

/**
 * The work behind the routes, one service per sub-app: src/worker.ts passes the Durable Object-backed ones
 * (src/routes/<area>.ts), the unit tests recording ones.
 */
export interface AppServices {
  jobs: JobService;
  datasets: DatasetService;
  datasetUploads: DatasetUploadService;
  ops: OpsService;
  /** The caller's jobs for the OGC API's job list. */
  ogcJobs: OgcJobIndex;
  /** Proves the geometry core loads (throws when it cannot). */
  checkGeometryCore: () => Promise<void>;
}

const EXECUTION_PATH = /^\/processes\/[^/]+\/execution$/;
/** Request headers a cross-origin browser client may send. */
export const CORS_ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "Range",
  "If-None-Match",
  "If-Range",
  "Idempotency-Key",
  "Prefer",
  "X-Request-Trace-ID",
  "traceparent",
];
/** Response headers it may read. */
export const CORS_EXPOSE_HEADERS = [
  "ETag",
  "Location",
  "Content-Length",
  "Content-Range",
  "Content-Encoding",
  "Content-Disposition",
  "Accept-Ranges",
  "Retry-After",
  "X-Request-Trace-ID",
  "traceparent",
  "Server-Timing",
];

/** Byte limit per route, enforced on Content-Length before auth and again while streaming. */
export function bodyLimitFor(method: string, path: string): number {
  if (method === "POST" && (path === "/v1/jobs" || EXECUTION_PATH.test(path))) return MAX_JOB_BODY_BYTES;
  if (method === "PUT" && path.startsWith("/v1/datasets/")) return MAX_DATASET_BODY_BYTES;
  return MAX_OTHER_BODY_BYTES;
}

/**
 * Builds the app: middleware, then the sub-apps over `services`.
 *
 * @example
 * ```ts
 * // src/worker.ts
 * const app = createApp({ jobs: jobService, datasets: datasetService, ...});
 * export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
 * ```
 */
export function createApp(services: AppServices): OpenAPIHono<AppEnv> {
  const app = router();
  app.onError(onError);
  app.notFound(notFound);

  app.use("*", trace());
  // Browser clients on other origins: bearer tokens, no cookies, so any origin may call. A preflight ends here;
  // any other OPTIONS request goes on to the routes (and their 404).
  const corsHeaders = cors({
    origin: "*",
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    maxAge: 600,
  });
  const exposed = CORS_EXPOSE_HEADERS.join(",");
  app.use("*", async function corsMiddleware(c, next) {
    if (c.req.method === "OPTIONS") {
      const preflight = c.req.header("origin") !== undefined &&
        c.req.header("access-control-request-method") !== undefined;
      return preflight ? await corsHeaders(c, next) : await next();
    }
    await next();
    // Set on the answer once made. Hono's cors sets them before `next`, on an empty response that the handler's answer
    // then replaces by a copy: two more Response and Headers objects a request, each one the garbage collector must
    // destroy (`scripts/bench/request_kinds.ts --wrappers`).
    setResponseHeader(c, "Access-Control-Allow-Origin", "*");
    setResponseHeader(c, "Access-Control-Expose-Headers", exposed);
  });
  app.use("*", bodyLimit(bodyLimitFor));
  // Server-Timing on every API answer: where a request's time went (a submit's stages: catalog,
  // payload, claim, upload, home).
  app.use("/v1/*", timing({ totalDescription: "total" }));
  app.use("/v1/*", bearerAuth());
  app.use("/processes/:processId/execution", timing({ totalDescription: "total" }), bearerAuth());
  app.use("/jobs", bearerAuth({ queryToken: true }));
  app.use("/jobs/*", bearerAuth({ queryToken: true }));
  app.use("*", gateway());
  app.use("/v1/jobs", submissionRateLimit());
  app.use("/processes/:processId/execution", submissionRateLimit());

  app.route("/", healthRoutes(services.checkGeometryCore));
  app.route("/", datasetRoutes(services.datasets));
  app.route("/", datasetUploadRoutes(services.datasetUploads));
  app.route("/", jobRoutes(services.jobs));
  app.route("/v1/ops", opsRoutes(services.ops));
  app.route("/", webhookRoutes());
  app.route("/", ogcRoutes(services.jobs, services.ogcJobs));
  serveOpenApi(app);
  return app;
}
