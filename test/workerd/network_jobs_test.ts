/**
 * shortest_path and service_area in real workerd against pgRouting's answers (test/fixtures/network): one-way
 * edges, unreachable pairs, origin = destination, disconnected components, snapping, a network cut into many
 * blocks spread over several partitions, path lines, scope and tier checks.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { type Service, startService } from "./harness.ts";
import { expectProblem, fetchResult, publish, readFixture, resultFeatures, runJob, submit } from "./client.ts";
import { deserialize } from "flatgeobuf/lib/mjs/geojson.js";

type Row = { left_id: number; right_id: number; start_vid: number; end_vid: number; cost: number };
type AreaRow = { left_id: number; vertex_id: number; agg_cost: number };
type PathRow = Row & { geometry: { coordinates: number[][] } };
type Feature = { properties: Record<string, number>; geometry: { type: string; coordinates: number[][] } | null };

const answer = async <T>(name: string) =>
  JSON.parse(new TextDecoder().decode(await readFixture(`network/answers/${name}`))) as T;
const fixtureJson = async (name: string) => JSON.parse(new TextDecoder().decode(await readFixture(`network/${name}`)));
const near = (got: number, want: number, what: string) =>
  ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

function assertCosts(features: Feature[], want: Row[], what: string) {
  const got = features.map((f) => f.properties);
  deepEqual(
    got.map((r) => [r.left_id, r.right_id, r.start_vid, r.end_vid]),
    want.map((r) => [r.left_id, r.right_id, r.start_vid, r.end_vid]),
    `${what}: the same pairs in (left_id, right_id) order`,
  );
  got.forEach((r, i) => near(r.cost!, want[i]!.cost, `${what} ${r.left_id}→${r.right_id}`));
}

function assertArea(features: Feature[], want: AreaRow[], what: string) {
  const got = features.map((f) => f.properties);
  deepEqual(
    got.map((r) => [r.left_id, r.vertex_id]),
    want.map((r) => [r.left_id, r.vertex_id]),
    `${what}: vertex sets`,
  );
  got.forEach((r, i) => near(r.agg_cost!, want[i]!.agg_cost, `${what} ${r.left_id}→${r.vertex_id}`));
}

async function publishNetwork(service: Service, name: string, body: Uint8Array | string, extra = "") {
  const response = await publish(service, name, body, { query: `classification=public&kind=network${extra}` });
  const manifest = await response.json();
  equal(response.status, 201, JSON.stringify(manifest));
  return manifest;
}

async function completed(service: Service, job: Record<string, unknown>) {
  const status = await runJob(service, job);
  equal(status.status, "COMPLETED", JSON.stringify(status));
  // Every partition reports the work its searches did.
  const work = status.stats?.partition_work as { max: number; median: number } | undefined;
  ok(work && work.median > 0, `work per partition: ${JSON.stringify(work)}`);
  return { status, features: await resultFeatures(service, status.job_id) as unknown as Feature[] };
}

Deno.test("network jobs in workerd equal pgRouting's answers", async (t) => {
  // Blocks of at most 100 vertices: the small generated network spans dozens of them.
  const service = await startService({ vars: { NETWORK_BLOCK_VERTICES: "100" } });
  try {
    const cases = await readFixture("network/cases_edges.geojson");
    const casePoints = await fixtureJson("cases_points.geojson");
    await publishNetwork(service, "cases", cases);
    await publishNetwork(service, "cases-snap", cases, "&snap_m=1");

    for (const [network, topo] of [["cases", "cases"], ["cases-snap", "cases_snap1m"]] as const) {
      await t.step(
        `${topo}: shortest_path over all 10 × 10 points equals pgr_dijkstraCost, paths pgr_dijkstra's`,
        async () => {
          const { features } = await completed(service, {
            spatial_operation: "shortest_path",
            geometry_payload: casePoints,
            dataset: network,
          });
          assertCosts(features, await answer(`${topo}_shortest_path.json`), topo);
          for (const path of await answer<PathRow[]>(`${topo}_paths.json`)) {
            const f = features.find((f) =>
              f.properties.left_id === path.left_id && f.properties.right_id === path.right_id
            )!;
            deepEqual(
              f.geometry,
              { type: "LineString", coordinates: path.geometry.coordinates },
              `${path.left_id}→${path.right_id}`,
            );
          }
        },
      );
      for (const maxCost of [100, 200]) {
        await t.step(
          `${topo}: service_area ${maxCost} equals pgr_drivingDistance (origin on no usable edge included)`,
          async () => {
            const { features } = await completed(service, {
              spatial_operation: "service_area",
              geometry_payload: casePoints,
              dataset: network,
              max_cost: maxCost,
            });
            assertArea(features, await answer(`${topo}_service_area_${maxCost}.json`), `${topo} ${maxCost}`);
            ok(features.every((f) => f.geometry?.type === "Point"));
          },
        );
      }
    }

    await t.step(
      "a network in dozens of blocks, origins over several partitions: 50 × 50 costs and service areas",
      async () => {
        // Origin tiles at H3 resolution 7 (~5 km²): a job this small stays in one partition per tile, so the 50
        // origins spread over several tiles for the partitions to be several.
        const service = await startService({ vars: { NETWORK_BLOCK_VERTICES: "100", PARTITION_RESOLUTION: "7" } });
        try {
          const manifest = await publishNetwork(
            service,
            "small",
            await readFixture("network/generated_small_edges.geojson"),
          );
          ok(manifest.tiles.length >= 10, `${manifest.tiles.length} blocks`);
          deepEqual([manifest.vertex_count, manifest.component_count], [1323, 4]);
          const points = await fixtureJson("points_small.geojson");
          const paths = await completed(service, {
            spatial_operation: "shortest_path",
            geometry_payload: points,
            dataset: "small",
            path_geometry: false,
          });
          ok(paths.status.progress.partitions_total > 1, `${paths.status.progress.partitions_total} partitions`);
          assertCosts(paths.features, await answer("small_shortest_path.json"), "small");
          ok(paths.features.every((f) => f.geometry === null), "path_geometry: false leaves the geometry null");
          const area = await completed(service, {
            spatial_operation: "service_area",
            geometry_payload: { ...points, features: points.features.slice(0, 10) },
            dataset: "small",
            max_cost: 120,
          });
          assertArea(area.features, await answer("small_service_area_120.json"), "small 120");
        } finally {
          await service.stop();
        }
      },
    );

    await t.step(
      "flatgeobuf results: service areas as points, shortest paths without geometry as empty lines",
      async () => {
        for (
          const job of [
            { spatial_operation: "service_area", max_cost: 100 },
            { spatial_operation: "shortest_path", path_geometry: false },
          ]
        ) {
          const status = await runJob(service, {
            ...job,
            geometry_payload: casePoints,
            dataset: "cases",
            output_format: "flatgeobuf",
          });
          equal(status.status, "COMPLETED", JSON.stringify(status));
          const response = await fetchResult(service, status.job_id);
          equal(response.status, 200);
          // Read by the flatgeobuf library itself (our tile reader refuses empty geometries).
          const features: {
            geometry: { type: string; coordinates: unknown[] } | null;
            properties: Record<string, number>;
          }[] = [];
          for await (const f of deserialize(new Uint8Array(await response.arrayBuffer()))) {
            features.push(f as unknown as (typeof features)[number]);
          }
          if (job.spatial_operation === "service_area") {
            deepEqual(
              features.map((f) => [f.properties.left_id, f.properties.vertex_id, f.geometry?.type]),
              (await answer<AreaRow[]>("cases_service_area_100.json")).map((r) => [r.left_id, r.vertex_id, "Point"]),
            );
          } else {
            const want = await answer<Row[]>("cases_shortest_path.json");
            deepEqual(
              features.map((f) => [f.properties.left_id, f.properties.right_id]),
              want.map((r) => [r.left_id, r.right_id]),
            );
            ok(
              features.every((f) => f.geometry?.type === "LineString" && f.geometry.coordinates.length === 0),
              "an empty line",
            );
          }
        }
      },
    );

    await t.step("destinations_dataset: a published points dataset as destinations gives the same answer", async () => {
      await publishNetwork(service, "small", await readFixture("network/generated_small_edges.geojson"));
      const points = await readFixture("network/points_small.geojson");
      equal((await publish(service, "small-points", points)).status, 201);
      const { features } = await completed(service, {
        spatial_operation: "shortest_path",
        geometry_payload: await fixtureJson("points_small.geojson"),
        destinations_dataset: "small-points",
        dataset: "small",
        path_geometry: false,
      });
      assertCosts(features, await answer("small_shortest_path.json"), "small via destinations_dataset");
    });

    await t.step(
      "scope and tier: the network's whole extent must be in spatial_scope, bbox or not; a destinations_dataset above the tier is 403",
      async () => {
        // The cases network spans lon 17.9995–18.005; this scope holds point 1 (18, 59.3) but not the whole network.
        const narrow = { spatial_scope: [17.99, 59.29, 18.003, 59.31] as [number, number, number, number] };
        const origin = { ...casePoints, features: casePoints.features.slice(0, 1) };
        const job = { spatial_operation: "shortest_path", geometry_payload: origin, dataset: "cases" };
        await expectProblem(await submit(service, job, narrow), 403, ["bbox"]);
        await expectProblem(await submit(service, { ...job, bbox: [17.999, 59.299, 18.001, 59.301] }, narrow), 403, [
          "bbox",
        ]);
        const wide = { spatial_scope: [17.99, 59.29, 18.01, 59.31] as [number, number, number, number] };
        const accepted = await submit(service, job, wide);
        equal(accepted.status, 202, await accepted.text());

        const secret = await publish(service, "secret-points", await readFixture("network/cases_points.geojson"), {
          query: "classification=restricted",
        });
        equal(secret.status, 201);
        await expectProblem(
          await submit(service, { ...job, destinations_dataset: "secret-points" }, { data_classification: "internal" }),
          403,
        );
      },
    );

    await t.step("N1 on OSM Gothenburg: 100 origins × 100 destinations_payload equal pgr_dijkstraCost", async () => {
      // Blocks of the default size again: 100-vertex blocks would cut OSM into thousands of objects.
      await service.stop();
      await service.restart({ vars: {} });
      const osm = gunzipSync(await readFixture("network/osm_gothenburg_edges.geojson.gz"));
      const manifest = await publishNetwork(service, "osm", osm);
      deepEqual([manifest.vertex_count, manifest.edge_count, manifest.component_count], [14652, 18350, 42]);
      const { features } = await completed(service, {
        spatial_operation: "shortest_path",
        geometry_payload: await fixtureJson("points_osm_origins.geojson"),
        destinations_payload: await fixtureJson("points_osm_destinations.geojson"),
        dataset: "osm",
        path_geometry: false,
      });
      assertCosts(features, await answer("osm_shortest_path_n1.json"), "osm N1");
    });

    await t.step("a vector dataset is not a network, nor a network a vector dataset: 422", async () => {
      await expectProblem(
        await submit(service, {
          spatial_operation: "shortest_path",
          geometry_payload: casePoints,
          dataset: "small-points",
        }),
        422,
        ["dataset"],
      );
      await expectProblem(
        await submit(service, { spatial_operation: "spatial_join", geometry_payload: casePoints, dataset: "cases" }),
        422,
        ["dataset"],
      );
      await expectProblem(
        await submit(service, { spatial_operation: "service_area", geometry_payload: casePoints, dataset: "cases" }),
        422,
        ["max_cost"],
      );
    });
  } finally {
    await service.stop();
  }
});
