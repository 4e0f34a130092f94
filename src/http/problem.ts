/**
 * The edge's one error boundary: anything thrown in a route becomes an RFC 9457 problem (`onError`, `notFound`),
 * rendered from the typed errors of shared/problem.ts; a refused request's unread body is dealt with here too.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { runtime } from "../../shared/telemetry/runtime.ts";
import {
  INTERNAL_ERROR_DETAIL,
  NotFoundError,
  PayloadTooLargeError,
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
  const problem = toProblemError(err);
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

/** Minimal shape of the context the error handlers need (trace + logger set by the trace middleware). */
interface TraceVars {
  traceId?: string;
  logger?: { error(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * Hono `onError`: renders ProblemErrors; logs anything else (with the trace id and
 * stack, server-side only) and answers a generic 500.
 */
export const onError: ErrorHandler = async function onError(err, c: Context) {
  await discardRefusedBody(c, err);
  const vars = c.var as TraceVars;
  const traceId = vars.traceId ?? "unknown";
  const known = err instanceof ProblemError || (err instanceof HTTPException && err.status < 500);
  if (!known) {
    const fields = { error_name: err.name, error_message: err.message, stack: err.stack };
    if (vars.logger) vars.logger.error("unhandled error", fields);
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
  if (!(c.var as { claims?: unknown }).claims) {
    return discardUnreadBody(c.req.raw, DISCARD_UNAUTHENTICATED_LIMIT_BYTES, true);
  }
  return discardUnreadBody(c.req.raw, DISCARD_LIMIT_BYTES);
}

/** Hono `notFound`: a 404 problem naming the method and path. */
export const notFound: NotFoundHandler = async function notFound(c) {
  await discardRefusedBody(c);
  const vars = c.var as TraceVars;
  const err = new NotFoundError(`No route for ${c.req.method} ${new URL(c.req.url).pathname}.`);
  return applyTraceHeaders(renderProblem(err, vars.traceId ?? "unknown"), c);
};

function applyTraceHeaders(res: Response, c: Context): Response {
  const vars = c.var as { traceId?: string; traceparent?: string };
  if (vars.traceId) res.headers.set("X-Request-Trace-ID", vars.traceId);
  if (vars.traceparent) res.headers.set("traceparent", vars.traceparent);
  return res;
}
