/**
 * Stalled jobs: the cron sweep retries them with backoff, dead-letters them
 * after MAX_RETRIES, and an operator re-drives them to completion.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, fetchResult, publishFixtures, readFixture, submit, waitForJob } from "./client.ts";

const operator = () => authHeaders({ roles: ["operator"] });

Deno.test("a job that keeps stalling is retried by the cron sweep, dead-lettered after 3 retries, then re-driven by an operator", async (t) => {
  // Every running job counts as stalled at once, and slices are tiny so the job is always running.
  const service = await startService({ vars: { STALL_AFTER_MS: "1", SLICE_WORK_UNITS: "1", MAX_RETRIES: "3" } });
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const { job_id } = await (await submit(service, {
      spatial_operation: "polygon_intersection",
      left_dataset: "counties",
      dataset: "grid",
    })).json();

    let status: Record<string, unknown> = {};
    await t.step("the sweep retries the job until it is dead-lettered", async () => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        await service.triggerCron();
        status = await (await service.fetch(`/v1/jobs/${job_id}`, { headers: await authHeaders() })).json();
        if (status.status === "DEAD_LETTER") break;
        await new Promise((r) => setTimeout(r, 150));
      }
      equal(status.status, "DEAD_LETTER", JSON.stringify(status));
      equal(status.attempts, 4, "the first attempt and 3 retries");
      ok(String((status.error as { detail: string }).detail).includes("No progress"), "the last error is kept");
    });

    await t.step("the ledger shows each retry as a legal transition with its attempt", async () => {
      const cell = job_id.split("_")[1];
      const response = await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${job_id}`, {
        headers: await operator(),
      });
      equal(response.status, 200);
      equal(response.headers.get("content-type"), "application/x-ndjson");
      const transitions = (await response.text()).trim().split("\n").map((l) => JSON.parse(l))
        .filter((e) => e.kind === "transition");
      deepEqual(transitions.map((e) => e.to_status), [
        "QUEUED",
        "IN_PROGRESS",
        "QUEUED",
        "IN_PROGRESS",
        "QUEUED",
        "IN_PROGRESS",
        "QUEUED",
        "IN_PROGRESS",
        "DEAD_LETTER",
      ]);
      deepEqual(transitions.filter((e) => e.to_status === "IN_PROGRESS").map((e) => e.attempt), [1, 2, 3, 4]);
      ok(transitions.filter((e) => e.from_status === "IN_PROGRESS").every((e) => e.actor === "cron:sweep"));
    });

    await t.step("operators see it in the dead-letter list and the metrics; others get 403", async () => {
      const list = await (await service.fetch("/v1/ops/jobs?status=DEAD_LETTER", { headers: await operator() })).json();
      deepEqual(list.jobs.map((j: { job_id: string }) => j.job_id), [job_id]);
      const metrics = await (await service.fetch("/v1/ops/metrics", { headers: await operator() })).json();
      equal(metrics.dead_letters, 1);
      equal((await service.fetch("/v1/ops/metrics", { headers: await authHeaders() })).status, 403);
    });

    await t.step("after the fault is gone, an operator re-drive completes the job with PostGIS's answer", async () => {
      await service.stop("SIGTERM");
      await service.restart({ vars: {} });
      const response = await service.fetch(`/v1/ops/jobs/${job_id}/redrive`, {
        method: "POST",
        headers: await operator(),
      });
      const body = await response.json();
      equal(response.status, 200, JSON.stringify(body));
      equal(body.status, "QUEUED");
      const done = await waitForJob(service, job_id);
      equal(done.status, "COMPLETED", JSON.stringify(done));
      equal(done.attempts, 5);
      const expected = JSON.parse(new TextDecoder().decode(await readFixture("postgis/polygon_intersection.json")));
      const result = await (await fetchResult(service, job_id)).json();
      equal(result.features.length, expected.length);
    });

    await t.step("the cron collects the staged objects of the retried attempts, never the committed ones", async () => {
      const objectsOf = async () =>
        await (await service.fetch(`/v1/ops/jobs/${job_id}/objects`, { headers: await operator() })).json();
      const before = await objectsOf();
      ok(before.staged_parts.some((k: string) => !k.includes("/staging/a5/")), "retried attempts left parts behind");
      await service.stop("SIGTERM");
      await service.restart({ vars: { STAGING_GRACE_MS: "0" } });
      await service.triggerCron();
      let after = await objectsOf();
      for (let i = 0; i < 20 && after.staged_parts.some((k: string) => !k.includes("/staging/a5/")); i++) {
        await new Promise((r) => setTimeout(r, 200));
        after = await objectsOf();
      }
      ok(after.staged_parts.length > 0 && after.staged_parts.every((k: string) => k.includes("/staging/a5/")));
      deepEqual(after.results, [after.committed]);
      equal((await fetchResult(service, job_id)).status, 200);
    });

    await t.step("re-driving a COMPLETED job is an illegal transition: 409, nothing changes", async () => {
      const before = await service.stateFingerprint();
      const response = await service.fetch(`/v1/ops/jobs/${job_id}/redrive`, {
        method: "POST",
        headers: await operator(),
      });
      equal(response.status, 409);
      equal((await response.json()).type, "urn:spatial-jobs:problem:illegal-transition");
      equal(await service.stateFingerprint(), before);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
