/** Multipart dataset uploads (`/v1/datasets/{name}/uploads/...`) against real workerd. */
import { deepEqual, equal, notEqual, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import {
  authHeaders,
  type Claims,
  expectProblem,
  publish,
  r2Keys,
  readFixture,
  readJsonFixture,
  resultFeatures,
  runJob,
} from "./client.ts";

type Service = Awaited<ReturnType<typeof startService>>;
interface Fc {
  type: "FeatureCollection";
  features: { id?: string | number; properties: Record<string, unknown>; geometry: unknown }[];
}
interface Manifest {
  version: number;
  feature_count: number;
  bbox: number[];
  geometry_types: string[];
  attributes?: { name: string; type: string }[];
  tiles: { cell: string; feature_count: number; bbox: number[]; bytes: number }[];
}

const body = (features: Fc["features"]) => JSON.stringify({ type: "FeatureCollection", features });

async function open(service: Service, name: string, query = "classification=public", claims: Partial<Claims> = {}) {
  return await service.fetch(`/v1/datasets/${name}/uploads?${query}`, {
    method: "POST",
    headers: await authHeaders(claims),
  });
}

async function openOk(service: Service, name: string, query?: string): Promise<string> {
  const response = await open(service, name, query);
  const created = await response.json();
  equal(response.status, 201, JSON.stringify(created));
  equal(response.headers.get("location"), `/v1/datasets/${name}/uploads/${created.upload_id}`);
  ok(Date.parse(created.expires_at) > Date.now());
  return created.upload_id;
}

async function putPart(
  service: Service,
  name: string,
  id: string,
  n: number,
  data: string,
  claims: Partial<Claims> = {},
) {
  return await service.fetch(`/v1/datasets/${name}/uploads/${id}/parts/${n}`, {
    method: "PUT",
    headers: { ...(await authHeaders(claims)), "content-type": "application/geo+json" },
    body: data,
  });
}

async function complete(service: Service, name: string, id: string) {
  return await service.fetch(`/v1/datasets/${name}/uploads/${id}/complete`, {
    method: "POST",
    headers: await authHeaders(),
  });
}

async function waitCompleted(service: Service, name: string, id: string): Promise<{ manifest: Manifest }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await service.fetch(`/v1/datasets/${name}/uploads/${id}`, { headers: await authHeaders() });
    const status = await response.json();
    equal(response.status, 200, JSON.stringify(status));
    if (status.state === "COMPLETED") return status;
    if (status.state !== "COMPLETING" || Date.now() > deadline) throw new Error(JSON.stringify(status));
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tileSummary = (m: Manifest) =>
  m.tiles.map(({ cell, feature_count, bbox, bytes }) => ({ cell, feature_count, bbox, bytes }));

Deno.test("dataset uploads: a dataset published in parts equals the same dataset published in one PUT", async (t) => {
  const service = await startService();
  try {
    const points = await readJsonFixture<Fc>("inputs/points_sample.geojson");
    const third = Math.ceil(points.features.length / 3);
    const slices = [0, 1, 2].map((i) => points.features.slice(i * third, (i + 1) * third));
    let single: Manifest;
    let uploadId = "";

    await t.step("publish counties and the points in one PUT", async () => {
      const counties = await publish(service, "counties", await readFixture("inputs/counties_sample.geojson"), {
        query: "classification=public&repair=true",
      });
      equal(counties.status, 201, await counties.clone().text());
      await counties.body?.cancel();
      const response = await publish(service, "points-single", body(points.features));
      single = await response.json();
      equal(response.status, 201, JSON.stringify(single));
    });

    await t.step("open an upload and PUT three parts, out of order", async () => {
      uploadId = await openOk(service, "points-multi");
      for (const n of [3, 1, 2]) {
        const response = await putPart(service, "points-multi", uploadId, n, body(slices[n - 1]!));
        const part = await response.json();
        equal(response.status, 200, JSON.stringify(part));
        equal(part.n, n);
        equal(part.feature_count, slices[n - 1]!.length);
        deepEqual(part.geometry_types, ["Point"]);
      }
    });

    await t.step("a part with an invalid geometry is a 422 and nothing of it is kept", async () => {
      const before = await service.stateFingerprint();
      const invalid = await readFixture("inputs/invalid_counties.geojson");
      const response = await putPart(service, "points-multi", uploadId, 4, new TextDecoder().decode(invalid));
      const problem = await expectProblem(response, 422);
      ok(problem.errors?.some((e) => /features\[\d+\]\.geometry/.test(e.path)), JSON.stringify(problem.errors));
      equal(await service.stateFingerprint(), before);
      const status = await (await service.fetch(`/v1/datasets/points-multi/uploads/${uploadId}`, {
        headers: await authHeaders(),
      })).json();
      deepEqual(status.parts.map((p: { n: number }) => p.n), [1, 2, 3]);
      equal(status.state, "OPEN");
    });

    await t.step(
      "another domain cannot open an upload of the dataset nor add a part: 403, nothing written",
      async () => {
        const before = await service.stateFingerprint();
        await expectProblem(await open(service, "points-single", undefined, { domain: "other" }), 403);
        await expectProblem(
          await putPart(service, "points-multi", uploadId, 4, body(slices[0]!), { domain: "other" }),
          403,
        );
        equal(await service.stateFingerprint(), before);
      },
    );

    let multi: Manifest;
    await t.step("complete merges the parts: same counts, bbox, attributes and tiles as the single PUT", async () => {
      const response = await complete(service, "points-multi", uploadId);
      const status = await response.json();
      ok(response.status === 202 || response.status === 200, JSON.stringify(status));
      multi = (await waitCompleted(service, "points-multi", uploadId)).manifest;
      equal(multi.version, 1);
      equal(multi.feature_count, single.feature_count);
      deepEqual(multi.bbox, single.bbox);
      deepEqual(multi.geometry_types, single.geometry_types);
      // Only the last part's points have `special`: the merged version records it as the single PUT does.
      deepEqual(single.attributes, [{ name: "special", type: "string" }]);
      deepEqual(multi.attributes, single.attributes);
      // Same cells, counts, extents and byte sizes: each merged tile holds the single PUT's features.
      deepEqual(tileSummary(multi), tileSummary(single));
      ok(multi.tiles.every((tile) => !("key" in tile)), "tiles without their storage keys");
    });

    await t.step("completing twice is idempotent: same manifest, no second version", async () => {
      const response = await complete(service, "points-multi", uploadId);
      const status = await response.json();
      equal(response.status, 200, JSON.stringify(status));
      equal(status.state, "COMPLETED");
      deepEqual(status.manifest, multi);
      const doc = await (await service.fetch("/v1/datasets/points-multi", { headers: await authHeaders() })).json();
      equal(doc.versions.length, 1);
      equal(doc.etag, (multi as unknown as { etag: string }).etag);
      await expectProblem(await putPart(service, "points-multi", uploadId, 4, body(slices[0]!)), 409);
    });

    await t.step("a job over the multipart dataset answers as over the single PUT", async () => {
      const answers: string[][] = [];
      for (const dataset of ["points-single", "points-multi"]) {
        const done = await runJob(service, {
          spatial_operation: "point_in_polygon",
          left_dataset: "counties",
          dataset,
        });
        equal(done.status, "COMPLETED", JSON.stringify(done));
        const features = await resultFeatures(service, done.job_id);
        answers.push(features.map((f) => `${f.properties.left_id}|${f.properties.right_id}`));
      }
      ok(answers[0]!.length > 100, `only ${answers[0]!.length} pairs`);
      deepEqual(answers[1], answers[0]);
    });

    await t.step("an id present in two parts is a 422 at complete; replacing the part fixes it", async () => {
      const id = await openOk(service, "dups");
      const f = points.features;
      equal((await putPart(service, "dups", id, 1, body(f.slice(0, 100)))).status, 200);
      equal((await putPart(service, "dups", id, 2, body(f.slice(50, 150)))).status, 200);
      const problem = await expectProblem(await complete(service, "dups", id), 422);
      equal(problem.errors?.length, 50);
      deepEqual(problem.errors?.[0], { path: "parts[1,2]", message: `duplicate id ${f[50]!.id}` });
      const status = await (await service.fetch(`/v1/datasets/dups/uploads/${id}`, { headers: await authHeaders() }))
        .json();
      equal(status.state, "OPEN");
      await expectProblem(await service.fetch("/v1/datasets/dups", { headers: await authHeaders() }), 404);

      equal((await putPart(service, "dups", id, 2, body(f.slice(100, 200)))).status, 200);
      equal((await complete(service, "dups", id)).status, 202);
      const done = await waitCompleted(service, "dups", id);
      equal(done.manifest.feature_count, 200);
    });

    await t.step("an aborted upload refuses parts and completion", async () => {
      const id = await openOk(service, "aborted");
      equal((await putPart(service, "aborted", id, 1, body(points.features.slice(0, 10)))).status, 200);
      const response = await service.fetch(`/v1/datasets/aborted/uploads/${id}`, {
        method: "DELETE",
        headers: await authHeaders(),
      });
      const status = await response.json();
      equal(response.status, 200, JSON.stringify(status));
      equal(status.state, "ABORTED");
      deepEqual(status.parts, []);
      await expectProblem(await putPart(service, "aborted", id, 2, body(points.features.slice(10, 20))), 409);
      await expectProblem(await complete(service, "aborted", id), 409);
      await expectProblem(await service.fetch("/v1/datasets/aborted", { headers: await authHeaders() }), 404);
    });

    await t.step(
      "a merge the publish refuses (another domain took the name meanwhile): FAILED, none of its merged tiles left",
      async () => {
        const id = await openOk(service, "taken");
        for (const n of [1, 2]) equal((await putPart(service, "taken", id, n, body(slices[n - 1]!))).status, 200);
        const other = await publish(service, "taken", body(slices[2]!), { claims: { domain: "other" } });
        equal(other.status, 201, await other.text());
        const tiles = async () => (await r2Keys(service, "datasets/taken/")).filter((k) => !k.includes("/parts/"));
        const others = await tiles();
        ok(others.length > 0, "the other domain's version has its tiles");
        equal((await complete(service, "taken", id)).status, 202);
        let status;
        for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
          status = await (await service.fetch(`/v1/datasets/taken/uploads/${id}`, { headers: await authHeaders() }))
            .json();
          if (status.state !== "COMPLETING") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        equal(status.state, "FAILED", JSON.stringify(status));
        deepEqual(await tiles(), others, "only the published version's tiles remain");
      },
    );

    await t.step("an unknown upload id is a 404; a malformed one a 400", async () => {
      notEqual(uploadId, "upl_00000000000000000000000000000000");
      await expectProblem(
        await service.fetch("/v1/datasets/points-multi/uploads/upl_00000000000000000000000000000000", {
          headers: await authHeaders(),
        }),
        404,
      );
      const bad = await service.fetch("/v1/datasets/points-multi/uploads/nope", { headers: await authHeaders() });
      ok(bad.status === 400 || bad.status === 422, String(bad.status));
      await bad.body?.cancel();
    });
  } finally {
    await service.stop();
  }
});
