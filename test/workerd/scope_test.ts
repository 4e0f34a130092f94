/**
 * Spatial scope bounds what a job reads and returns (real workerd): the job's window (the request bbox, else the
 * union of everything the job reads, plus dwithin's reach) must lie inside the caller's spatial_scope, partitions
 * read only features intersecting it, a result download checks the downloader's own tier and scope, and dwithin
 * reaches over ±180° or a pole complete with PostGIS's pairs.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import {
  authHeaders,
  type Claims,
  expectProblem,
  fetchResultAs,
  publish,
  readJsonFixture,
  type ResultFeature,
  submit,
  waitForJob,
  waitForJobAs,
} from "./client.ts";

type Position = [number, number];
const square = (x0: number, y0: number, x1: number, y1: number) => ({
  type: "Polygon",
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});
const point = (coordinates: Position) => ({ type: "Point", coordinates });
const collection = (features: [string, unknown][]) => ({
  type: "FeatureCollection",
  features: features.map(([id, geometry]) => ({ type: "Feature", id, properties: {}, geometry })),
});

const DATASETS: Record<string, { query?: string; body: unknown }> = {
  far_a: { body: collection([["a1", point([100.2, 40.2])], ["a2", point([100.8, 40.9])]]) },
  far_b: { body: collection([["b1", point([102.3, 40.3])], ["b2", point([103.4, 41.1])]]) },
  home: { body: collection([["h1", point([0.3, 0.3])], ["h2", point([0.7, 0.6])]]) },
  edge_points: {
    body: collection([["near", point([3.45, 2])], ["beyond_bbox", point([3.7, 2])], ["outside", point([4.2, 2])]]),
  },
  // "band" lies wholly outside [0, 4]² (x + y ≥ 8.5 everywhere) though its bbox [3.5, 3.5, 5.1, 5.1] reaches in.
  fence: {
    body: collection([
      ["inner", square(3.5, 3.5, 3.8, 3.8)],
      ["band", { type: "Polygon", coordinates: [[[3.5, 5], [5, 3.5], [5.1, 3.6], [3.6, 5.1], [3.5, 5]]] }],
    ]),
  },
  secret: { query: "classification=confidential", body: collection([["s1", square(0, 0, 1, 1)]]) },
};

async function accepted(response: Response): Promise<string> {
  const body = await response.json();
  equal(response.status, 202, JSON.stringify(body));
  return body.job_id;
}

/** The result's features, downloaded as `claims`. */
async function featuresAs(service: Service, jobId: string, claims: Partial<Claims> = {}): Promise<ResultFeature[]> {
  const response = await fetchResultAs(service, jobId, claims);
  const text = await response.text();
  equal(response.status, 200, text);
  return JSON.parse(text).features;
}

const pairsOf = async (service: Service, jobId: string, claims: Partial<Claims> = {}) =>
  (await featuresAs(service, jobId, claims)).map((f) => [f.properties.left_id, f.properties.right_id]);

