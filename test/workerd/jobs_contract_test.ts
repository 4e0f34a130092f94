/**
 * The jobs/datasets contract end to end in real workerd: geometry payloads
 * against PostGIS, pairs across partitions, idempotency (racing submits, a
 * changed payload, a restart), result formats and conditional GETs, and
 * datasets published from GDAL FlatGeobuf and EPSG:3857.
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import {
  authHeaders,
  type Claims,
  expectProblem,
  fetchResult,
  fetchResultAs,
  type JobStatusDocument,
  publish,
  publishFixtures,
  readFixture,
  readJsonFixture,
  resultFeatures,
  runJob,
  settledSnapshot,
  stateChanges,
  stateSnapshot,
  submit,
  waitForJob,
  waitForJobAs,
} from "./client.ts";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import { flatFromGeoJSON, type GeoJSONGeometry } from "../../wasm/geojson.ts";

interface Pair {
  left_id: string | number;
  right_id: string | number;
  area?: number;
  area_m2?: number;
}

interface InputFeature {
  type: "Feature";
  id: string | number;
  properties: Record<string, unknown>;
  geometry: GeoJSONGeometry;
}

const pairKey = (p: Pair) => `${typeof p.left_id}:${p.left_id}|${typeof p.right_id}:${p.right_id}`;

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
}

/** Same pairs in the same order; `area`/`area_m2` within `tolerance` relative. Returns the largest error seen. */
function assertSamePairs(actual: Pair[], expected: Pair[], tolerance = 1e-6): number {
  deepEqual(actual.map(pairKey), expected.map(pairKey), "same pairs, in (left_id, right_id) order");
  let worst = 0;
  actual.forEach((p, i) => {
    for (const field of ["area", "area_m2"] as const) {
      const want = expected[i]![field];
      if (want === undefined) continue;
      const error = relativeError(p[field]!, want);
      worst = Math.max(worst, error);
      ok(error <= tolerance, `${field} of ${pairKey(p)}: ${p[field]} vs ${want} (relative ${error.toExponential(2)})`);
    }
  });
  return worst;
}

const inputFeatures = async (name: string): Promise<InputFeature[]> =>
  (await readJsonFixture<{ features: InputFeature[] }>(`inputs/${name}.geojson`)).features;

const collection = (features: unknown[]) => ({ type: "FeatureCollection", features });

/** Valid counties of four states (Colorado, Delaware, Maryland, New Jersey): several H3 res-2 cells. */
const PAYLOAD_COUNTIES = ["08001", "08003", "08041", "08069", "10001", "10005", "24003", "24031", "34001", "34013"];

async function pairsOf(service: Service, jobId: string): Promise<Pair[]> {
  return (await resultFeatures(service, jobId)).map((f) => f.properties);
}

