import { deepEqual, equal, match, ok } from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { ConflictError } from "../../../shared/problem.ts";
import { MAX_DATASET_BODY_BYTES, MAX_JOB_BODY_BYTES } from "../../../shared/contract/limits.ts";
import { captureLogs, signToken, TEST_ENV } from "./auth/test_tokens.ts";
import { validJob } from "../shared/contract/fixtures.ts";
import { recordingApp, storedResult } from "./app_harness.ts";

const logs = captureLogs(); // keep test output readable; lines are still inspectable
addEventListener("unload", () => logs.restore());

async function authed(extra: Record<string, string> = {}, claims: Record<string, unknown> = {}) {
  return { authorization: `Bearer ${await signToken(claims)}`, ...extra };
}

async function expectProblem(res: Response, status: number, typeSlug?: string) {
  equal(res.status, status);
  equal(res.headers.get("content-type"), "application/problem+json");
  ok(res.headers.get("x-request-trace-id"), "trace id header on an error");
  match(res.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
  const body = await res.json();
  equal(body.status, status);
  for (const k of ["type", "title", "detail", "trace_id"]) equal(typeof body[k], "string", k);
  equal(body.trace_id, res.headers.get("x-request-trace-id"));
  ok(!("stack" in body));
  if (typeSlug) equal(body.type, `urn:spatial-jobs:problem:${typeSlug}`);
  return body;
}

Deno.test("GET /health answers ok with the GEOS version and trace headers, without a token", async () => {
  const { app } = recordingApp();
  const res = await app.request("/health", {}, TEST_ENV);
  equal(res.status, 200);
  const body = await res.json();
  equal(body.status, "ok");
  match(body.geos_version, /^\d+\.\d+/);
  match(res.headers.get("x-request-trace-id")!, /^[0-9a-f]{32}$/);
  ok(res.headers.get("traceparent"));
});

Deno.test("an unknown path answers a 404 problem with trace headers", async () => {
  const { app } = recordingApp();
  await expectProblem(await app.request("/nope", {}, TEST_ENV), 404, "not-found");
});

Deno.test("errors echo a valid X-Request-Trace-ID and continue a valid traceparent", async () => {
  const { app } = recordingApp();
  const res = await app.request("/nope", {
    headers: {
      "x-request-trace-id": "client-trace-abcdef",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    },
  }, TEST_ENV);
  equal(res.headers.get("x-request-trace-id"), "client-trace-abcdef");
  match(res.headers.get("traceparent")!, /^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
  equal((await res.json()).trace_id, "client-trace-abcdef");
});

Deno.test("/v1 routes answer 401 problems without a token or with a forged one", async () => {
  const { app, calls } = recordingApp();
  const none = await expectProblem(await app.request("/v1/jobs/j1", {}, TEST_ENV), 401, "unauthorized");
  ok(none.detail.includes("bearer"));
  const forged = await signToken({}, { secret: "wrong" });
  await expectProblem(
    await app.request("/v1/jobs/j1", { headers: { authorization: `Bearer ${forged}` } }, TEST_ENV),
    401,
  );
  equal(calls.length, 0);
});

Deno.test("POST /v1/jobs accepts a valid job: 202, Location, links, normalized request passed to the handler", async () => {
  const { app, calls } = recordingApp();
  const res = await app.request("/v1/jobs", {
    method: "POST",
    headers: await authed({ "content-type": "application/json; charset=utf-8" }),
    body: JSON.stringify(validJob({ spatial_operation: "spatial_join" })),
  }, TEST_ENV);
  equal(res.status, 202);
  equal(res.headers.get("location"), "/v1/jobs/j1");
  deepEqual(await res.json(), {
    job_id: "j1",
    status: "QUEUED",
    links: { self: "/v1/jobs/j1", result: "/v1/jobs/j1/result" },
  });
  equal(calls.length, 1);
  const [request, claims] = calls[0]!.args as [Record<string, unknown>, Record<string, unknown>];
  equal(request.predicate, "intersects");
  equal(request.input_crs, "EPSG:4326");
  equal(claims.sub, "user-1");
});

Deno.test("POST /v1/jobs answers 200 for an idempotent replay", async () => {
  const { app } = recordingApp({
    submitJob: () => Promise.resolve({ job_id: "j1", status: "COMPLETED", created: false }),
  });
  const res = await app.request("/v1/jobs", {
    method: "POST",
    headers: await authed({ "content-type": "application/json" }),
    body: JSON.stringify(validJob()),
  }, TEST_ENV);
  equal(res.status, 200);
  equal((await res.json()).status, "COMPLETED");
});

Deno.test("POST /v1/jobs rejects a non-closed ring with 422 and the exact path, and enqueues nothing", async () => {
  const { app, calls } = recordingApp();
  const job = validJob();
  (job.geometry_payload as { features: { geometry: { coordinates: number[][][] } }[] }).features[0]!.geometry
    .coordinates[0]![4] = [0, 0.5];
  const body = await expectProblem(
    await app.request("/v1/jobs", {
      method: "POST",
      headers: await authed({ "content-type": "application/json" }),
      body: JSON.stringify(job),
    }, TEST_ENV),
    422,
    "validation-error",
  );
  equal(body.errors[0].path, "geometry_payload.features[0].geometry.coordinates[0]");
  equal(calls.length, 0);
});

Deno.test("POST /v1/jobs answers malformed JSON with 400, never 500", async () => {
  const { app, calls } = recordingApp();
  await expectProblem(
    await app.request("/v1/jobs", {
      method: "POST",
      headers: await authed({ "content-type": "application/json" }),
      body: '{"job_idempotency_key": ',
    }, TEST_ENV),
    400,
    "malformed-request",
  );
  await expectProblem(
    await app.request(
      "/v1/jobs",
      { method: "POST", headers: await authed({ "content-type": "application/json" }) },
      TEST_ENV,
    ),
    400,
  );
  equal(calls.length, 0);
});

Deno.test("POST /v1/jobs answers 415 for other content types and codings", async () => {
  const { app, calls } = recordingApp();
  const body = JSON.stringify(validJob());
  await expectProblem(
    await app.request(
      "/v1/jobs",
      { method: "POST", headers: await authed({ "content-type": "text/plain" }), body },
      TEST_ENV,
    ),
    415,
    "unsupported-media-type",
  );
  await expectProblem(await app.request("/v1/jobs", { method: "POST", headers: await authed(), body }, TEST_ENV), 415);
  await expectProblem(
    await app.request("/v1/jobs", {
      method: "POST",
      headers: await authed({ "content-type": "application/json", "content-encoding": "gzip" }),
      body,
    }, TEST_ENV),
    415,
  );
  equal(calls.length, 0);
});

Deno.test("POST /v1/jobs answers 413 from Content-Length before reading or authenticating", async () => {
  const { app, calls } = recordingApp();
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(1024));
    },
  });
  const req = new Request("http://localhost/v1/jobs", {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(MAX_JOB_BODY_BYTES + 1) },
    body: stream,
  });
  await expectProblem(await app.request(req, undefined, TEST_ENV), 413, "payload-too-large");
  equal(pulled <= 1, true, "body not read");
  equal(calls.length, 0);
});

