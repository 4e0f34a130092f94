/**
 * Multipart network uploads (`POST /v1/datasets/{name}/uploads?kind=network`) in real workerd: the catalog builds
 * the topology from the staged parts a batch of blocks at a time, and the version answers like pgRouting and like
 * the same network published in one PUT; bad parts are 422 and a refused complete publishes nothing.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import { authHeaders, expectProblem, publish, r2Keys, readFixture, resultFeatures, runJob } from "./client.ts";

type Feature = { id?: unknown; properties: Record<string, unknown>; geometry: unknown };
type Row = { left_id: number; right_id: number; cost: number };
type AreaRow = { left_id: number; vertex_id: number; agg_cost: number };
type Manifest = {
  kind: string;
  vertex_count: number;
  edge_count: number;
  component_count: number;
  snap_m: number;
  feature_count: number;
  bbox: number[];
  tiles: { cell: string; feature_count: number; bbox: number[]; bytes: number }[];
};

const json = async <T>(name: string) => JSON.parse(new TextDecoder().decode(await readFixture(name))) as T;
const collection = (features: unknown[]) => JSON.stringify({ type: "FeatureCollection", features });
const near = (got: number, want: number, what: string) =>
  ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

async function call(service: Service, method: string, path: string, body?: string) {
  const response = await service.fetch(path, {
    method,
    headers: { ...(await authHeaders()), "content-type": "application/geo+json" },
    body,
  });
  return { response, body: await response.clone().json().catch(() => null) };
}

async function openUpload(service: Service, name: string, query: string): Promise<string> {
  const { response, body } = await call(service, "POST", `/v1/datasets/${name}/uploads?${query}`);
  equal(response.status, 201, JSON.stringify(body));
  return body.upload_id;
}

async function putParts(service: Service, name: string, id: string, parts: Feature[][]) {
  for (const [i, features] of parts.entries()) {
    const { response, body } = await call(
      service,
      "PUT",
      `/v1/datasets/${name}/uploads/${id}/parts/${i + 1}`,
      collection(features),
    );
    equal(response.status, 200, JSON.stringify(body));
    equal(body.feature_count, features.length);
  }
}

async function completeUpload(service: Service, name: string, id: string): Promise<Manifest> {
  const { response, body } = await call(service, "POST", `/v1/datasets/${name}/uploads/${id}/complete`);
  ok(response.status === 200 || response.status === 202, JSON.stringify(body));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body: status } = await call(service, "GET", `/v1/datasets/${name}/uploads/${id}`);
    if (status.state === "COMPLETED") return status.manifest;
    if (status.state !== "COMPLETING" || Date.now() > deadline) throw new Error(JSON.stringify(status));
    await new Promise((r) => setTimeout(r, 100));
  }
}

const slices = <T>(items: T[], count: number) => {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
};

const blocks = (m: Manifest) =>
  m.tiles.map(({ cell, feature_count, bbox, bytes }) => ({ cell, feature_count, bbox, bytes }));

Deno.test("network uploads in parts in workerd", async (t) => {
  // Blocks of at most 100 vertices: the build makes one pass over the parts per block.
  const service = await startService({ vars: { NETWORK_BLOCK_VERTICES: "100" } });
  try {
    const small = await json<{ features: Feature[] }>("network/generated_small_edges.geojson");

    await t.step(
      "a network in 4 parts builds the blocks one PUT builds; costs and service areas equal pgRouting's",
      async () => {
        const id = await openUpload(service, "small-parts", "classification=public&kind=network");
        await putParts(service, "small-parts", id, slices(small.features, 4));
        const parts = await completeUpload(service, "small-parts", id);
        const single = await (await publish(service, "small-single", JSON.stringify(small), {
          query: "classification=public&kind=network",
        })).json() as Manifest;
        deepEqual(
          [parts.kind, parts.vertex_count, parts.edge_count, parts.component_count, parts.feature_count],
          ["network", 1323, small.features.length, 4, small.features.length],
        );
        ok(parts.tiles.length >= 10, `${parts.tiles.length} blocks`);
        deepEqual(blocks(parts), blocks(single));
        deepEqual(parts.bbox, single.bbox);

        const points = await json<{ features: Feature[] }>("network/points_small.geojson");
        const paths = await runJob(service, {
          spatial_operation: "shortest_path",
          geometry_payload: points,
          dataset: "small-parts",
          path_geometry: false,
        });
        equal(paths.status, "COMPLETED", JSON.stringify(paths));
        const got = (await resultFeatures(service, paths.job_id)).map((f) => f.properties as unknown as Row);
        const want = await json<Row[]>("network/answers/small_shortest_path.json");
        deepEqual(got.map((r) => [r.left_id, r.right_id]), want.map((r) => [r.left_id, r.right_id]));
        got.forEach((r, i) => near(r.cost, want[i]!.cost, `${r.left_id}→${r.right_id}`));

        const area = await runJob(service, {
          spatial_operation: "service_area",
          geometry_payload: { ...points, features: points.features.slice(0, 10) },
          dataset: "small-parts",
          max_cost: 120,
        });
        equal(area.status, "COMPLETED", JSON.stringify(area));
        const rows = (await resultFeatures(service, area.job_id)).map((f) => f.properties as unknown as AreaRow);
        const wantArea = await json<AreaRow[]>("network/answers/small_service_area_120.json");
        deepEqual(rows.map((r) => [r.left_id, r.vertex_id]), wantArea.map((r) => [r.left_id, r.vertex_id]));
        rows.forEach((r, i) => near(r.agg_cost, wantArea[i]!.agg_cost, `${r.left_id}→${r.vertex_id}`));
      },
    );

    await t.step("snap_m=1 in 2 parts merges the 0.28 m gap across parts: 14 vertices, 3 components", async () => {
      const cases = await json<{ features: Feature[] }>("network/cases_edges.geojson");
      const id = await openUpload(service, "cases-parts", "classification=public&kind=network&snap_m=1");
      await putParts(service, "cases-parts", id, slices(cases.features, 2));
      const manifest = await completeUpload(service, "cases-parts", id);
      deepEqual([manifest.vertex_count, manifest.component_count, manifest.snap_m], [14, 3, 1]);
    });

    await t.step(
      "a part that is not a network is 422 and stores nothing",
      async () => {
        const id = await openUpload(service, "bad-parts", "classification=public&kind=network");
        const before = await service.stateFingerprint();
        const { response } = await call(
          service,
          "PUT",
          `/v1/datasets/bad-parts/uploads/${id}/parts/1`,
          collection([
            small.features[0],
            { type: "Feature", id: 99_999, properties: { cost: "NaN" }, geometry: small.features[1]!.geometry },
            { type: "Feature", id: 99_998, properties: {}, geometry: { type: "Point", coordinates: [0, 0] } },
          ]),
        );
        await expectProblem(response, 422, ["features[1].properties.cost", "features[2].geometry"]);
        equal(await service.stateFingerprint(), before);
      },
    );

    await t.step("ids in two parts: complete is 422 and no version is published", async () => {
      const id = await openUpload(service, "dup-parts", "classification=public&kind=network");
      await putParts(service, "dup-parts", id, [small.features.slice(0, 20), small.features.slice(10, 30)]);
      const { response } = await call(service, "POST", `/v1/datasets/dup-parts/uploads/${id}/complete`);
      await expectProblem(response, 422);
      await expectProblem(await service.fetch("/v1/datasets/dup-parts", { headers: await authHeaders() }), 404);
    });

    await t.step(
      "a build the publish refuses (another domain took the name meanwhile): FAILED, none of its blocks left in R2",
      async () => {
        const id = await openUpload(service, "taken", "classification=public&kind=network");
        await putParts(service, "taken", id, slices(small.features, 2));
        const other = await publish(service, "taken", JSON.stringify(small), {
          query: "classification=public&kind=network",
          claims: { domain: "other" },
        });
        equal(other.status, 201, await other.text());
        const blocks = async () => (await r2Keys(service, "datasets/taken/")).filter((k) => k.includes("/network/"));
        const others = await blocks();
        ok(others.length >= 20, `the other domain's version has its blocks: ${others.length}`);
        const { response } = await call(service, "POST", `/v1/datasets/taken/uploads/${id}/complete`);
        ok(response.status === 200 || response.status === 202, await response.text());
        let status;
        for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
          status = (await call(service, "GET", `/v1/datasets/taken/uploads/${id}`)).body;
          if (status.state !== "COMPLETING") break;
          await new Promise((r) => setTimeout(r, 100));
        }
        equal(status.state, "FAILED", JSON.stringify(status));
        deepEqual(await blocks(), others, "only the published version's blocks remain");
      },
    );

    await t.step("snap_m without kind=network is refused at open: 422", async () => {
      for (const query of ["snap_m=1", "kind=raster&snap_m=1"]) {
        const { response } = await call(service, "POST", `/v1/datasets/refused/uploads?classification=public&${query}`);
        await expectProblem(response, 422, ["snap_m"]);
      }
    });
  } finally {
    await service.stop();
  }
});
