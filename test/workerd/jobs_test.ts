/**
 * Jobs end to end in real workerd: publish the PostGIS fixture inputs, run
 * each operation through the public contract, and compare with PostGIS.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, fetchResult, publish, readFixture, submit, waitForJob } from "./client.ts";

interface Pair {
  left_id: string | number;
  right_id: string | number;
  area?: number;
  area_m2?: number;
}

const reference = async (name: string): Promise<Pair[]> =>
  JSON.parse(new TextDecoder().decode(await readFixture(`postgis/${name}.json`)));

const pairKey = (p: Pair) => `${typeof p.left_id}:${p.left_id}|${typeof p.right_id}:${p.right_id}`;

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  ok(error <= relative, `${what}: ${actual} vs PostGIS ${expected} (relative error ${error.toExponential(2)})`);
}

async function resultPairs(service: Awaited<ReturnType<typeof startService>>, jobId: string): Promise<Pair[]> {
  const response = await fetchResult(service, jobId);
  equal(response.status, 200);
  const collection = await response.json();
  return collection.features.map((f: { properties: Pair }) => f.properties);
}

/** partitions_total of the counties × grid job in each configuration. */
const partitionsOf: Record<string, number> = {};

Deno.test("jobs: each operation over published us-atlas data matches PostGIS, one partition per tile cell", (t) =>
  operationsMatchPostGIS(t, "per cell", { PARTITION_GROUP_BYTES: "0" }));

Deno.test("jobs: the same answers with sparse tile cells grouped into parent partitions (wrangler.toml)", async (t) => {
  await operationsMatchPostGIS(t, "grouped", {});
  ok(partitionsOf.grouped! < partitionsOf["per cell"]!, JSON.stringify(partitionsOf));
});

Deno.test("jobs: the same answers with heavy partitions split into shards of their right side", async (t) => {
  await operationsMatchPostGIS(t, "sharded", { PARTITION_GROUP_BYTES: "4096" });
  ok(partitionsOf.sharded! > partitionsOf["per cell"]!, JSON.stringify(partitionsOf));
});

async function operationsMatchPostGIS(t: Deno.TestContext, config: string, vars: Record<string, string>) {
  const service = await startService({ vars });
  try {
    await t.step("publish counties (repaired), grid and points", async () => {
      for (
        const [name, file, query] of [
          ["counties", "inputs/counties_sample.geojson", "classification=public&repair=true"],
          ["grid", "inputs/grid_1deg.geojson", "classification=public"],
          ["points", "inputs/points_sample.geojson", "classification=public"],
        ]
      ) {
        const response = await publish(service, name!, await readFixture(file!), { query: query! });
        const body = await response.json();
        equal(response.status, 201, JSON.stringify(body));
        equal(body.name, name);
        equal(body.version, 1);
      }
    });

    await t.step("polygon_intersection counties × grid: same pairs and areas as PostGIS", async () => {
      const response = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
      });
      const accepted = await response.json();
      equal(response.status, 202, JSON.stringify(accepted));
      equal(accepted.status, "QUEUED");
      equal(response.headers.get("location"), `/v1/jobs/${accepted.job_id}`);
      const status = await waitForJob(service, accepted.job_id);
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const pairs = await resultPairs(service, accepted.job_id);
      const expected = await reference("polygon_intersection");
      deepEqual(pairs.map(pairKey), expected.map(pairKey), "same pairs, in (left_id, right_id) order");
      pairs.forEach((p, i) => {
        assertClose(p.area!, expected[i]!.area!, 1e-6, `area ${pairKey(p)}`);
        assertClose(p.area_m2!, expected[i]!.area_m2!, 1e-6, `area_m2 ${pairKey(p)}`);
      });
      equal(status.result?.feature_count, expected.length);
      partitionsOf[config] = status.progress.partitions_total;
      if (config === "per cell") ok(status.progress.partitions_total > 1, "the job spans several partitions");
      equal(status.degraded, false);
      equal(status.progress.partitions_done, status.progress.partitions_total);
    });

    await t.step("point_in_polygon counties × points: same pairs as PostGIS (boundary points count)", async () => {
      const response = await submit(service, {
        spatial_operation: "point_in_polygon",
        left_dataset: "counties",
        dataset: "points",
      });
      const { job_id } = await response.json();
      const status = await waitForJob(service, job_id);
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const pairs = await resultPairs(service, job_id);
      const expected = await reference("point_in_polygon_counties_points");
      deepEqual(pairs.map(pairKey), expected.map(pairKey));
    });

    for (
      const [predicate, file, extra] of [
        ["intersects", "spatial_join_intersects", {}],
        ["contains", "spatial_join_contains", {}],
        ["within", "spatial_join_within", {}],
      ] as const
    ) {
      await t.step(`spatial_join ${predicate} counties × counties matches PostGIS`, async () => {
        const response = await submit(service, {
          spatial_operation: "spatial_join",
          left_dataset: "counties",
          dataset: "counties",
          predicate,
          ...extra,
        });
        const { job_id } = await response.json();
        const status = await waitForJob(service, job_id);
        equal(status.status, "COMPLETED", JSON.stringify(status));
        deepEqual((await resultPairs(service, job_id)).map(pairKey), (await reference(file)).map(pairKey));
      });
    }

    await t.step("spatial_join dwithin 5 km counties × points matches PostGIS ST_DWithin(geography)", async () => {
      const response = await submit(service, {
        spatial_operation: "spatial_join",
        left_dataset: "counties",
        dataset: "points",
        predicate: "dwithin",
        distance_m: 5000,
      });
      const { job_id } = await response.json();
      const status = await waitForJob(service, job_id);
      equal(status.status, "COMPLETED", JSON.stringify(status));
      deepEqual(
        (await resultPairs(service, job_id)).map(pairKey),
        (await reference("spatial_join_dwithin_counties_points_5000m")).map(pairKey),
      );
    });

    await t.step("a bbox filter keeps PostGIS && semantics on both sides", async () => {
      const response = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
        bbox: [-105.5, 38.5, -104.0, 40.2],
      });
      const { job_id } = await response.json();
      const status = await waitForJob(service, job_id);
      equal(status.status, "COMPLETED", JSON.stringify(status));
      deepEqual(
        (await resultPairs(service, job_id)).map(pairKey),
        (await reference("polygon_intersection_bbox")).map(pairKey),
      );
    });

    await t.step("a job projected past its slo_deadline_ms runs the bounding-box path and says so", async () => {
      const response = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
        slo_deadline_ms: 1,
      });
      const { job_id } = await response.json();
      const status = await waitForJob(service, job_id);
      equal(status.status, "COMPLETED", JSON.stringify(status));
      equal(status.degraded, true);
      ok(/projected \d+ ms exceeds slo_deadline_ms 1/.test(String(status.degraded_reason)), status.degraded_reason);
      const approximate = new Set((await resultPairs(service, job_id)).map(pairKey));
      const exact = (await reference("polygon_intersection")).map(pairKey);
      ok(exact.every((k) => approximate.has(k)), "bbox pairs include every exact pair");
      ok(approximate.size > exact.length, "and more: it is an approximation");
    });

    await t.step("GET /v1/datasets/{name} returns the current manifest", async () => {
      const response = await service.fetch("/v1/datasets/counties", { headers: await authHeaders() });
      equal(response.status, 200);
      const manifest = await response.json();
      equal(manifest.feature_count, 112);
      ok(manifest.tiles.length > 1);
      ok(manifest.repaired_count >= 9, `repaired ${manifest.repaired_count}`);
    });
  } finally {
    await service.stop("SIGTERM");
  }
}