Deno.test("POST /v1/jobs answers 413 while streaming a body without Content-Length", async () => {
  const { app, calls } = recordingApp();
  let sent = 0;
  const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent++ > MAX_JOB_BODY_BYTES / chunk.byteLength + 10) c.close();
      else c.enqueue(chunk);
    },
  });
  const req = new Request("http://localhost/v1/jobs", {
    method: "POST",
    headers: await authed({ "content-type": "application/json" }),
    body: stream,
  });
  await expectProblem(await app.request(req, undefined, TEST_ENV), 413);
  equal(calls.length, 0);
});

Deno.test("a handler's ProblemError is rendered with its status; an unknown error is a logged generic 500", async () => {
  const { app } = recordingApp({
    getResult: () => Promise.reject(ConflictError.resultNotReady("j1", "IN_PROGRESS")),
    getJob: () => Promise.reject(new Error("secret internals")),
  });
  await expectProblem(
    await app.request("/v1/jobs/j1/result", { headers: await authed() }, TEST_ENV),
    409,
    "result-not-ready",
  );
  const before = logs.lines.length;
  const res = await app.request("/v1/jobs/j1", {
    headers: await authed({ "x-request-trace-id": "trace-for-500-test" }),
  }, TEST_ENV);
  const body = await expectProblem(res, 500, "internal-error");
  ok(!JSON.stringify(body).includes("secret internals"));
  const logged = logs.lines.slice(before).map((l) => JSON.parse(l)).find((l) => l.msg === "unhandled error");
  equal(logged?.trace_id, "trace-for-500-test");
  ok(logged?.span_id);
});

