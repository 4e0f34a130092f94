/**
 * One error family for the whole Worker: throw a {@link ProblemError} (or a
 * subclass) anywhere and {@link onError} renders it as RFC 9457
 * `application/problem+json` with the request's trace id.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { runtime } from "./telemetry/runtime.ts";

/** Problem type URIs are `urn:spatial-jobs:problem:<slug>` (stable, never dereferenced). */
export const PROBLEM_TYPE_BASE = "urn:spatial-jobs:problem:";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One field-level error: `path` is a JSON-ish path such as `geometry_payload.features[3].id`. */
export interface FieldError {
  path: string;
  message: string;
}

/** The RFC 9457 body this service answers with. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  trace_id: string;
}

export interface ProblemInit {
  /** The slug appended to {@link PROBLEM_TYPE_BASE}; or a full URI (contains ":"). */
  type?: string;
  title?: string;
  errors?: FieldError[];
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An expected failure with an HTTP status. `detail` is safe to show the client.
 *
 * @example
 * ```ts
 * throw new ProblemError(503, "Partition ledger is overloaded.", { type: "overloaded", headers: { "Retry-After": "5" } });
 * ```
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, detail: string, init: ProblemInit = {}) {
    super(detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProblemError";
    this.status = status;
    const slug = init.type ?? "about:blank";
    this.type = slug === "about:blank" || slug.includes(":") ? slug : PROBLEM_TYPE_BASE + slug;
    this.title = init.title ?? STATUS_TITLES[status] ?? "Error";
    this.detail = detail;
    this.errors = init.errors && init.errors.length > 0 ? init.errors : undefined;
    this.headers = init.headers ?? {};
  }
}

/** 400 (syntax: malformed JSON, bad path parameter) or 422 (well-formed but violates the contract). */
export class ValidationError extends ProblemError {
  constructor(detail: string, errors: FieldError[] = [], status: 400 | 422 = 422) {
    super(status, detail, {
      type: status === 400 ? "malformed-request" : "validation-error",
      title: status === 400 ? "Malformed request" : "Validation failed",
      errors,
    });
    this.name = "ValidationError";
  }
}

/** 401 with an RFC 6750 `WWW-Authenticate` challenge. */
export class UnauthorizedError extends ProblemError {
  constructor(detail = "A valid bearer token is required.") {
    super(401, detail, {
      type: "unauthorized",
      headers: { "WWW-Authenticate": `Bearer realm="spatial-jobs", error="invalid_token"` },
    });
    this.name = "UnauthorizedError";
  }
}

/** 403: authenticated, but the ABAC policy denies the action. */
export class ForbiddenError extends ProblemError {
  constructor(detail: string, errors: FieldError[] = []) {
    super(403, detail, { type: "forbidden", errors });
    this.name = "ForbiddenError";
  }
}

export class NotFoundError extends ProblemError {
  constructor(detail = "The requested resource does not exist.") {
    super(404, detail, { type: "not-found" });
    this.name = "NotFoundError";
  }
}

/** 409. Use the static constructors for the two conflicts the contract names. */
export class ConflictError extends ProblemError {
  constructor(detail: string, slug = "conflict") {
    super(409, detail, { type: slug });
    this.name = "ConflictError";
  }

  /** The same `job_idempotency_key` was sent with a different payload. */
  static idempotencyKeyReuse(key: string): ConflictError {
    return new ConflictError(
      `Idempotency key "${key}" was already used with a different payload; send a new key for a new job.`,
      "idempotency-key-reuse",
    );
  }

  /** `GET /v1/jobs/{id}/result` before the job is COMPLETED. */
  static resultNotReady(jobId: string, status: string): ConflictError {
    return new ConflictError(
      `Job "${jobId}" has no committed result (status ${status}); poll GET /v1/jobs/${jobId} until COMPLETED.`,
      "result-not-ready",
    );
  }
}

export class PayloadTooLargeError extends ProblemError {
  constructor(limitBytes: number, detail?: string) {
    super(413, detail ?? `The request body is larger than the ${limitBytes}-byte limit for this endpoint.`, {
      type: "payload-too-large",
    });
    this.name = "PayloadTooLargeError";
  }
}

export class UnsupportedMediaTypeError extends ProblemError {
  constructor(got: string | null, accepted: readonly string[]) {
    super(
      415,
      `Content type "${got ?? "(none)"}" is not accepted here; send one of: ${accepted.join(", ")}.`,
      { type: "unsupported-media-type", headers: { "Accept": accepted.join(", ") } },
    );
    this.name = "UnsupportedMediaTypeError";
  }
}

export class TooManyRequestsError extends ProblemError {
  constructor(retryAfterSeconds: number, detail = "Too many requests; retry later.") {
    super(429, detail, {
      type: "too-many-requests",
      headers: { "Retry-After": String(Math.max(0, Math.ceil(retryAfterSeconds))) },
    });
    this.name = "TooManyRequestsError";
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

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

/** What a caller is told of an unexpected error (a problem, a job's `error`): never the error's own message. */
export const INTERNAL_ERROR_DETAIL = "An unexpected error occurred; quote the trace id when reporting it.";

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
