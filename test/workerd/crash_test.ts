/**
 * Durability under real faults: 22 jobs of mixed operations (zonal statistics among them) and sizes run
 * while the whole dev server process group is SIGKILLed at random moments
 * and restarted on the same on-disk state. Every job must end COMPLETED
 * exactly once, with one committed result byte-identical to a fault-free
 * run, and a ledger of legal transitions with counted attempts.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { canTransition } from "../../shared/state_machine.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";
import { seededRandom } from "../../scripts/lib/seeded_random.ts";
import { type Service, startService } from "./harness.ts";
import {
  authHeaders,
  fetchResult,
  type JobStatusDocument,
  publish,
  publishFixtures,
  readFixture,
  submit,
  waitForJob,
} from "./client.ts";

const SEED = Number(Deno.env.get("CRASH_SEED") ?? 20261123);
const KILLS = 3;

async function jobs(): Promise<Record<string, unknown>[]> {
  const counties = JSON.parse(new TextDecoder().decode(await readFixture("inputs/counties_sample.geojson")));
  const cantons = JSON.parse(new TextDecoder().decode(await readFixture("raster/lux_cantons.geojson")));
  const zonal = { spatial_operation: "zonal_statistics", dataset: "elev", geometry_payload: cantons };
  const payload = { type: "FeatureCollection", features: counties.features.slice(20, 26) };
  const pi = { spatial_operation: "polygon_intersection" };
  const pip = { spatial_operation: "point_in_polygon" };
  const join = (predicate: string, extra = {}) => ({ spatial_operation: "spatial_join", predicate, ...extra });
  const fgb = { output_format: "flatgeobuf" };
  return [
    { ...pi, left_dataset: "counties", dataset: "grid" },
    { ...pi, left_dataset: "counties", dataset: "grid", ...fgb },
    { ...pi, left_dataset: "counties", dataset: "grid", bbox: [-105.5, 38.5, -104.0, 40.2] },
    { ...pi, left_dataset: "grid", dataset: "counties", ...fgb },
    { ...pi, geometry_payload: payload, dataset: "grid", repair: true },
    { ...pip, left_dataset: "counties", dataset: "points" },
    { ...pip, left_dataset: "counties", dataset: "points", ...fgb },
    { ...pip, left_dataset: "points", dataset: "counties" },
    { ...pip, left_dataset: "grid", dataset: "points", bbox: [-80, 37, -74, 41] },
    { ...pip, left_dataset: "counties", dataset: "points", bbox: [-109, 37, -102, 41] },
    { ...join("intersects"), left_dataset: "counties", dataset: "counties" },
    { ...join("contains"), left_dataset: "counties", dataset: "counties" },
    { ...join("within"), left_dataset: "counties", dataset: "counties", ...fgb },
    { ...join("intersects"), left_dataset: "grid", dataset: "points" },
    { ...join("dwithin", { distance_m: 5000 }), left_dataset: "counties", dataset: "points" },
    { ...join("dwithin", { distance_m: 2000 }), left_dataset: "counties", dataset: "points", ...fgb },
    { ...join("intersects"), left_dataset: "counties", dataset: "grid", bbox: [-77, 38, -74, 40] },
    { ...pi, left_dataset: "counties", dataset: "grid", bbox: [-109, 36, -102, 41], ...fgb },
    { ...join("within"), left_dataset: "points", dataset: "counties" },
    { ...pip, left_dataset: "points", dataset: "grid" },
    { ...zonal, pixel_rule: "coverage" },
    { ...zonal, pixel_rule: "all_touched", ...fgb },
  ];
}

async function publishAll(service: Service): Promise<void> {
  await publishFixtures(service, ["counties", "grid", "points"]);
  const raster = await publish(service, "elev", await readFixture("raster/elev.tif"), {
    contentType: "image/tiff",
    query: "kind=raster&classification=public",
  });
  equal(raster.status, 201);
  await raster.body?.cancel();
}

async function submitAll(service: Service, specs: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (const spec of specs) {
    const response = await submit(service, spec);
    const body = await response.json();
    equal(response.status, 202, JSON.stringify(body));
    ids.push(body.job_id);
  }
  return ids;
}

async function resultBytes(service: Service, jobId: string): Promise<Uint8Array> {
  const response = await fetchResult(service, jobId);
  equal(response.status, 200);
  return new Uint8Array(await response.arrayBuffer());
}

Deno.test("22 jobs (vector overlays and zonal statistics) survive repeated SIGKILLs of the dev server: each COMPLETED once, results byte-identical to a fault-free run", async () => {
  const specs = await jobs();

  const reference = await startService();
  const expected: Uint8Array[] = [];
  try {
    await publishAll(reference);
    for (const id of await submitAll(reference, specs)) {
      equal((await waitForJob(reference, id)).status, "COMPLETED");
      expected.push(await resultBytes(reference, id));
    }
  } finally {
    await reference.stop("SIGTERM");
  }

  // Small slices make the jobs long enough to be cut down many times; a lost alarm is healed by the sweep.
  const service = await startService({ vars: { SLICE_WORK_UNITS: "800", STALL_AFTER_MS: "10000" } });
  const random = seededRandom(SEED);
  try {
    await publishAll(service);
    const ids = await submitAll(service, specs);
    const unfinishedAtKill: number[] = [];
    const headers = await authHeaders();
    for (let kill = 0; kill < KILLS; kill++) {
      await new Promise((r) => setTimeout(r, 150 + random() * 900));
      const live = await Promise.all(
        ids.map(async (id) => (await (await service.fetch(`/v1/jobs/${id}`, { headers })).json()).status),
      );
      unfinishedAtKill.push(live.filter((s) => s !== "COMPLETED").length);
      await service.stop("SIGKILL");
      await service.restart();
    }
    console.log(
      `crash test: seed ${SEED}; SIGKILLs of the whole process group with ${
        unfinishedAtKill.join(", ")
      } of ${ids.length} jobs unfinished`,
    );
    ok(unfinishedAtKill[0]! > 0, "the faults hit jobs in flight");

    const statuses: JobStatusDocument[] = [];
    for (const id of ids) {
      const status = await waitForJob(service, id, 60_000).catch(async () => {
        await service.triggerCron(); // a lost alarm: the sweep re-arms or retries
        return await waitForJob(service, id, 60_000);
      });
      equal(status.status, "COMPLETED", `${id}: ${JSON.stringify(status)}`);
      statuses.push(status);
    }

    const operator = await authHeaders({ roles: ["operator"] });
    for (const [i, id] of ids.entries()) {
      const bytes = await resultBytes(service, id);
      ok(
        bytes.length === expected[i]!.length && bytes.every((b, k) => b === expected[i]![k]),
        `job ${i} (${JSON.stringify(specs[i]).slice(0, 120)}): result differs from the fault-free run`,
      );

      const objects = await (await service.fetch(`/v1/ops/jobs/${id}/objects`, { headers: operator })).json();
      const cell = id.split("_")[1];
      const events = (await (await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${id}`, {
        headers: operator,
      })).text()).trim().split("\n").map((line) => JSON.parse(line));
      const transitions = events.filter((e) => e.kind === "transition");
      for (const e of transitions.slice(1)) {
        ok(
          canTransition(e.from_status as JobStatusValue, e.to_status as JobStatusValue),
          `illegal ${e.from_status}→${e.to_status}`,
        );
      }
      equal(transitions[0].to_status, "QUEUED");
      equal(transitions.filter((e) => e.to_status === "COMPLETED").length, 1, "completed exactly once");
      const starts = transitions.filter((e) => e.to_status === "IN_PROGRESS").map((e) => e.attempt);
      deepEqual(starts, starts.map((_, k) => k + 1), "attempts counted 1, 2, …");
      equal(statuses[i]!.attempts, starts.length);
      // One committed result (an object, or bytes in the job's record when small); any other object belongs to an
      // earlier, retried attempt.
      const committedObjects = objects.inline_result ? 0 : 1;
      if (committedObjects) ok(objects.results.includes(objects.committed), "the committed object exists");
      equal(
        objects.results.filter((key: string) => key.endsWith(`/a${statuses[i]!.attempts}.${key.split(".").pop()}`))
          .length,
        committedObjects,
      );
      ok(
        objects.results.length <= starts.length,
        `${objects.results.length} result objects for ${starts.length} attempts`,
      );
    }
  } finally {
    await service.stop("SIGTERM");
  }
});
