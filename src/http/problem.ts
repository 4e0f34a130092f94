/**
 * The edge's one error boundary: anything thrown in a route becomes an RFC 9457 problem (`onError`, `notFound`),
 * rendered from the typed errors of shared/problem.ts; a refused request's unread body is dealt with here too.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { runtime } from "../../shared/telemetry/runtime.ts";
import {
  INTERNAL_ERROR_DETAIL,
  notFoundProblem,
  PayloadTooLargeError,
  type Problem,
  PROBLEM_CONTENT_TYPE,
  type ProblemBody,
  ProblemError,
  STATUS_TITLES,
  UnauthorizedError,
  ValidationError,
} from "../../shared/problem.ts";

/** Turns anything thrown into a ProblemError: Hono's HTTPException keeps its status; the rest become a generic 500. */
export function toProblemError(err: unknown): ProblemError {
  if (err instanceof ProblemError) return err;
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 400) return new ValidationError(err.message || "The request is malformed.", [], 400);
    if (status === 413) return new PayloadTooLargeError(0, "The request body is too large.");
    if (status === 401) return new UnauthorizedError(err.message || undefined);
    if (status >= 500) return internalError();
    return new ProblemError(status, err.message || STATUS_TITLES[status] || "Request failed.");
  }
  return internalError();
}

function internalError(): ProblemError {
  return new ProblemError(500, INTERNAL_ERROR_DETAIL, {
    type: "internal-error",
  });
}

/** The RFC 9457 body and headers for `err`; never includes a stack or an internal message. */
export function renderProblem(err: unknown, traceId: string): Response {
  return problemResponse(toProblemError(err), traceId);
}

/** The RFC 9457 answer of `problem`. */
function problemResponse(problem: Problem, traceId: string): Response {
  const body: ProblemBody = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...(problem.errors ? { errors: problem.errors } : {}),
    trace_id: traceId,
  };
  const headers = new Headers(problem.headers);
  headers.set("Content-Type", PROBLEM_CONTENT_TYPE);
  headers.set("Cache-Control", "no-store");
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}

/** The logger the trace middleware sets. */
interface TraceVars {
  logger?: { error(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * Hono `onError`: renders ProblemErrors; logs anything else (with the trace id and
 * stack, server-side only) and answers a generic 500.
 */
export const onError: ErrorHandler = async function onError(err, c: Context) {
  await discardRefusedBody(c, err);
  const traceId = varOf<string>(c, "traceId") ?? "unknown";
  const known = err instanceof ProblemError || (err instanceof HTTPException && err.status < 500);
  if (!known) {
    const fields = { error_name: err.name, error_message: err.message, stack: err.stack };
    const logger = varOf<TraceVars["logger"]>(c, "logger");
    if (logger) logger.error("unhandled error", fields);
    else {runtime.console.error(
        JSON.stringify({ level: "error", msg: "unhandled error", trace_id: traceId, ...fields }),
      );}
  }
  return applyTraceHeaders(renderProblem(err, traceId), c);
};

/** A refused authenticated caller's body is read to the end up to this size ... */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;
/** ... an over-limit body (413) up to this one ... */
const DISCARD_OVERSIZE_LIMIT_BYTES = 1024 * 1024;
/** ... and the body of a request nobody authenticated (a 401, a 404 outside /v1) only up to this one. */
export const DISCARD_UNAUTHENTICATED_LIMIT_BYTES = 64 * 1024;

/**
 * Reads and drops the rest of a refused request's body (a 415, a 401, a
 * validation error before the body was read) when it is at most `limit`
 * bytes. An answer that leaves the body unread leaves the connection in an
 * unknown state, and the next request on it can fail (wrangler dev's proxy
 * answered 50 of 60 such follow-ups with 503). A larger body is left alone:
 * reading it would be the cost the refusal exists to avoid, and cancelling it
 * mid-upload turns the client's answer into a connection reset. With `cancel`
 * (a caller nobody authenticated) it is cancelled instead: nothing more of it
 * is read, here or by `wrangler dev`, whose dev-only middleware would otherwise
 * drain any unread body before the answer leaves.
 */
export async function discardUnreadBody(request: Request, limit: number, cancel = false): Promise<void> {
  const body = request.body;
  if (!body || request.bodyUsed || body.locked) return;
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (!(declared <= limit)) {
    if (cancel) await body.cancel().catch(() => {});
    return;
  }
  try {
    const reader = body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      // dropped
    }
  } catch {
    // The client went away: nothing left to discard.
  }
}

/**
 * A refused body from a caller nobody authenticated is read only a little, and the rest is cancelled; a 413 (refused
 * on its declared length, before authentication) is left as it was.
 */
function discardRefusedBody(c: Context, err?: unknown): Promise<void> {
  if (err instanceof PayloadTooLargeError) return discardUnreadBody(c.req.raw, DISCARD_OVERSIZE_LIMIT_BYTES);
  if (!varOf(c, "claims")) {
    return discardUnreadBody(c.req.raw, DISCARD_UNAUTHENTICATED_LIMIT_BYTES, true);
  }
  return discardUnreadBody(c.req.raw, DISCARD_LIMIT_BYTES);
}

/** Hono `notFound`: a 404 problem naming the method and path. */
export const notFound: NotFoundHandler = async function notFound(c) {
  await discardRefusedBody(c);
  const problem = notFoundProblem(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`);
  return applyTraceHeaders(problemResponse(problem, varOf<string>(c, "traceId") ?? "unknown"), c);
};

function applyTraceHeaders(res: Response, c: Context): Response {
  const traceId = varOf<string>(c, "traceId");
  const traceparent = varOf<string>(c, "traceparent");
  if (traceId) res.headers.set("X-Request-Trace-ID", traceId);
  if (traceparent) res.headers.set("traceparent", traceparent);
  return res;
}

/** One context variable (`c.var` copies them all on every read). */
function varOf<T>(c: Context, name: string): T | undefined {
  return c.get(name as never) as T | undefined;
}
