/**
 * The operator endpoints visit every partition with work, not only the live-work index's: a partition running
 * another home's tasks (never on the index) and a home the index forgot once its jobs finished.
 */
import { equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, publishFixtures, submit, waitForJob } from "./client.ts";

interface WorkEntry {
  cell: string;
  on_live_index: boolean;
  queued: number;
  in_progress: number;
  running_tasks: number;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  ok(done(value), `${what}: ${JSON.stringify(value).slice(0, 600)}`);
  return value;
}

Deno.test("ops metrics list a partition with queued tasks that is not on the live-work index, and ops listing keeps finished work after the index forgets it", async () => {
  // One left feature a slice and one partition per tile cell: the job's tasks wait in several partitions.
  const service = await startService({ vars: { SLICE_WORK_UNITS: "1", PARTITION_GROUP_BYTES: "0" } });
  const operator = await authHeaders({ roles: ["operator"] });
  const metrics = async () => await (await service.fetch("/v1/ops/metrics", { headers: operator })).json();
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const response = await submit(service, {
      spatial_operation: "polygon_intersection",
      left_dataset: "counties",
      dataset: "grid",
    });
    const { job_id: jobId } = await response.json();
    equal(response.status, 202);
    const home = jobId.split("_")[1];

    const seen = await until(
      "a partition other than the home with unfinished tasks",
      metrics,
      (m) => (m.partitions_with_work as WorkEntry[]).some((p) => p.cell !== home && p.running_tasks > 0),
    );
    const other = (seen.partitions_with_work as WorkEntry[]).find((p) => p.cell !== home && p.running_tasks > 0)!;
    equal(other.on_live_index, false, "only homes mark the live-work index");
    ok(seen.visited_partitions > seen.indexed_partitions, JSON.stringify(seen));
    ok(seen.running_tasks >= other.running_tasks);

    const done = await waitForJob(service, jobId);
    equal(done.status, "COMPLETED");
    ok(done.progress.partitions_total > 1, "the job spans several partitions");
    await service.triggerCron();
    const after = await until("the index forgets the idle home", metrics, (m) => m.indexed_partitions === 0);
    equal(after.partitions_with_work.length, 0, "nothing unfinished");
    ok(after.visited_partitions >= done.progress.partitions_total, "recent work is still visited");
    const listed = await (await service.fetch("/v1/ops/jobs?status=COMPLETED", { headers: operator })).json();
    equal(listed.jobs.map((j: { job_id: string }) => j.job_id).join(), jobId, "the finished job is still listed");
  } finally {
    await service.stop("SIGTERM");
  }
});
