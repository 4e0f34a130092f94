/** The service's own routes: `GET /health` and `GET /openapi.json` (the document of every mounted route). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { GEOS_VERSION } from "../../wasm/generated/version.ts";
import { DatasetName } from "../../shared/contract/common.ts";
import { FeatureCollection } from "../../shared/contract/geojson.ts";
import { Health } from "../../shared/contract/health.ts";
import { MAX_DATASET_BODY_BYTES, MAX_JOB_BODY_BYTES } from "../../shared/contract/limits.ts";
import { type AppEnv, router, traceHeaders } from "./openapi.ts";

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["service"],
  summary: "Liveness and the GEOS version",
  responses: {
    200: { description: "Healthy", headers: traceHeaders, content: { "application/json": { schema: Health } } },
  },
});

/** `GET /health`: `checkGeometryCore` proves the geometry core loads (it throws when it cannot). */
export function healthRoutes(checkGeometryCore: () => Promise<void>): OpenAPIHono<AppEnv> {
  return router().openapi(healthRoute, async (c) => {
    await checkGeometryCore();
    return c.json({ status: "ok" as const, geos_version: GEOS_VERSION }, 200);
  });
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
}
