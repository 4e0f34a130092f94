/**
 * The service's own routes: `GET /health`, `GET /openapi.json` (the document of every mounted route) and `GET /docs`
 * (that document in Swagger UI, whose files the Worker serves from /static/swagger-ui/: no other host is reached).
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { html } from "hono/html";
import { GEOS_VERSION } from "../../wasm/generated/version.ts";
import { DatasetName } from "../../shared/contract/common.ts";
import { FeatureCollection } from "../../shared/contract/geojson.ts";
import { Health } from "../../shared/contract/health.ts";
import { MAX_DATASET_BODY_BYTES, MAX_JOB_BODY_BYTES } from "../../shared/contract/limits.ts";
import { type AppEnv, publicProblems, router, traceHeaders } from "./openapi.ts";

const healthRoute = createRoute({
  method: "get",
  operationId: "getHealth",
  path: "/health",
  tags: ["service"],
  summary: "Liveness and the GEOS version",
  security: [],
  responses: {
    200: { description: "Healthy", headers: traceHeaders, content: { "application/json": { schema: Health } } },
    ...publicProblems(413),
  },
});

const docsRoute = createRoute({
  method: "get",
  operationId: "getApiDocs",
  path: "/docs",
  tags: ["service"],
  summary: "This API in a browser (Swagger UI over /openapi.json)",
  security: [],
  responses: {
    200: { description: "The page", content: { "text/html": { schema: { type: "string" } } } },
    ...publicProblems(413),
  },
});

/** Swagger UI's page: its files and the start script come from /static/ (scripts/build_static.ts). */
const DOCS_PAGE = html`
  <!doctype html>
  <html lang="en">
    <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width,initial-scale=1">
      <title>spatial-jobs API</title>
      <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
    </head>
    <body>
      <div id="docs"></div>
      <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
      <script src="/static/docs_page.js"></script>
    </body>
  </html>
`;

/** `GET /health`: `checkGeometryCore` proves the geometry core loads (it throws when it cannot). */
export function healthRoutes(checkGeometryCore: () => Promise<void>): OpenAPIHono<AppEnv> {
  return router()
    .openapi(healthRoute, async (c) => {
      await checkGeometryCore();
      return c.json({ status: "ok" as const, geos_version: GEOS_VERSION }, 200);
    })
    .openapi(docsRoute, async (c) => c.html(await DOCS_PAGE, 200));
}

/** The document's top-level fields; `origin` is the service's own (its one server). */
export function openApiConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "spatial-jobs",
      version: "1.0.0",
      description: "Asynchronous heavy spatial queries at the edge. Errors are RFC 9457 application/problem+json " +
        "with trace_id; every response carries X-Request-Trace-ID and traceparent. Limits: jobs " +
        `${MAX_JOB_BODY_BYTES} bytes, datasets ${MAX_DATASET_BODY_BYTES} bytes (see shared/contract/limits.ts).`,
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: origin, description: "This service" }],
    tags: [
      { name: "service", description: "Liveness, this document and its browsable view (/docs)" },
      { name: "datasets", description: "Publishing datasets as immutable versions, in one request or in parts" },
      { name: "jobs", description: "Submitting spatial jobs, following them, and downloading their results" },
      { name: "operations", description: "Operator tools (role `operator`): dead letters, redrive, events, metrics" },
      { name: "webhooks", description: "The key that signs job callbacks" },
      { name: "ogc", description: "OGC API – Processes – Part 1: Core over the same jobs" },
    ],
  };
}

/** Serves `/openapi.json` from `app`: call it on the root app, whose registry holds every mounted route. */
export function serveOpenApi(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "HS256 with JWT_SECRET locally; RS256/ES256 against JWT_JWKS in production. " +
      "Claims: sub, domain, spatial_scope, data_classification, exp, iat (60 s clock skew).",
  });
  app.openAPIRegistry.register("FeatureCollection", FeatureCollection);
  app.openAPIRegistry.register("DatasetName", DatasetName);
  app.openAPIRegistry.registerPath({
    method: "get",
    operationId: "getOpenApiDocument",
    path: "/openapi.json",
    tags: ["service"],
    summary: "This OpenAPI 3.1 document",
    security: [],
    responses: {
      200: { description: "The document", content: { "application/json": { schema: { type: "object" } } } },
      ...publicProblems(413),
    },
  });
  app.doc31("/openapi.json", (c) => openApiConfig(new URL(c.req.url).origin));
}