Deno.test("GET /v1/jobs/{id}/result streams the result with its ETag and honours If-None-Match", async () => {
  const { app } = recordingApp();
  const res = await app.request("/v1/jobs/j1/result", { headers: await authed() }, TEST_ENV);
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "application/geo+json");
  equal(res.headers.get("etag"), '"r1"');
  equal((await res.json()).type, "FeatureCollection");
  const again = await app.request(
    "/v1/jobs/j1/result",
    { headers: await authed({ "if-none-match": '"r1"' }) },
    TEST_ENV,
  );
  equal(again.status, 304);
});

Deno.test("a gzip-stored result goes as is where gzip is accepted, decoded (weak ETag) where it is not", async () => {
  const text = JSON.stringify({ type: "FeatureCollection", features: [] });
  const { app } = recordingApp({
    getResult: () =>
      Promise.resolve(storedResult(gzipSync(text), { etag: "r2", encoding: "gzip", bytes: text.length })),
  });
  const get = async (acceptEncoding: string, extra: Record<string, string> = {}) =>
    await app.request(
      "/v1/jobs/j1/result",
      { headers: await authed({ "accept-encoding": acceptEncoding, ...extra }) },
      TEST_ENV,
    );
  const gzipped = await get("br;q=1, gzip;q=0.5");
  equal(gzipped.headers.get("content-encoding"), "gzip");
  equal(gzipped.headers.get("etag"), '"r2"');
  equal(gzipped.headers.get("vary"), "Accept-Encoding");
  equal(gunzipSync(new Uint8Array(await gzipped.arrayBuffer())).toString(), text);
  for (const refused of ["identity", "gzip;q=0", ""]) {
    const plain = await get(refused);
    equal(plain.headers.get("content-encoding"), null, refused);
    equal(plain.headers.get("etag"), 'W/"r2"');
    equal(await plain.text(), text);
  }
  equal((await get("identity", { "if-none-match": '"r2"' })).status, 304);
  equal((await get("gzip", { "if-none-match": 'W/"r2"' })).status, 304);
});

Deno.test("GET/DELETE /v1/jobs/{id} pass the id; a malformed id is a 400", async () => {
  const { app, calls } = recordingApp();
  equal((await app.request("/v1/jobs/j1", { headers: await authed() }, TEST_ENV)).status, 200);
  const del = await app.request("/v1/jobs/j1", { method: "DELETE", headers: await authed() }, TEST_ENV);
  equal((await del.json()).status, "CANCELLED");
  deepEqual(calls.map((c) => [c.method, c.args[0]]), [["getJob", "j1"], ["cancelJob", "j1"]]);
  await expectProblem(await app.request("/v1/jobs/a%20b", { headers: await authed() }, TEST_ENV), 400);
});

const fcBody = JSON.stringify({
  type: "FeatureCollection",
  name: "foreign member",
  features: [{
    type: "Feature",
    properties: { id: 1 },
    geometry: { type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] },
  }],
});

Deno.test("PUT /v1/datasets/{name} passes validated GeoJSON and the query to the handler (201)", async () => {
  const { app, calls } = recordingApp();
  const res = await app.request("/v1/datasets/roads?classification=public&repair=true", {
    method: "PUT",
    headers: await authed({ "content-type": "application/geo+json" }),
    body: fcBody,
  }, TEST_ENV);
  equal(res.status, 201);
  equal((await res.json()).etag, "v1abc");
  const [name, query, body] = calls[0]!.args as [string, Record<string, unknown>, Record<string, unknown>];
  equal(name, "roads");
  deepEqual(query, { classification: "public", repair: true, crs: "EPSG:4326", kind: "vector" });
  equal(body.format, "geojson");
});

