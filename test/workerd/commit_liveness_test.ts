/**
 * The commit phase under the sweep and a cancel: a commit of a multi-chunk
 * result (tens of MB of GeoJSON merged from many parts) that outlasts the
 * stall window is not taken for a stall, and a cancel landing while the
 * home merges is a cancel, not a "commit failed" P1 (the commit checks,
 * between its awaits and before recording, that the job is still its
 * attempt in progress, and drops its result object when it is not).
 */
import { equal, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import { boxPayload, grownBox } from "../../scripts/lib/geojson_payloads.ts";
import { authHeaders, publishSeededPoints, submit, waitForJob } from "./client.ts";

const POINTS = 240_000;
const BOX = [-100, 38, -94, 41] as const;
const STALL_AFTER_MS = 200;

const job = () => ({
  spatial_operation: "point_in_polygon",
  dataset: "dense",
  geometry_payload: boxPayload(grownBox(BOX, 1)),
});

/** Submits the job and waits (polling fast) until every partition has reported: the home is committing. */
async function untilCommitting(service: Service): Promise<string> {
  const response = await submit(service, job());
  const { job_id } = await response.json();
  equal(response.status, 202);
  const headers = await authHeaders();
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const status = await (await service.fetch(`/v1/jobs/${job_id}`, { headers })).json();
    if (status.status !== "IN_PROGRESS" && status.status !== "QUEUED") throw new Error(JSON.stringify(status));
    if (status.status === "IN_PROGRESS" && status.progress.partitions_done === status.progress.partitions_total) {
      return job_id;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${job_id} never reached its commit`);
}

Deno.test("a long commit is not retried by the sweep, and a cancel during a commit raises no commit-failed alert", async (t) => {
  const service = await startService({
    // One partition per tile cell: many staged parts, so the commit awaits often enough to let requests in.
    vars: {
      STALL_AFTER_MS: String(STALL_AFTER_MS),
      RESULT_CHUNK_BYTES: String(5 * 2 ** 20),
      PARTITION_GROUP_BYTES: "0",
    },
  });
  const operator = await authHeaders({ roles: ["operator"] });
  try {
    await publishSeededPoints(service, "dense", POINTS, 11, BOX);

    await t.step("the sweep, run throughout a commit longer than the stall window, leaves it alone", async () => {
      const jobId = await untilCommitting(service);
      const headers = await authHeaders();
      let sweeps = 0;
      for (;;) {
        await service.triggerCron();
        sweeps++;
        const status = await (await service.fetch(`/v1/jobs/${jobId}`, { headers })).json();
        if (status.status !== "IN_PROGRESS") break;
      }
      const done = await waitForJob(service, jobId);
      equal(done.status, "COMPLETED", JSON.stringify(done));
      const commitMs = (done.stats as { ms: { commit: number } }).ms.commit;
      console.log(`commit took ${commitMs} ms (stall window ${STALL_AFTER_MS} ms), ${sweeps} sweeps during it`);
      ok(commitMs > STALL_AFTER_MS, `the commit outlasted the stall window: ${commitMs} ms`);
      equal(done.attempts, 1, "not retried as stalled");
    });

    await t.step("a cancel as the home commits: CANCELLED, no commit-failed note, no P1 alert", async () => {
      const jobId = await untilCommitting(service);
      const cancelled = await service.fetch(`/v1/jobs/${jobId}`, { method: "DELETE", headers: await authHeaders() });
      equal((await cancelled.json()).status, "CANCELLED");
      const cell = jobId.split("_")[1];
      const events = async () =>
        (await (await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${jobId}`, { headers: operator }))
          .text()).trim().split("\n").map((line) => JSON.parse(line));
      // Locally the commit holds the one thread between its awaits, so the cancel may land during it or just after.
      await new Promise((r) => setTimeout(r, 2_000));
      const transitions = (await events()).filter((e) => e.kind === "transition").map((e) => e.to_status);
      const landedDuringCommit = !transitions.includes("COMPLETED");
      console.log(
        `the cancel landed ${landedDuringCommit ? "during" : "after"} the commit: ${transitions.join(" → ")}`,
      );
      const objects = await (await service.fetch(`/v1/ops/jobs/${jobId}/objects`, { headers: operator })).json();
      if (landedDuringCommit) {
        equal(objects.committed, null);
        equal(objects.results.length, 0, `the abandoned commit left no result object: ${objects.results}`);
      } else {
        equal(objects.results.length, 1, "a completed job's committed result stays");
      }
      const notes = (await events()).filter((e) => e.kind === "note");
      equal(notes.length, 0, JSON.stringify(notes));
      const metrics = await (await service.fetch("/v1/ops/metrics", { headers: operator })).json();
      equal(metrics.commit_failures_last_hour, 0);
      ok(!metrics.alerts.some((a: { severity: string }) => a.severity === "P1"), JSON.stringify(metrics.alerts));
      equal((await waitForJob(service, jobId)).status, "CANCELLED");
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
