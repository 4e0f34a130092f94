import { deepEqual, equal, ok } from "node:assert/strict";
import { HTTPException } from "hono/http-exception";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ProblemError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../../../../shared/problem.ts";
import { renderProblem } from "../../../../src/http/problem.ts";
import { formatPath } from "../../../../src/http/validation.ts";

Deno.test("renderProblem writes RFC 9457 application/problem+json with trace_id", async () => {
  const res = renderProblem(new ValidationError("bad", [{ path: "a[0].b", message: "m" }]), "trace-123");
  equal(res.status, 422);
  equal(res.headers.get("content-type"), "application/problem+json");
  deepEqual(await res.json(), {
    type: "urn:spatial-jobs:problem:validation-error",
    title: "Validation failed",
    status: 422,
    detail: "bad",
    errors: [{ path: "a[0].b", message: "m" }],
    trace_id: "trace-123",
  });
});

Deno.test("every ProblemError subclass carries its status and type", () => {
  const cases: [ProblemError, number, string][] = [
    [new ValidationError("x", [], 400), 400, "malformed-request"],
    [new UnauthorizedError(), 401, "unauthorized"],
    [new ForbiddenError("x"), 403, "forbidden"],
    [new NotFoundError(), 404, "not-found"],
    [ConflictError.idempotencyKeyReuse("k"), 409, "idempotency-key-reuse"],
    [ConflictError.resultNotReady("j", "QUEUED"), 409, "result-not-ready"],
    [new PayloadTooLargeError(10), 413, "payload-too-large"],
    [new UnsupportedMediaTypeError("text/plain", ["application/json"]), 415, "unsupported-media-type"],
    [new TooManyRequestsError(2.2), 429, "too-many-requests"],
  ];
  for (const [err, status, slug] of cases) {
    equal(err.status, status);
    equal(err.type, `urn:spatial-jobs:problem:${slug}`);
    ok(err instanceof ProblemError);
  }
});

Deno.test("429 carries Retry-After and 401 a Bearer challenge", () => {
  equal(renderProblem(new TooManyRequestsError(2.2), "t").headers.get("retry-after"), "3");
  ok(renderProblem(new UnauthorizedError(), "t").headers.get("www-authenticate")?.startsWith("Bearer"));
});

Deno.test("renderProblem answers unknown errors with a generic 500 and no internals", async () => {
  const res = renderProblem(new Error("db password is hunter2"), "t");
  equal(res.status, 500);
  const text = await res.text();
  ok(!text.includes("hunter2"));
  ok(!text.includes("at "), "no stack");
});

Deno.test("renderProblem keeps the status of Hono's HTTPException (4xx)", () => {
  equal(renderProblem(new HTTPException(415, { message: "Unsupported Media Type" }), "t").status, 415);
  equal(renderProblem(new HTTPException(400, { message: "Malformed JSON in request body" }), "t").status, 400);
});

Deno.test("formatPath renders zod paths as dotted paths with indexes", () => {
  equal(
    formatPath(["geometry_payload", "features", 3, "geometry", "coordinates", 0]),
    "geometry_payload.features[3].geometry.coordinates[0]",
  );
  equal(formatPath([]), "");
  equal(formatPath([0, "a"]), "[0].a");
});
