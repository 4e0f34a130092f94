/**
 * Cancellation and dataset version pinning in real workerd, on a service
 * whose executor slices are tiny (`SLICE_WORK_UNITS=1`: one left feature a
 * slice), so a job stays QUEUED/IN_PROGRESS long enough to be cancelled or
 * to see a republish (counties × grid then takes ~2 s instead of ~0.3 s).
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import {
  authHeaders,
  expectProblem,
  fetchResult,
  publish,
  readFixture,
  readJsonFixture,
  resultFeatures,
  runJob,
  submit,
  waitForJob,
} from "./client.ts";

interface Pair {
  left_id: string | number;
  right_id: string | number;
}

interface InputFeature {
  type: "Feature";
  id: string | number;
  properties: Record<string, unknown>;
  geometry: { type: "Polygon"; coordinates: number[][][] };
}

const pairKey = (p: Pair) => `${typeof p.left_id}:${p.left_id}|${typeof p.right_id}:${p.right_id}`;
const collection = (features: unknown[]) => ({ type: "FeatureCollection", features });

Deno.test("cancellation and version pinning while jobs run in small slices", async (t) => {
  const service = await startService({ vars: { SLICE_WORK_UNITS: "1" } });
  try {
    const grid = await readFixture("inputs/grid_1deg.geojson");
    for (
      const [name, body, query] of [
        ["counties", await readFixture("inputs/counties_sample.geojson"), "classification=public&repair=true"],
        ["grid", grid, "classification=public"],
        ["pinned", grid, "classification=public"],
      ] as const
    ) {
      const response = await publish(service, name, body, { query });
      equal(response.status, 201, await response.text());
    }
    const counties = (await readJsonFixture<{ features: InputFeature[] }>("inputs/counties_sample.geojson")).features;
    const headers = await authHeaders();
    const status = async (jobId: string) => await (await service.fetch(`/v1/jobs/${jobId}`, { headers })).json();
    const cancel = (jobId: string) => service.fetch(`/v1/jobs/${jobId}`, { method: "DELETE", headers });

    await t.step("DELETE of a running job cancels it, idempotently, and it never gets a result", async () => {
      const response = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
      });
      const { job_id } = await response.json();
      equal(response.status, 202);
      const running = await status(job_id);
      ok(["QUEUED", "IN_PROGRESS"].includes(running.status), `still running: ${running.status}`);

      const first = await cancel(job_id);
      equal(first.status, 200);
      const cancelled = await first.json();
      equal(cancelled.job_id, job_id);
      equal(cancelled.status, "CANCELLED");
      equal(cancelled.result, undefined);

      const second = await cancel(job_id);
      equal(second.status, 200);
      deepEqual(await second.json(), cancelled, "the same CANCELLED document");

      await expectProblem(await fetchResult(service, job_id), 409);
      await new Promise((r) => setTimeout(r, 1500));
      const later = await status(job_id);
      equal(later.status, "CANCELLED", "partitions still running do not bring it back");
      equal(later.result, undefined);
      await expectProblem(await fetchResult(service, job_id), 409);
    });

    await t.step("DELETE of a COMPLETED job makes it CANCELLED and its committed result stays", async () => {
      const small = collection([counties.find((f) => f.id === "10001")]);
      const done = await runJob(service, {
        spatial_operation: "polygon_intersection",
        dataset: "grid",
        geometry_payload: small,
      });
      equal(done.status, "COMPLETED", JSON.stringify(done));
      const before = await fetchResult(service, done.job_id);
      const [etag, body] = [before.headers.get("etag"), await before.text()];

      const response = await cancel(done.job_id);
      equal(response.status, 200);
      const cancelled = await response.json();
      equal(cancelled.status, "CANCELLED");
      // (GET /v1/jobs/{id} adds a signed link, made afresh on each read.)
      const { signed_href: _link, ...committed } = done.result!;
      deepEqual(cancelled.result, committed, "the status document still points at the result");

      const after = await fetchResult(service, done.job_id);
      equal(after.status, 200);
      equal(after.headers.get("etag"), etag);
      equal(await after.text(), body);
    });

    await t.step("unknown and malformed job ids are 404 problems for GET, GET result and DELETE", async () => {
      for (const id of ["job_822687fffffffff_00000000000000000000000000000000", "not-a-job", "job_zzz_123"]) {
        await expectProblem(await service.fetch(`/v1/jobs/${id}`, { headers }), 404);
        await expectProblem(await fetchResult(service, id), 404);
        await expectProblem(await cancel(id), 404);
      }
    });

    await t.step("a job submitted before a republish answers from the version it pinned", async () => {
      // Version 2: the same grid moved half a cell east and north, with other ids.
      const moved = JSON.parse(new TextDecoder().decode(grid));
      for (const f of moved.features as InputFeature[]) {
        f.id = `h${(f.id as string).slice(1)}`;
        f.geometry.coordinates = f.geometry.coordinates.map((ring) => ring.map(([x, y]) => [x! + 0.5, y! + 0.5]));
      }
      const started = Date.now();
      const response = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "pinned",
      });
      equal(response.status, 202);
      const { job_id: pinnedJob } = await response.json();
      const republish = await publish(service, "pinned", JSON.stringify(moved));
      const manifest = await republish.json();
      equal(republish.status, 201, JSON.stringify(manifest));
      equal(manifest.version, 2);
      const republishedAt = Date.now() - started;
      const midway = await status(pinnedJob);
      ok(midway.status !== "COMPLETED", `the republish landed while the job ran (${midway.status})`);

      const done = await waitForJob(service, pinnedJob);
      equal(done.status, "COMPLETED", JSON.stringify(done));
      console.log(`pinned job: republished after ${republishedAt} ms, done after ${Date.now() - started} ms`);
      const expected = await readJsonFixture<Pair[]>("postgis/polygon_intersection.json");
      deepEqual(
        (await resultFeatures(service, pinnedJob)).map((f) => pairKey(f.properties)),
        expected.map(pairKey),
        "version 1's answer",
      );

      const current = await (await service.fetch("/v1/datasets/pinned", { headers })).json();
      equal(current.version, 2);
      deepEqual(current.versions.map((v: { version: number }) => v.version), [1, 2]);

      const after = await runJob(service, {
        spatial_operation: "polygon_intersection",
        dataset: "pinned",
        geometry_payload: collection(counties.filter((f) => f.id === "10001")),
      });
      const pairs = (await resultFeatures(service, after.job_id)).map((f) => f.properties);
      ok(pairs.length > 0 && pairs.every((p) => String(p.right_id).startsWith("h_")), "a new job reads version 2");
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