Deno.test("PUT /v1/datasets/{name} accepts FlatGeobuf by magic bytes and rejects other bytes", async () => {
  const { app, calls } = recordingApp();
  const fgb = new Uint8Array([0x66, 0x67, 0x62, 0x03, 0x66, 0x67, 0x62, 0x01, 0, 0]);
  equal(
    (await app.request("/v1/datasets/roads", {
      method: "PUT",
      headers: await authed({ "content-type": "application/flatgeobuf" }),
      body: fgb,
    }, TEST_ENV)).status,
    201,
  );
  equal((calls[0]!.args[2] as { format: string }).format, "flatgeobuf");
  await expectProblem(
    await app.request("/v1/datasets/roads", {
      method: "PUT",
      headers: await authed({ "content-type": "application/flatgeobuf" }),
      body: "PK\u0003\u0004zip",
    }, TEST_ENV),
    422,
  );
  equal(calls.length, 1);
});

Deno.test("PUT /v1/datasets/{name} rejects bad query, CRS, ids, content type and size before the handler", async () => {
  const { app, calls } = recordingApp();
  const put = async (path: string, body: BodyInit, ct = "application/json", extra: Record<string, string> = {}) =>
    await app.request(path, { method: "PUT", headers: await authed({ "content-type": ct, ...extra }), body }, TEST_ENV);
  let p = await expectProblem(await put("/v1/datasets/roads?classification=secret", fcBody), 422);
  equal(p.errors[0].path, "classification");
  p = await expectProblem(await put("/v1/datasets/roads?crs=EPSG:999999", fcBody), 422);
  match(p.errors[0].message, /unsupported CRS/);
  p = await expectProblem(await put("/v1/datasets/roads?repair=maybe", fcBody), 422);
  const dup = JSON.stringify({
    type: "FeatureCollection",
    features: [
      { type: "Feature", id: "a", geometry: { type: "Point", coordinates: [0, 0] } },
      { type: "Feature", id: "a", geometry: { type: "Point", coordinates: [1, 1] } },
      { type: "Feature", geometry: { type: "Point", coordinates: [1, 1] } },
    ],
  });
  p = await expectProblem(await put("/v1/datasets/roads", dup), 422);
  deepEqual(p.errors.map((e: { path: string }) => e.path), ["features[1].id", "features[2].id"]);
  await expectProblem(await put("/v1/datasets/roads", fcBody, "text/plain"), 415);
  await expectProblem(
    await put("/v1/datasets/roads", "x", "application/json", { "content-length": String(MAX_DATASET_BODY_BYTES + 1) }),
    413,
  );
  await expectProblem(await put("/v1/datasets/..bad", fcBody), 400);
  equal(calls.length, 0);
});

Deno.test("/v1/ops endpoints need the operator role: 403 without it, before validation, and the service is not called", async () => {
  const { app, calls } = recordingApp();
  const operator = await authed({}, { roles: ["operator"] });
  const paths = [
    "/v1/ops/jobs",
    "/v1/ops/metrics",
    "/v1/ops/jobs/j1/objects",
    "/v1/ops/partitions/8a2a1072b59ffff/events",
  ];
  for (const path of paths) {
    await expectProblem(await app.request(path, { headers: await authed() }, TEST_ENV), 403, "forbidden");
  }
  await expectProblem(
    await app.request("/v1/ops/jobs/j1/redrive", { method: "POST", headers: await authed() }, TEST_ENV),
    403,
    "forbidden",
  );
  // Before input validation: a non-operator learns nothing from a 422.
  await expectProblem(await app.request("/v1/ops/jobs?limit=9999", { headers: await authed() }, TEST_ENV), 403);
  equal(calls.length, 0);
  for (const path of paths) equal((await app.request(path, { headers: operator }, TEST_ENV)).status, 200, path);
  const redrive = await app.request("/v1/ops/jobs/j1/redrive", { method: "POST", headers: operator }, TEST_ENV);
  equal(redrive.status, 200);
  deepEqual(calls.map((c) => c.method), ["listJobs", "metrics", "jobObjects", "exportEvents", "redriveJob"]);
  const failed = await app.request("/v1/ops/jobs?status=FAILED&limit=5", { headers: operator }, TEST_ENV);
  equal((await failed.json()).jobs.length, 1);
  deepEqual(calls.at(-1)!.args[0], { status: "FAILED", limit: 5, stalled: false });
});

