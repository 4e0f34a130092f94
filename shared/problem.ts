/**
 * One error family for the whole Worker: throw a {@link ProblemError} (or a subclass) anywhere and the edge's
 * `onError` (src/http/problem.ts) renders it as RFC 9457 `application/problem+json` with the request's trace id.
 */
/** Problem type URIs are `urn:spatial-jobs:problem:<slug>` (stable, never dereferenced). */
export const PROBLEM_TYPE_BASE = "urn:spatial-jobs:problem:";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The title of a problem with no title of its own, by status. */
export const STATUS_TITLES: Record<number, string> = {
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

/** What a problem answer says (the RFC 9457 fields but the trace id, and the response's extra headers). */
export interface Problem {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
}

/**
 * A problem as plain data, for an answer that throws nothing (the 404 of a path no route serves): no Error is
 * made. While an inspector has the Runtime domain enabled (wrangler dev's default), V8 captures a detailed stack for
 * every Error whatever `Error.stackTraceLimit` says; a CPU profile of 404s put ~0.4 ms of ~1.4 ms in that constructor.
 */
export function problemOf(status: number, detail: string, init: ProblemInit = {}): Problem {
  const slug = init.type ?? "about:blank";
  return {
    status,
    type: slug === "about:blank" || slug.includes(":") ? slug : PROBLEM_TYPE_BASE + slug,
    title: init.title ?? STATUS_TITLES[status] ?? "Error",
    detail,
    errors: init.errors && init.errors.length > 0 ? init.errors : undefined,
    headers: init.headers ?? {},
  };
}

// Its fields are a Problem's, declared once (declaration merging) and set by problemOf.
export interface ProblemError extends Problem {}
/**
 * An expected failure with an HTTP status. `detail` is safe to show the client.
 *
 * @example
 * ```ts
 * throw new ProblemError(503, "Partition ledger is overloaded.", { type: "overloaded", headers: { "Retry-After": "5" } });
 * ```
 */
export class ProblemError extends Error {
  constructor(status: number, detail: string, init: ProblemInit = {}) {
    super(detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ProblemError";
    Object.assign(this, problemOf(status, detail, init));
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
    super(404, detail, { type: NOT_FOUND });
    this.name = "NotFoundError";
  }
}

const NOT_FOUND = "not-found";

/** The problem of a {@link NotFoundError}, as data (see {@link problemOf}). */
export const notFoundProblem = (detail: string): Problem => problemOf(404, detail, { type: NOT_FOUND });

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

/** What a caller is told of an unexpected error (a problem, a job's `error`): never the error's own message. */
export const INTERNAL_ERROR_DETAIL = "An unexpected error occurred; quote the trace id when reporting it.";
