/**
 * What every route sub-app shares: the Hono env, {@link router} (an `OpenAPIHono` with the one validation hook),
 * and the OpenAPI pieces repeated across routes (problem responses, bearer security, trace headers, `job_id`).
 */
import type { Admission } from "../http/rate_limit.ts";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Claims } from "../../shared/auth/claims.ts";
import { JobId } from "../../shared/contract/common.ts";
import { Problem } from "../../shared/contract/problem.ts";
import type { BodyVariables } from "../http/body.ts";
import type { TraceVariables } from "../http/trace.ts";
import { validationHook } from "../http/validation.ts";

/** Context variables available to handlers. */
export type AppVariables = TraceVariables & Partial<BodyVariables> & {
  claims: Claims;
  /** The limit a submit's claim takes its token under (src/http/rate_limit.ts); absent when none is to be taken. */
  admission?: Admission;
};
/** The Hono env of the app and of every sub-app. */
export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
export type AppContext = Context<AppEnv>;

/** A sub-app: its `createRoute` declarations land in the app's `/openapi.json` when it is mounted with `app.route()`. */
export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const problemContent = { "application/problem+json": { schema: Problem } };
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
};

/** The problem+json responses of an authenticated route: `codes`, plus 401, 429 and 500 that any of them may answer. */
export function problems(...codes: number[]) {
  return publicProblems(...codes, 401, 429);
}

/** The problem+json responses of a route open to anyone: `codes`, plus 500. */
export function publicProblems(...codes: number[]) {
  return Object.fromEntries(
    [...codes, 500].map((code) => [code, { description: descriptions[code] ?? "Error", content: problemContent }]),
  );
}

export const security = [{ bearerAuth: [] }];

export const traceHeaders = {
  "X-Request-Trace-ID": {
    description: "Echoed when valid (16–128 of [A-Za-z0-9._-]), else generated",
    schema: { type: "string" as const },
  },
  traceparent: { description: "W3C trace context of this response's span", schema: { type: "string" as const } },
};

export const JobParams = z.object({ job_id: JobId.openapi({ param: { name: "job_id", in: "path" } }) });

/** An ETag as sent: quoted, unless it already is. */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}