Deno.test("GET /openapi.json is OpenAPI 3.1 with bearer security and every route", async () => {
  const { app } = recordingApp();
  const res = await app.request("/openapi.json", {}, TEST_ENV);
  equal(res.status, 200);
  const doc = await res.json();
  equal(doc.openapi, "3.1.0");
  ok(doc.info?.title && doc.info?.version);
  deepEqual(doc.components.securitySchemes.bearerAuth, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: doc.components.securitySchemes.bearerAuth.description,
  });
  const expected: [string, string][] = [
    ["/health", "get"],
    ["/openapi.json", "get"],
    ["/v1/datasets/{name}", "put"],
    ["/v1/datasets/{name}", "get"],
    ["/v1/datasets", "get"],
    ["/v1/datasets/{name}/versions/{version}", "delete"],
    ["/v1/jobs", "post"],
    ["/v1/jobs", "get"],
    ["/v1/jobs/{job_id}", "get"],
    ["/v1/jobs/{job_id}", "delete"],
    ["/v1/jobs/{job_id}/result", "get"],
    ["/v1/jobs/{job_id}/result", "head"],
    ["/v1/ops/jobs", "get"],
    ["/v1/ops/jobs/{job_id}/redrive", "post"],
    ["/v1/ops/jobs/{job_id}/objects", "get"],
    ["/v1/ops/partitions/{cell}/events", "get"],
    ["/v1/ops/metrics", "get"],
    ["/v1/datasets/{name}/uploads", "post"],
    ["/v1/datasets/{name}/uploads/{upload_id}", "get"],
    ["/v1/datasets/{name}/uploads/{upload_id}", "delete"],
    ["/v1/datasets/{name}/uploads/{upload_id}/complete", "post"],
    ["/v1/datasets/{name}/uploads/{upload_id}/parts/{n}", "put"],
    ["/v1/webhooks/secret", "get"],
  ];
  for (const [path, method] of expected) {
    const op = doc.paths[path]?.[method];
    ok(op, `${method.toUpperCase()} ${path} documented`);
    ok(op.responses && Object.keys(op.responses).length > 0);
    // A result also opens by signed link, without a token ({} in the alternatives).
    const signed = path === "/v1/jobs/{job_id}/result";
    if (path.startsWith("/v1/")) deepEqual(op.security, signed ? [{ bearerAuth: [] }, {}] : [{ bearerAuth: [] }]);
  }
  // Every $ref resolves.
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
  for (const ref of refs) {
    const name = ref.split("/").pop()!.replace(/"$/, "");
    ok(doc.components.schemas[name], `schema ${name} exists`);
  }
  ok(doc.components.schemas.JobRequest.required.includes("job_idempotency_key"));
  equal(doc.components.schemas.JobRequest.additionalProperties, false);
});

Deno.test("CORS: every answer, an error or a 202, lets any origin read it and its exposed headers; a preflight ends at 204", async () => {
  const { app } = recordingApp();
  const origin = { origin: "https://map.example" };
  const answers = [
    await app.request("/health", { headers: origin }, TEST_ENV),
    await app.request("/v1/jobs/none", { headers: origin }, TEST_ENV), // 401, thrown by the auth middleware
    await app.request("/nope", {}, TEST_ENV), // 404, no Origin header
    await app.request("/v1/jobs", {
      method: "POST",
      headers: await authed({ "content-type": "application/json", ...origin }),
      body: JSON.stringify(validJob()),
    }, TEST_ENV),
  ];
  deepEqual(answers.map((res) => res.status), [200, 401, 404, 202]);
  for (const res of answers) {
    equal(res.headers.get("access-control-allow-origin"), "*");
    const exposed = res.headers.get("access-control-expose-headers") ?? "";
    for (const name of ["Location", "Server-Timing", "traceparent", "Retry-After"]) match(exposed, new RegExp(name));
    equal(res.headers.get("vary"), null);
  }
  // The handler's own headers survive (Location on the 202; Server-Timing from the timing middleware).
  ok(answers[3]!.headers.get("location"));
  ok(answers[3]!.headers.get("server-timing"));

  const preflight = await app.request("/v1/jobs", {
    method: "OPTIONS",
    headers: { ...origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
  }, TEST_ENV);
  equal(preflight.status, 204);
  equal(preflight.headers.get("access-control-allow-origin"), "*");
  match(preflight.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  equal(preflight.headers.get("access-control-max-age"), "600");
  // An OPTIONS request that is no preflight is the routes' to answer, without CORS headers.
  const plain = await app.request("/v1/jobs", { method: "OPTIONS" }, TEST_ENV);
  equal(plain.headers.get("access-control-allow-origin"), null);
});