Deno.test("spatial scope bounds what a job can read and return", async (t) => {
  const service = await startService();
  try {
    for (const [name, { query, body }] of Object.entries(DATASETS)) {
      const response = await publish(service, name, JSON.stringify(body), query ? { query } : {});
      equal(response.status, 201, await response.text());
    }
    const refusedWithoutWrites = async (job: Record<string, unknown>, claims: Partial<Claims>) => {
      const before = await service.stateFingerprint();
      const problem = await expectProblem(await submit(service, job, claims), 403, ["bbox"]);
      match(problem.detail, /pass a bbox inside your spatial_scope/);
      equal(await service.stateFingerprint(), before, "a refused job writes nothing");
    };

    await t.step("a dwithin between two readable datasets outside the caller's scope is 403", async () => {
      const scoped: Partial<Claims> = { sub: "scoped", spatial_scope: [0, 0, 1, 1] };
      const join = { spatial_operation: "spatial_join", input_crs: "EPSG:4326", output_format: "geojson" };
      const bypass = { ...join, left_dataset: "far_a", dataset: "far_b", predicate: "dwithin", distance_m: 1_000_000 };
      await refusedWithoutWrites(bypass, scoped);
      await refusedWithoutWrites({ ...bypass, predicate: "intersects", distance_m: undefined }, scoped);
      // With a bbox the window is the bbox plus the reach: inside the scope, the job runs and reads nothing far.
      const bounded = await accepted(
        await submit(service, { ...bypass, distance_m: 1_000, bbox: [0.2, 0.2, 0.8, 0.8] }, scoped),
      );
      equal((await waitForJobAs(service, bounded, scoped)).status, "COMPLETED");
      deepEqual(await pairsOf(service, bounded, scoped), []);
    });

    await t.step("a dataset manifest lists only the tiles and extent inside the reader's scope", async () => {
      const manifestAs = async (name: string, claims: Partial<Claims>) => {
        const response = await service.fetch(`/v1/datasets/${name}`, { headers: await authHeaders(claims) });
        const text = await response.text();
        equal(response.status, 200, text);
        return JSON.parse(text) as { bbox: number[] | null; tiles: { bbox: number[]; feature_count: number }[] };
      };
      const scoped: Partial<Claims> = { sub: "scoped", spatial_scope: [0, 0, 1, 1] };
      // A tile's bbox is its features' extent: here the coordinates of both far points.
      const everyone = await manifestAs("far_a", {});
      deepEqual(everyone.tiles.map((tile) => tile.bbox), [[100.2, 40.2, 100.8, 40.9]]);
      const far = await manifestAs("far_a", scoped);
      equal(far.bbox, null);
      deepEqual(far.tiles, []);
      const overlapping = await manifestAs("far_a", { sub: "scoped", spatial_scope: [100, 40, 100.5, 41] });
      deepEqual(overlapping.bbox, [100.2, 40.2, 100.5, 40.9]);
      deepEqual(overlapping.tiles, [], "a tile reaching outside the scope is not listed");
      const home = await manifestAs("home", scoped);
      deepEqual(home, await manifestAs("home", {}));
    });

    await t.step("a 403 for a window made of the data's extent does not name that extent", async () => {
      const scoped: Partial<Claims> = { sub: "scoped", spatial_scope: [0, 0, 1, 1] };
      const response = await submit(service, {
        spatial_operation: "spatial_join",
        input_crs: "EPSG:4326",
        output_format: "geojson",
        geometry_payload: collection([["in", point([0.5, 0.5])]]),
        dataset: "far_a",
      }, scoped);
      const problem = await expectProblem(response, 403, ["bbox"]);
      match(problem.detail, /pass a bbox inside your spatial_scope/);
      ok(!/100\.[28]|40\.[29]/.test(JSON.stringify(problem)), JSON.stringify(problem));
    });

    await t.step("two disjoint datasets make a window of their union: a scope holding one of them is 403", async () => {
      const job = {
        spatial_operation: "spatial_join",
        input_crs: "EPSG:4326",
        output_format: "geojson",
        left_dataset: "home",
        dataset: "far_b",
        predicate: "intersects",
      };
      await refusedWithoutWrites(job, { sub: "home-only", spatial_scope: [0, 0, 1, 1] });
      const worldwide = await accepted(await submit(service, job));
      equal((await waitForJob(service, worldwide)).status, "COMPLETED");
    });

    await t.step(
      "a payload near the scope's edge with a large distance is 403; with a bbox, nothing outside returns",
      async () => {
        const scoped: Partial<Claims> = { sub: "edge", spatial_scope: [0, 0, 4, 4] };
        const job = {
          spatial_operation: "spatial_join",
          input_crs: "EPSG:4326",
          output_format: "geojson",
          geometry_payload: collection([["p", point([3.4, 2])]]),
          dataset: "edge_points",
          predicate: "dwithin",
          distance_m: 100_000,
        };
        // "outside" (4.2, 2) is 89 km from p: the old area (payload only) let it through.
        await refusedWithoutWrites(job, scoped);
        await refusedWithoutWrites({ ...job, bbox: [1, 1, 3.5, 3] }, scoped);
        const bounded = await accepted(
          await submit(service, { ...job, distance_m: 50_000, bbox: [1, 1, 3.5, 3] }, scoped),
        );
        equal((await waitForJobAs(service, bounded, scoped)).status, "COMPLETED");
        deepEqual(
          await pairsOf(service, bounded, scoped),
          [["p", "near"]],
          "PostGIS: && bbox on both sides, then ST_DWithin",
        );
      },
    );

    await t.step("a feature whose bbox reaches into the window but whose geometry does not is never read", async () => {
      const scoped: Partial<Claims> = { sub: "fence", spatial_scope: [0, 0, 4, 4] };
      const jobId = await accepted(
        await submit(service, {
          spatial_operation: "polygon_intersection",
          input_crs: "EPSG:4326",
          output_format: "geojson",
          geometry_payload: collection([["sq", square(3.4, 3.4, 4.6, 4.6)]]),
          dataset: "fence",
          bbox: [0, 0, 4, 4],
        }, scoped),
      );
      equal((await waitForJobAs(service, jobId, scoped)).status, "COMPLETED");
      const features = await featuresAs(service, jobId, scoped);
      deepEqual(features.map((f) => [f.properties.left_id, f.properties.right_id]), [["sq", "inner"]]);
      const coordinates = (features[0]!.geometry.coordinates as Position[][]).flat();
      ok(coordinates.every(([x, y]) => x >= 0 && x <= 4 && y >= 0 && y <= 4), JSON.stringify(coordinates));
    });

    await t.step(
      "an operator sees every job's status but downloads a result only within its own tier and scope",
      async () => {
        const jobId = await accepted(
          await submit(service, {
            spatial_operation: "polygon_intersection",
            input_crs: "EPSG:4326",
            output_format: "geojson",
            geometry_payload: collection([["q", square(0.2, 0.2, 0.6, 0.6)]]),
            dataset: "secret",
          }),
        );
        const lowTier: Partial<Claims> = { sub: "ops-low", roles: ["operator"], data_classification: "public" };
        equal((await waitForJobAs(service, jobId, lowTier)).status, "COMPLETED", "operators see the status");
        await expectProblem(await fetchResultAs(service, jobId, lowTier), 403);
        const elsewhere: Partial<Claims> = { sub: "ops-far", roles: ["operator"], spatial_scope: [50, 50, 60, 60] };
        await expectProblem(await fetchResultAs(service, jobId, elsewhere), 403);
        await expectProblem(await fetchResultAs(service, jobId, { sub: "stranger" }), 404);
        const cleared = await fetchResultAs(service, jobId, { sub: "ops-cleared", roles: ["operator"] });
        equal(cleared.status, 200, await cleared.clone().text());
        equal((await cleared.json()).features.length, 1);
      },
    );

    for (const [name, metres] of [["antimeridian", 25_000], ["polar", 30_000]] as const) {
      await t.step(
        `dwithin ${metres} m ${
          name === "polar" ? "around the North Pole" : "across ±180°"
        } completes with PostGIS's pairs`,
        async () => {
          const right = await Deno.readTextFile(
            new URL(`../fixtures/inputs/edge_${name}_right.geojson`, import.meta.url),
          );
          equal((await publish(service, `edge_${name}`, right)).status, 201);
          const left = await readJsonFixture(`inputs/edge_${name}_left.geojson`);
          const expected = await readJsonFixture<{ left_id: string; right_id: string }[]>(
            `postgis/spatial_join_dwithin_${name}_${metres}m.json`,
          );
          const jobId = await accepted(
            await submit(service, {
              spatial_operation: "spatial_join",
              input_crs: "EPSG:4326",
              output_format: "geojson",
              geometry_payload: left,
              dataset: `edge_${name}`,
              predicate: "dwithin",
              distance_m: metres,
            }),
          );
          const status = await waitForJob(service, jobId);
          equal(status.status, "COMPLETED", JSON.stringify(status));
          deepEqual(await pairsOf(service, jobId), expected.map((p) => [p.left_id, p.right_id]));
        },
      );
    }

    await t.step("a scoped dwithin whose reach wraps over ±180° out of its scope is 403", async () => {
      await refusedWithoutWrites({
        spatial_operation: "spatial_join",
        input_crs: "EPSG:4326",
        output_format: "geojson",
        geometry_payload: collection([["w", point([179.9, 0])]]),
        dataset: "edge_antimeridian",
        predicate: "dwithin",
        distance_m: 25_000,
        bbox: [179.5, -0.5, 179.95, 0.5],
      }, { sub: "east-only", spatial_scope: [170, -10, 180, 10] });
    });
  } finally {
    await service.stop();
  }
});
