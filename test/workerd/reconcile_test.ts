/**
 * Reconciliation: a COMPLETED job whose result object was lost from storage
 * is re-materialized from its staged parts (same bytes, same ETag) instead of
 * answering 404 forever.
 */
import { equal, ok } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { startService } from "./harness.ts";
import { authHeaders, fetchResult, publishFixtures, submit, waitForJob } from "./client.ts";

/** Deletes an object from the local R2 emulation on disk (metadata row and blob), as a storage loss. */
async function loseObject(stateDir: string, key: string): Promise<void> {
  const dir = `${stateDir}/v3/r2/miniflare-R2BucketObject`;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sqlite") || entry.name === "metadata.sqlite") continue;
    const db = new DatabaseSync(`${dir}/${entry.name}`);
    const row = db.prepare("SELECT blob_id FROM _mf_objects WHERE key = ?").get(key) as { blob_id: string } | undefined;
    if (row) {
      db.prepare("DELETE FROM _mf_objects WHERE key = ?").run(key);
      await Deno.remove(`${stateDir}/v3/r2/spatial-jobs-tiles/blobs/${row.blob_id}`);
    }
    db.close();
  }
}

Deno.test("a committed result lost from R2 is re-materialized from staging with the same bytes and ETag", async () => {
  const service = await startService();
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const { job_id } = await (await submit(service, {
      spatial_operation: "polygon_intersection",
      left_dataset: "counties",
      dataset: "grid",
    })).json();
    equal((await waitForJob(service, job_id)).status, "COMPLETED");
    const original = await fetchResult(service, job_id);
    const etag = original.headers.get("etag");
    const bytes = new Uint8Array(await original.arrayBuffer());
    const objects = await (await service.fetch(`/v1/ops/jobs/${job_id}/objects`, {
      headers: await authHeaders({ roles: ["operator"] }),
    })).json();

    await service.stop("SIGTERM");
    await loseObject(service.stateDir, objects.committed);
    await service.restart();

    const first = await fetchResult(service, job_id);
    equal(first.status, 503, "the loss is noticed, not hidden");
    ok(first.headers.get("retry-after"));
    await first.body?.cancel();

    let restored: Response | undefined;
    for (let i = 0; i < 50 && restored?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await restored?.body?.cancel();
      restored = await fetchResult(service, job_id);
    }
    equal(restored!.status, 200);
    equal(restored!.headers.get("etag"), etag);
    const again = new Uint8Array(await restored!.arrayBuffer());
    ok(again.length === bytes.length && again.every((b, i) => b === bytes[i]), "the same bytes");

    const cell = job_id.split("_")[1];
    const events = await (await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${job_id}`, {
      headers: await authHeaders({ roles: ["operator"] }),
    })).text();
    ok(events.includes("re-materialized from staged parts"), "the ledger records the repair");
    equal((await waitForJob(service, job_id)).status, "COMPLETED", "and the job stays COMPLETED");
  } finally {
    await service.stop("SIGTERM");
  }
});
