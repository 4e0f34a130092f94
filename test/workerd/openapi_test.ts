/**
 * `/openapi.json` as served by real workerd: every operation has a unique camelCase operationId, the typed client's
 * types (scripts/client/openapi.gen.ts) are generated from it, the document lints clean with Redocly's linter (pinned in deno.json, rules in redocly.yaml), and real answers of the v1 API (status
 * documents, job lists, dataset manifests and lists, upload statuses, results, problems) and of the OGC API
 * validate against the document's own response schemas (openapi_responses.ts: objects read as closed).
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, type Claims, readFixture } from "./client.ts";
import { ResponseChecker } from "./openapi_responses.ts";
import { clientSchemaSource, GENERATED_FILE } from "../../scripts/client/generate.ts";

const REPO = new URL("../../", import.meta.url);
const CAMEL_CASE = /^[a-z][a-zA-Z0-9]*$/;
const METHODS = ["get", "put", "post", "delete", "head", "patch", "options"];

const square = (x: number, y: number) => ({
  type: "Feature",
  id: `sq_${x}_${y}`,
  properties: {},
  geometry: { type: "Polygon", coordinates: [[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]] },
});
const collection = (features: unknown[]) => JSON.stringify({ type: "FeatureCollection", features });

/** Runs the pinned Redocly CLI's `lint` on `file`; no telemetry, no update check. */
async function redoclyLint(file: string): Promise<{ code: number; output: string }> {
  const imports = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO))).imports;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", imports["@redocly/cli"], "lint", "--config", "redocly.yaml", "--format", "stylish", file],
    cwd: REPO,
    env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" },
  }).output();
  return { code, output: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

Deno.test("/openapi.json names every operation, lints clean, and describes the answers the service gives", async (t) => {
  const service = await startService();
  try {
    const doc = await (await service.fetch("/openapi.json")).json();
    const checker = new ResponseChecker(doc);
    const auth = async (claims: Partial<Claims> = {}) => await authHeaders(claims);
    /** Sends a request and checks its answer against the document. */
    const call = async (method: string, path: string, init: RequestInit = {}, expected?: number) => {
      const checked = await checker.check(method, path, await service.fetch(path, { ...init, method }));
      if (expected !== undefined) equal(checked.status, expected, `${method} ${path}: ${JSON.stringify(checked.body)}`);
      return checked;
    };

    await t.step("every operation has a unique camelCase operationId", () => {
      const ids: string[] = [];
      for (
        const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string }>>)
      ) {
        for (const method of METHODS.filter((m) => item[m])) {
          const id = item[method]!.operationId;
          ok(id && CAMEL_CASE.test(id), `${method.toUpperCase()} ${path}: operationId ${id}`);
          ids.push(id);
        }
      }
      deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], "duplicate operationIds");
      ok(ids.length >= 30, `${ids.length} operations`);
    });

    await t.step("the committed client types are generated from this document", async () => {
      equal(
        await Deno.readTextFile(GENERATED_FILE),
        await clientSchemaSource(doc),
        "scripts/client/openapi.gen.ts is stale: run `deno task client:generate`",
      );
    });

    await t.step("Redocly's linter finds no error and no warning", async () => {
      const file = await Deno.makeTempFile({ suffix: ".json" });
      try {
        await Deno.writeTextFile(file, JSON.stringify(doc, null, 2));
        const { code, output } = await redoclyLint(file);
        equal(code, 0, output);
        ok(/Woohoo! Your API description is valid/.test(output), output);
      } finally {
        await Deno.remove(file);
      }
    });

    await t.step("service and dataset answers match the document", async () => {
      await call("GET", "/health", {}, 200);
      await call("GET", "/openapi.json", {}, 200);
      const grid = collection([square(-104, 38), square(-103, 38), square(-102, 39)]);
      const put = await call("PUT", "/v1/datasets/squares?classification=public", {
        headers: { ...(await auth()), "content-type": "application/geo+json" },
        body: grid,
      }, 201);
      equal(put.body.feature_count, 3);
      const points = await readFixture("inputs/points_sample.geojson");
      await call("PUT", "/v1/datasets/points?classification=public", {
        headers: { ...(await auth()), "content-type": "application/geo+json" },
        body: points as BodyInit,
      }, 201);
      await call("GET", "/v1/datasets/squares", { headers: await auth() }, 200);
      await call("GET", "/v1/datasets", { headers: await auth() }, 200);
      await call("GET", "/v1/datasets/nope", { headers: await auth() }, 404);
      await call("PUT", "/v1/datasets/squares", {
        headers: { ...(await auth()), "content-type": "image/png" },
        body: "a,b",
      }, 415);
      await call("PUT", "/v1/datasets/squares", {
        headers: { ...(await auth()), "content-type": "application/geo+json" },
        body: "{",
      }, 400);
      await call("PUT", "/v1/datasets/squares", {
        headers: { ...(await auth()), "content-type": "application/geo+json" },
        body: JSON.stringify({ type: "FeatureCollection", features: [{ type: "Feature" }] }),
      }, 422);
      await call("PUT", "/v1/datasets/squares", {
        headers: { ...(await auth({ domain: "elsewhere" })), "content-type": "application/geo+json" },
        body: grid,
      }, 403);
      await call("DELETE", "/v1/datasets/squares/versions/9", { headers: await auth() }, 404);
    });

    await t.step("multipart upload answers match the document", async () => {
      const opened = await call("POST", "/v1/datasets/parts/uploads?classification=public", {
        headers: await auth(),
      }, 201);
      const base = `/v1/datasets/parts/uploads/${opened.body.upload_id}`;
      for (const [n, x] of [[1, -104], [2, -100]] as const) {
        await call("PUT", `${base}/parts/${n}`, {
          headers: { ...(await auth()), "content-type": "application/geo+json" },
          body: collection([square(x, 40)]),
        }, 200);
      }
      await call("GET", base, { headers: await auth() }, 200);
      const completed = await call("POST", `${base}/complete`, { headers: await auth() });
      ok([200, 202].includes(completed.status), `complete answered ${completed.status}`);
      for (let state = completed.body.state; state === "COMPLETING";) {
        await new Promise((r) => setTimeout(r, 100));
        state = (await call("GET", base, { headers: await auth() }, 200)).body.state;
      }
      equal((await call("GET", base, { headers: await auth() }, 200)).body.state, "COMPLETED");
      const aborted = await call("POST", "/v1/datasets/parts/uploads?classification=public", {
        headers: await auth(),
      }, 201);
      await call("DELETE", `/v1/datasets/parts/uploads/${aborted.body.upload_id}`, { headers: await auth() }, 200);
      await call("GET", "/v1/datasets/parts/uploads/upl_00000000000000000000000000000000", {
        headers: await auth(),
      }, 404);
    });

    await t.step(
      "job answers (submit, replay, status documents, list, result, cancel) match the document",
      async () => {
        const job = (squares: unknown[]) => ({
          job_idempotency_key: key,
          spatial_operation: "point_in_polygon",
          dataset: "points",
          geometry_payload: { type: "FeatureCollection", features: squares },
        });
        const key = crypto.randomUUID();
        const request = JSON.stringify(job([square(-104, 38), square(-100, 40)]));
        const submitInit = async () => ({
          headers: { ...(await auth()), "content-type": "application/json" },
          body: request,
        });
        const accepted = await call("POST", "/v1/jobs", await submitInit(), 202);
        await call("POST", "/v1/jobs", await submitInit(), 200);
        const jobId = accepted.body.job_id;
        const statuses = new Set<string>();
        for (const deadline = Date.now() + 120_000;;) {
          const { body } = await call("GET", `/v1/jobs/${jobId}`, { headers: await auth() }, 200);
          statuses.add(body.status);
          if (["COMPLETED", "FAILED", "CANCELLED"].includes(body.status)) break;
          ok(Date.now() < deadline, `job still ${body.status}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        ok(statuses.has("COMPLETED"), [...statuses].join(", "));
        await call("GET", "/v1/jobs", { headers: await auth() }, 200);
        await call("GET", "/v1/jobs?status=COMPLETED&limit=1", { headers: await auth() }, 200);
        await call("GET", "/v1/jobs?status=NOPE", { headers: await auth() }, 422);
        const result = await call("GET", `/v1/jobs/${jobId}/result`, { headers: await auth() }, 200);
        equal(result.body.type, "FeatureCollection");
        await call("HEAD", `/v1/jobs/${jobId}/result`, { headers: await auth() }, 200);
        await call("GET", `/v1/jobs/${jobId}/result`, { headers: { ...(await auth()), range: "bytes=0-7" } }, 206);
        await call("DELETE", `/v1/jobs/${jobId}`, { headers: await auth() }, 200);

        await call("POST", "/v1/jobs", {
          headers: { ...(await auth()), "content-type": "application/json" },
          body: JSON.stringify(job([square(-104, 38)])),
        }, 409);
        await call("POST", "/v1/jobs", {
          headers: { ...(await auth()), "content-type": "application/json" },
          body: JSON.stringify({ spatial_operation: "buffer" }),
        }, 422);
        await call("POST", "/v1/jobs", {
          headers: { ...(await auth()), "content-type": "application/json" },
          body: "{",
        }, 400);
        await call("POST", "/v1/jobs", { body: request, headers: { "content-type": "application/json" } }, 401);
        await call("GET", "/v1/jobs/job_00000000000000000000000000000000", { headers: await auth() }, 404);
        await call("GET", `/v1/jobs/${jobId}`, { headers: await auth({ sub: "someone-else" }) }, 404);
        await call("POST", "/v1/jobs", {
          headers: { ...(await auth({ spatial_scope: [0, 0, 1, 1] })), "content-type": "application/json" },
          body: JSON.stringify({ ...job([square(-104, 38)]), job_idempotency_key: crypto.randomUUID() }),
        }, 403);
      },
    );

    await t.step("operator, webhook and OGC answers match the document", async () => {
      const operator = await auth({ roles: ["operator"] });
      await call("GET", "/v1/ops/metrics", { headers: operator }, 200);
      await call("GET", "/v1/ops/jobs?status=FAILED", { headers: operator }, 200);
      await call("GET", "/v1/ops/metrics", { headers: await auth() }, 403);
      const secret = await call("GET", "/v1/webhooks/secret", { headers: await auth() });
      ok([200, 503].includes(secret.status));
      await call("GET", "/", {}, 200);
      await call("GET", "/conformance", {}, 200);
      await call("GET", "/processes", {}, 200);
      await call("GET", "/processes/point_in_polygon", {}, 200);
      await call("GET", "/processes/buffer", {}, 404);
      await call("GET", "/processes?f=xml", {}, 422);
      await call("GET", "/jobs", { headers: await auth() }, 200);
    });

    await t.step("a status document with a field the document does not name fails the check", async () => {
      const { body } = await call("GET", "/v1/jobs", { headers: await auth() }, 200);
      const extra = { ...body.jobs[0], undocumented: 1 };
      const response = new Response(JSON.stringify(extra), { headers: { "content-type": "application/json" } });
      await rejects(checker.check("GET", `/v1/jobs/${extra.job_id}`, response), /undocumented|unevaluated/);
    });

    const expected = [
      "getHealth 200",
      "getOpenApiDocument 200",
      "publishDataset 201",
      "publishDataset 400",
      "publishDataset 403",
      "publishDataset 415",
      "publishDataset 422",
      "getDataset 200",
      "getDataset 404",
      "listDatasets 200",
      "deleteDatasetVersion 404",
      "openDatasetUpload 201",
      "putDatasetUploadPart 200",
      "getDatasetUpload 200",
      "getDatasetUpload 404",
      "abortDatasetUpload 200",
      "submitJob 202",
      "submitJob 200",
      "submitJob 400",
      "submitJob 401",
      "submitJob 403",
      "submitJob 409",
      "submitJob 422",
      "getJob 200",
      "getJob 404",
      "listJobs 200",
      "listJobs 422",
      "getJobResult 200",
      "getJobResult 206",
      "headJobResult 200",
      "cancelJob 200",
      "listOpsJobs 200",
      "getMetrics 200",
      "getMetrics 403",
      "getLandingPage 200",
      "getConformance 200",
      "listProcesses 200",
      "listProcesses 422",
      "getProcess 200",
      "getProcess 404",
      "listOgcJobs 200",
    ];
    deepEqual(expected.filter((e) => !checker.checked.has(e)), [], "answers not checked");
  } finally {
    await service.stop();
  }
});