Deno.test("jobs contract: payloads, partitions, idempotency, formats and datasets in real workerd", async (t) => {
  // One partition per tile cell: these small payloads then span several partitions, which is what the
  // exactly-once steps are about (grouped partitions are covered by jobs_test.ts).
  const service = await startService({ vars: { PARTITION_GROUP_BYTES: "0" } });
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const counties = await inputFeatures("counties_sample");
    const intersections = await readJsonFixture<Pair[]>("postgis/polygon_intersection.json");

    await t.step(
      "a county FeatureCollection payload × grid gives PostGIS's pairs and areas for those counties",
      async () => {
        const payload = counties.filter((f) => PAYLOAD_COUNTIES.includes(f.id as string));
        equal(payload.length, PAYLOAD_COUNTIES.length);
        const status = await runJob(service, {
          spatial_operation: "polygon_intersection",
          dataset: "grid",
          geometry_payload: collection(payload),
        });
        equal(status.status, "COMPLETED", JSON.stringify(status));
        ok(status.progress.partitions_total > 1, `several partitions (${status.progress.partitions_total})`);
        const expected = intersections.filter((p) => PAYLOAD_COUNTIES.includes(p.left_id as string));
        ok(expected.length > 20);
        assertSamePairs(await pairsOf(service, status.job_id), expected);
        equal(status.result?.feature_count, expected.length);
      },
    );

    await t.step(
      "Server-Timing names a submit's stages and its Durable Object calls' round trips: two in sequence for a " +
        "payload job (small in the spec, larger in R2) and for a dataset job, three for a replay",
      async () => {
        const metricsOf = (response: Response) =>
          (response.headers.get("server-timing") ?? "").split(",").map((m) => {
            const [name, ...params] = m.trim().split(";");
            return { name: name!, round: Number(params.join(";").match(/desc="DO round (\d+)"/)?.[1] ?? 0) };
          });
        const stagesOf = (response: Response) => metricsOf(response).map((m) => m.name).sort();
        /** Each Durable Object call's round trip: calls of one round run side by side. */
        const roundsOf = (response: Response) =>
          Object.fromEntries(metricsOf(response).filter((m) => m.round > 0).map((m) => [m.name, m.round]));
        const points = await inputFeatures("points_sample");
        const expected = await readJsonFixture<Pair[]>("postgis/point_in_polygon_points_counties.json");
        const inside = points.find((f) => expected.some((p) => p.left_id === f.id))!;
        const small = await submit(service, {
          spatial_operation: "point_in_polygon",
          dataset: "counties",
          geometry_payload: collection([inside]),
        });
        equal(small.status, 202);
        deepEqual(stagesOf(small), ["catalog", "claim", "payload", "total"]);
        deepEqual(roundsOf(small), { catalog: 1, claim: 2 });
        const { job_id } = await small.json();
        const read = await service.fetch(`/v1/jobs/${job_id}`, { headers: await authHeaders() });
        await read.body?.cancel();
        match(read.headers.get("server-timing") ?? "", /^total;dur=[\d.]+;desc="total"$/);
        equal((await waitForJob(service, job_id)).status, "COMPLETED");
        assertSamePairs(
          (await resultFeatures(service, job_id)).map((f) => f.properties),
          expected.filter((p) => p.left_id === inside.id),
        );

        const large = await submit(service, {
          spatial_operation: "point_in_polygon",
          dataset: "counties",
          geometry_payload: collection(points.slice(0, 1000)),
        });
        equal(large.status, 202);
        deepEqual(stagesOf(large), ["catalog", "claim", "payload", "total", "upload"]);
        deepEqual(roundsOf(large), { catalog: 1, claim: 2 });
        equal((await waitForJob(service, (await large.json()).job_id)).status, "COMPLETED");

        const datasetJob = {
          job_idempotency_key: crypto.randomUUID(),
          spatial_operation: "polygon_intersection",
          left_dataset: "counties",
          dataset: "grid",
          bbox: [-105.5, 38.5, -104.0, 40.2],
        };
        const datasets = await submit(service, datasetJob);
        equal(datasets.status, 202);
        deepEqual(roundsOf(datasets), { catalog: 1, catalog_left: 1, claim: 2 });
        const datasetJobId = (await datasets.json()).job_id;
        equal((await waitForJob(service, datasetJobId)).status, "COMPLETED");
        // A replay of a job its home recorded reads the home's status after the claim.
        const replay = await submit(service, datasetJob);
        equal(replay.status, 200);
        deepEqual(await replay.json(), {
          job_id: datasetJobId,
          status: "COMPLETED",
          links: { self: `/v1/jobs/${datasetJobId}`, result: `/v1/jobs/${datasetJobId}/result` },
        });
        deepEqual(roundsOf(replay), { catalog: 1, catalog_left: 1, claim: 2, home_job: 3 });
      },
    );

    await t.step("a point payload × published counties (point_in_polygon) gives PostGIS's pairs", async () => {
      const points = await inputFeatures("points_sample");
      const chosen = points.filter((f) => (f.id as number) < 1500 || (f.id as number) >= 5000);
      const status = await runJob(service, {
        spatial_operation: "point_in_polygon",
        dataset: "counties",
        geometry_payload: collection(chosen),
      });
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const ids = new Set(chosen.map((f) => f.id));
      const expected = (await readJsonFixture<Pair[]>("postgis/point_in_polygon_points_counties.json"))
        .filter((p) => ids.has(p.left_id));
      ok(expected.length > 300, `${expected.length} reference pairs`);
      const features = await resultFeatures(service, status.job_id);
      assertSamePairs(features.map((f) => f.properties), expected);
      const byId = new Map(chosen.map((f) => [f.id, f.geometry]));
      for (const f of features) deepEqual(f.geometry, byId.get(f.properties.left_id), "the geometry is the point");
    });

    await t.step("a payload polygon spanning several H3 cells meets each grid cell exactly once", async () => {
      // [-108, 37.5, -103, 40.5] against 1° cells: columns −108…−104, rows 37…40; exact planar areas.
      const [x0, y0, x1, y1] = [-108, 37.5, -103, 40.5];
      const ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
      const status = await runJob(service, {
        spatial_operation: "polygon_intersection",
        dataset: "grid",
        geometry_payload: collection([{
          type: "Feature",
          id: "box",
          properties: {},
          geometry: { type: "Polygon", coordinates: [ring] },
        }]),
      });
      equal(status.status, "COMPLETED", JSON.stringify(status));
      ok(status.progress.partitions_total > 1, `partitions_total ${status.progress.partitions_total}`);
      const expected: Pair[] = [];
      for (let x = -108; x <= -104; x++) {
        for (let y = 37; y <= 40; y++) {
          const height = Math.min(y + 1, y1) - Math.max(y, y0);
          expected.push({ left_id: "box", right_id: `g_${x}_${y}`, area: height });
        }
      }
      expected.sort((a, b) => (a.right_id < b.right_id ? -1 : 1));
      const pairs = await pairsOf(service, status.job_id);
      equal(new Set(pairs.map(pairKey)).size, pairs.length, "no pair twice");
      assertSamePairs(pairs, expected, 1e-12);
      equal(status.stats?.pairs, expected.length);
    });

    await t.step("20 racing identical submits: one job, one 202, the rest 200, computed once", async () => {
      const claims: Partial<Claims> = { sub: "idempotency-racer" };
      const key = crypto.randomUUID();
      const job = {
        job_idempotency_key: key,
        spatial_operation: "polygon_intersection",
        dataset: "grid",
        geometry_payload: collection(counties.filter((f) => ["08001", "34013"].includes(f.id as string))),
      };
      const responses = await Promise.all(Array.from({ length: 20 }, () => submit(service, job, claims)));
      const bodies = await Promise.all(responses.map((r) => r.json()));
      const statuses = responses.map((r) => r.status).sort();
      deepEqual(new Set(bodies.map((b) => b.job_id)).size, 1, `one job id: ${JSON.stringify(bodies)}`);
      deepEqual(statuses, [...Array(19).fill(200), 202], `one 202 and 19 × 200: ${statuses}`);
      const jobId = bodies[0].job_id as string;
      for (const r of responses) equal(r.headers.get("location"), `/v1/jobs/${jobId}`);
      const status = await waitForJobAs(service, jobId, claims);
      equal(status.status, "COMPLETED");
      equal(status.attempts, 1, "a single attempt");

      // The home partition's ledger: one QUEUED → IN_PROGRESS → COMPLETED path.
      const cell = jobId.split("_")[1]!;
      const events = await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${jobId}`, {
        headers: await authHeaders({ roles: ["operator"] }),
      });
      equal(events.status, 200, "the operator's ledger export");
      const transitions = (await events.text()).trim().split("\n").map((l) => JSON.parse(l))
        .filter((e) => e.kind === "transition").map((e) => `${e.from_status}→${e.to_status}`);
      deepEqual(transitions, ["null→QUEUED", "QUEUED→IN_PROGRESS", "IN_PROGRESS→COMPLETED"]);

      // The same key with another payload: 409, and nothing written.
      const before = await settledSnapshot(service);
      await expectProblem(await submit(service, { ...job, dataset: "counties" }, claims), 409);
      await expectProblem(await submit(service, { ...job, output_format: "flatgeobuf" }, claims), 409);
      const changes = stateChanges(before, await stateSnapshot(service));
      deepEqual(changes, [], `a 409 writes nothing; changed: ${changes}`);

      // After a restart of the dev server: still the same job, and still a conflict for another payload.
      const result = await (await fetchResultAs(service, jobId, claims)).text();
      await service.stop("SIGTERM");
      await service.restart();
      const again = await submit(service, job, claims);
      const body = await again.json();
      equal(again.status, 200, JSON.stringify(body));
      equal(body.job_id, jobId);
      equal(body.status, "COMPLETED");
      await expectProblem(await submit(service, { ...job, dataset: "counties" }, claims), 409);
      equal(await (await fetchResultAs(service, jobId, claims)).text(), result, "the same committed result");
    });

    await t.step("a replay right after a restart answers the status its home recorded, not the outbox's", async () => {
      // Restarted before the registry's backstop deleted the row it handed over: the new instance cannot know the
      // row was delivered, so the replay asks the home.
      const claims: Partial<Claims> = { sub: "restart-replayer" };
      const job = {
        job_idempotency_key: crypto.randomUUID(),
        spatial_operation: "polygon_intersection",
        dataset: "grid",
        geometry_payload: collection(counties.filter((f) => f.id === "08001")),
      };
      const first = await (await submit(service, job, claims)).json();
      equal((await waitForJobAs(service, first.job_id, claims)).status, "COMPLETED");
      await service.stop("SIGTERM");
      await service.restart();
      const again = await submit(service, job, claims);
      const body = await again.json();
      equal(again.status, 200, JSON.stringify(body));
      deepEqual([body.job_id, body.status], [first.job_id, "COMPLETED"]);
    });

    await t.step("geojson and flatgeobuf results hold the same features; ETag, Content-Type and 304", async () => {
      const job = {
        spatial_operation: "polygon_intersection",
        dataset: "grid",
        geometry_payload: collection(counties.filter((f) => PAYLOAD_COUNTIES.includes(f.id as string))),
      };
      const [asJson, asFgb] = await Promise.all([
        runJob(service, { ...job, output_format: "geojson" }),
        runJob(service, { ...job, output_format: "flatgeobuf" }),
      ]) as [JobStatusDocument, JobStatusDocument];
      equal(asJson.result?.format, "geojson");
      equal(asFgb.result?.format, "flatgeobuf");

      const jsonResponse = await fetchResult(service, asJson.job_id);
      equal(jsonResponse.headers.get("content-type"), "application/geo+json");
      const fgbResponse = await fetchResult(service, asFgb.job_id);
      equal(fgbResponse.headers.get("content-type"), "application/flatgeobuf");
      for (const [response, status] of [[jsonResponse, asJson], [fgbResponse, asFgb]] as const) {
        const etag = response.headers.get("etag")!;
        ok(/^"[^"]+"$/.test(etag), `a strong, quoted ETag: ${etag}`);
        equal(etag.slice(1, -1), status.result!.etag.replace(/^"|"$/g, ""), "the ETag of the status document");
      }
      notEqual(jsonResponse.headers.get("etag"), fgbResponse.headers.get("etag"));

      const geojson = (await jsonResponse.json()).features as {
        properties: Pair;
        geometry: GeoJSONGeometry;
      }[];
      const fgbBytes = new Uint8Array(await fgbResponse.arrayBuffer());
      equal(fgbBytes.length, asFgb.result!.bytes, "the status document's byte count");
      const fgb = parseFlatGeobuf(fgbBytes).features;
      equal(fgb.length, geojson.length);
      equal(fgb.length, asJson.result!.feature_count);
      geojson.forEach((feature, i) => {
        const other = fgb[i]!;
        deepEqual(other.properties, feature.properties, `properties of feature ${i}`);
        deepEqual(other.geometry, flatFromGeoJSON(feature.geometry), `geometry of feature ${i}`);
      });

      for (const status of [asJson, asFgb]) {
        const etag = (await fetchResult(service, status.job_id).then(async (r) => {
          await r.body?.cancel();
          return r.headers.get("etag");
        }))!;
        const conditional = await service.fetch(`/v1/jobs/${status.job_id}/result`, {
          headers: { ...(await authHeaders()), "if-none-match": etag },
        });
        equal(conditional.status, 304);
        equal(conditional.headers.get("etag"), etag);
        equal(await conditional.text(), "");
        const stale = await service.fetch(`/v1/jobs/${status.job_id}/result`, {
          headers: { ...(await authHeaders()), "if-none-match": '"something-else"' },
        });
        equal(stale.status, 200);
        await stale.body?.cancel();
      }
    });

    await t.step("GDAL FlatGeobuf and EPSG:3857 publishes answer like the GeoJSON publish", async () => {
      const fgb = "application/flatgeobuf";
      const unrepaired = await publish(service, "counties-fgb", await readFixture("gdal/counties_sample.fgb"), {
        contentType: fgb,
      });
      const problem = await expectProblem(unrepaired, 422);
      const validity = await readJsonFixture<{ id: string; valid: boolean; reason: string }[]>(
        "postgis/counties_validity.json",
      );
      const invalid = validity.filter((v) => !v.valid);
      equal(invalid.length, 9);
      equal(problem.errors?.length, 9, JSON.stringify(problem.errors));
      for (const { id, reason } of invalid) {
        const error = problem.errors!.find((e) => e.message.includes(`"${id}"`));
        ok(error, `${id} is listed`);
        // GEOS 3.13 words a ring self-intersection "Self-intersection" where PostGIS's GEOS 3.11 said "Ring
        // Self-intersection", and may report another point of it: the reason's kind must match.
        const kind = reason.slice(0, reason.indexOf("[")).replace(/^Ring /, "");
        ok(error.message.includes(kind), `reason for ${id}: ${error.message} (PostGIS: ${reason})`);
      }

      const variants = [
        ["counties-fgb", "gdal/counties_sample.fgb", fgb, "classification=public&repair=true"],
        ["counties-3857-fgb", "gdal/counties_sample_3857.fgb", fgb, "classification=public&repair=true"],
        [
          "counties-3857-json",
          "inputs/counties_sample_3857.geojson",
          "application/geo+json",
          "classification=public&repair=true&crs=EPSG:3857",
        ],
        ["points-fgb", "gdal/points_sample.fgb", fgb, "classification=public"],
      ] as const;
      for (const [name, file, contentType, query] of variants) {
        const response = await publish(service, name, await readFixture(file), { contentType, query });
        const manifest = await response.json();
        equal(response.status, 201, JSON.stringify(manifest));
        equal(manifest.feature_count, name === "points-fgb" ? 5012 : 112, name);
      }

      const geojsonJob = await runJob(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
      });
      const reference = await pairsOf(service, geojsonJob.job_id);
      assertSamePairs(reference, intersections);
      const worst: Record<string, number> = {};
      for (const name of ["counties-fgb", "counties-3857-fgb", "counties-3857-json"]) {
        const status = await runJob(service, {
          spatial_operation: "polygon_intersection",
          left_dataset: name,
          dataset: "grid",
        });
        equal(status.status, "COMPLETED", JSON.stringify(status));
        const pairs = await pairsOf(service, status.job_id);
        // The contract: PostGIS's pairs, areas to 1e-6. Against the GeoJSON publish's own answer: GDAL's
        // FlatGeobuf keeps the GeoJSON's doubles, so the same bits; EPSG:3857 → 4326 goes through two projections
        // (ogr2ogr's PROJ forward, proj4js inverse), each exact to ~1e-9° and below, which moves the areas by
        // up to 2.3e-10 relative here (measured, printed; asserted below 1e-9).
        assertSamePairs(pairs, intersections, 1e-6);
        worst[name] = assertSamePairs(pairs, reference, name === "counties-fgb" ? 0 : 1e-9);
      }
      console.log(`largest relative area error vs the GeoJSON publish: ${JSON.stringify(worst)}`);

      const points = await runJob(service, {
        spatial_operation: "point_in_polygon",
        left_dataset: "counties-fgb",
        dataset: "points-fgb",
      });
      assertSamePairs(
        await pairsOf(service, points.job_id),
        await readJsonFixture<Pair[]>("postgis/point_in_polygon_counties_points.json"),
      );
    });

    await t.step("another domain cannot publish over a dataset (403) and nothing is written", async () => {
      const before = await settledSnapshot(service);
      const response = await publish(service, "grid", await readFixture("inputs/grid_1deg.geojson"), {
        claims: { domain: "someone-else" },
      });
      await expectProblem(response, 403);
      deepEqual(stateChanges(before, await stateSnapshot(service)), []);
      const manifest = await (await service.fetch("/v1/datasets/grid", { headers: await authHeaders() })).json();
      equal(manifest.version, 1);
      equal(manifest.owner_domain, "geo");
    });

    await t.step("GET of an unknown dataset is 404", async () => {
      await expectProblem(await service.fetch("/v1/datasets/no-such-data", { headers: await authHeaders() }), 404);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
