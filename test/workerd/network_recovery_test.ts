/**
 * Network jobs under faults in real workerd, in one-origin slices: a SIGKILL of the whole dev server mid-job ends
 * with the same answer as pgRouting's, committed exactly once; DELETE stops a running job for good; an idempotent
 * replay is the same job.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { startService } from "./harness.ts";
import { authHeaders, expectProblem, fetchResult, publish, readFixture, resultFeatures, waitForJob } from "./client.ts";

type Row = { left_id: number; right_id: number; start_vid: number; end_vid: number; cost: number };

const fixtureJson = async (name: string) => JSON.parse(new TextDecoder().decode(await readFixture(`network/${name}`)));

Deno.test("network jobs survive a SIGKILL mid-job, stop on DELETE, and replay idempotently", async (t) => {
  const service = await startService({ vars: { SLICE_WORK_UNITS: "1", STALL_AFTER_MS: "10000" } });
  try {
    const osm = gunzipSync(await readFixture("network/osm_gothenburg_edges.geojson.gz"));
    const published = await publish(service, "osm", osm, { query: "classification=public&kind=network" });
    equal(published.status, 201, await published.text());
    const headers = { ...await authHeaders(), "content-type": "application/json" };
    const job = {
      spatial_operation: "shortest_path",
      geometry_payload: await fixtureJson("points_osm_origins.geojson"),
      destinations_payload: await fixtureJson("points_osm_destinations.geojson"),
      dataset: "osm",
      path_geometry: false,
    };
    const post = async (key: string) =>
      await service.fetch("/v1/jobs", {
        method: "POST",
        headers,
        body: JSON.stringify({ job_idempotency_key: key, ...job }),
      });
    const status = async (id: string) => await (await service.fetch(`/v1/jobs/${id}`, { headers })).json();

    await t.step("a SIGKILL mid-job: the job completes once, with pgr_dijkstraCost's 7,514 rows", async () => {
      const key = crypto.randomUUID();
      const submitted = await post(key);
      const { job_id } = await submitted.json();
      equal(submitted.status, 202);
      let live = await status(job_id);
      while (live.status === "QUEUED") {
        await new Promise((r) => setTimeout(r, 50));
        live = await status(job_id);
      }
      equal(live.status, "IN_PROGRESS", "the kill hits the job in flight");
      await service.stop("SIGKILL");
      await service.restart();
      const done = await waitForJob(service, job_id, 180_000).catch(async () => {
        await service.triggerCron();
        return await waitForJob(service, job_id, 180_000);
      });
      equal(done.status, "COMPLETED", JSON.stringify(done));
      const want = JSON.parse(
        new TextDecoder().decode(await readFixture("network/answers/osm_shortest_path_n1.json")),
      ) as Row[];
      const got = (await resultFeatures(service, job_id)).map((f) => f.properties as unknown as Row);
      equal(got.length, want.length, "every reachable pair exactly once");
      for (const [i, r] of got.entries()) {
        const w = want[i]!;
        deepEqual([r.left_id, r.right_id, r.start_vid, r.end_vid], [w.left_id, w.right_id, w.start_vid, w.end_vid]);
        ok(Math.abs(r.cost - w.cost) <= 1e-9 * Math.max(1, w.cost), `${r.left_id}→${r.right_id}`);
      }

      const replay = await post(key);
      equal(replay.status, 200);
      equal((await replay.json()).job_id, job_id, "the same key and payload: the same job");
    });

    await t.step("DELETE of a running network job cancels it for good: no result, ever", async () => {
      const submitted = await post(crypto.randomUUID());
      const { job_id } = await submitted.json();
      equal(submitted.status, 202);
      const cancelled = await service.fetch(`/v1/jobs/${job_id}`, { method: "DELETE", headers });
      equal(cancelled.status, 200);
      equal((await cancelled.json()).status, "CANCELLED");
      await new Promise((r) => setTimeout(r, 2000));
      const later = await status(job_id);
      equal(later.status, "CANCELLED");
      equal(later.result, undefined);
      await expectProblem(await fetchResult(service, job_id), 409);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
