/**
 * Recovery paths that need the local R2 state itself: a dataset tile damaged
 * at rest (bad input found only while running), and the tiles a publish
 * left behind when it died before its version was recorded. The state is
 * edited only while the dev server is stopped, as a crash would leave it.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type Service, startService } from "./harness.ts";
import { authHeaders, publish, publishFixtures, readFixture, readJsonFixture, submit, waitForJob } from "./client.ts";

/** The local R2 bucket's object table (miniflare's SQLite) and blob directory. */
async function bucketFiles(service: Service): Promise<{ db: string; blobs: string }> {
  const dir = `${service.stateDir}/v3/r2/miniflare-R2BucketObject`;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".sqlite") && entry.name !== "metadata.sqlite") {
      return { db: `${dir}/${entry.name}`, blobs: `${service.stateDir}/v3/r2/spatial-jobs-tiles/blobs` };
    }
  }
  throw new Error("no local R2 bucket");
}

interface ObjectRow {
  key: string;
  blob_id: string;
  custom_metadata: string;
}

async function objects(service: Service, prefix: string): Promise<ObjectRow[]> {
  const db = new DatabaseSync((await bucketFiles(service)).db, { readOnly: true });
  try {
    return db.prepare(`SELECT key, blob_id, custom_metadata FROM _mf_objects WHERE key LIKE ? ORDER BY key`)
      .all(`${prefix}%`) as unknown as ObjectRow[];
  } finally {
    db.close();
  }
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await read();
  }
  ok(done(value), `${what}: ${JSON.stringify(value).slice(0, 400)}`);
  return value;
}

Deno.test("bad input found while running fails the job at once; the index forgets idle partitions; the cron collects unneeded payloads and orphaned dataset tiles", async (t) => {
  const service = await startService({ vars: { INLINE_PAYLOAD_BYTES: "0" } });
  const operator = await authHeaders({ roles: ["operator"] });
  const metrics = async () => await (await service.fetch("/v1/ops/metrics", { headers: operator })).json();
  const status = async (jobId: string) =>
    await (await service.fetch(`/v1/jobs/${jobId}`, { headers: await authHeaders() })).json();
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const put = await publish(service, "damaged", await readFixture("inputs/grid_1deg.geojson"));
    equal(put.status, 201);
    const gridTiles = await objects(service, "datasets/grid/");

    // A crash as the state would hold it: one dataset's tiles damaged at rest, and a publish of "grid" that
    // wrote its tiles under a fresh prefix but died before the catalog recorded the version.
    await service.stop("SIGTERM");
    const { db: dbPath, blobs } = await bucketFiles(service);
    const db = new DatabaseSync(dbPath);
    const orphanPrefix = `datasets/grid/${crypto.randomUUID()}/`;
    try {
      const damaged = db.prepare(`SELECT blob_id, size FROM _mf_objects WHERE key LIKE 'datasets/damaged/%'`)
        .all() as { blob_id: string; size: number }[];
      for (const { blob_id, size } of damaged) await Deno.writeFile(`${blobs}/${blob_id}`, new Uint8Array(size));
      const source = db.prepare(`SELECT * FROM _mf_objects WHERE key = ?`).get(gridTiles[0]!.key) as {
        blob_id: string;
        size: number;
        etag: string;
        uploaded: number;
        checksums: string;
        http_metadata: string;
        custom_metadata: string;
      };
      const blob = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0"))
        .join("") + String(source.blob_id).slice(64);
      await Deno.copyFile(`${blobs}/${source.blob_id}`, `${blobs}/${blob}`);
      db.prepare(
        `INSERT INTO _mf_objects (key, blob_id, version, size, etag, uploaded, checksums, http_metadata, custom_metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        `${orphanPrefix}tiles/${gridTiles[0]!.key.split("/").pop()}`,
        blob,
        crypto.randomUUID().replaceAll("-", ""),
        source.size,
        source.etag,
        source.uploaded,
        source.checksums,
        source.http_metadata,
        source.custom_metadata,
      );
    } finally {
      db.close();
    }
    await service.restart();

    const counties = (await readJsonFixture<{ features: unknown[] }>("inputs/counties_sample.geojson")).features;
    const payload = { type: "FeatureCollection", features: counties.slice(20, 26) };
    const submitted = async (job: Record<string, unknown>) => {
      const response = await submit(service, job);
      const body = await response.json();
      equal(response.status, 202, JSON.stringify(body));
      return body.job_id as string;
    };
    const pi = { spatial_operation: "polygon_intersection", repair: true };
    const failed = await submitted({ ...pi, left_dataset: "counties", dataset: "damaged" });
    const failedWithPayload = await submitted({ ...pi, geometry_payload: payload, dataset: "damaged" });
    const completed = await submitted({ ...pi, geometry_payload: payload, dataset: "grid" });

    await t.step("a job whose tile does not decode is FAILED at its first attempt, with the reason", async () => {
      for (const jobId of [failed, failedWithPayload]) {
        const done = await waitForJob(service, jobId);
        equal(done.status, "FAILED", JSON.stringify(done));
        equal(done.attempts, 1, "no retry was spent on it");
        const error = (await status(jobId)).error;
        equal(error.type, "urn:spatial-jobs:problem:job-input-error");
        ok(/FlatGeobuf/.test(error.detail), error.detail);
        const cell = jobId.split("_")[1];
        const events = (await (await service.fetch(`/v1/ops/partitions/${cell}/events?job_id=${jobId}`, {
          headers: operator,
        })).text()).trim().split("\n").map((line) => JSON.parse(line));
        deepEqual(
          events.filter((e) => e.kind === "transition").map((e) => e.to_status),
          ["QUEUED", "IN_PROGRESS", "FAILED"],
        );
      }
      equal((await waitForJob(service, completed)).status, "COMPLETED");
    });

    const payloadOf = async (jobId: string) =>
      (await objects(service, "payloads/")).filter((o) => JSON.parse(o.custom_metadata).job_id === jobId);
    const completedPayload = await payloadOf(completed);
    ok(completedPayload.length > 0 && (await payloadOf(failedWithPayload)).length > 0, "payloads are in R2");
    ok((await objects(service, orphanPrefix)).length === 1, "the orphaned tile is in R2");

    await t.step(
      "after a sweep, partitions with only finished jobs are off the index; failed ones stay listed for operators",
      async () => {
        const before = await metrics();
        ok(before.live_partitions >= 1, JSON.stringify(before));
        await service.triggerCron();
        const after = await until("no live partition", metrics, (m) => m.live_partitions === 0);
        equal(after.failed, 2);
        const listed = await (await service.fetch("/v1/ops/jobs?status=FAILED", { headers: operator })).json();
        deepEqual(listed.jobs.map((j: { job_id: string }) => j.job_id).sort(), [failed, failedWithPayload].sort());
      },
    );

    await t.step(
      "the cron collects a finished job's payload and an orphaned publish, and keeps what may be read",
      async () => {
        await service.stop("SIGTERM");
        await service.restart({ vars: { INLINE_PAYLOAD_BYTES: "0", STAGING_GRACE_MS: "0" } });
        await service.triggerCron();
        await until("the completed job's payload is collected", () => payloadOf(completed), (o) => o.length === 0);
        await until("the orphaned tile is collected", () => objects(service, orphanPrefix), (o) => o.length === 0);
        ok((await payloadOf(failedWithPayload)).length > 0, "a FAILED job's payload is kept: it may be re-driven");
        deepEqual(await objects(service, "datasets/grid/"), gridTiles, "the published version's tiles are kept");
        const rerun = await submitted({
          spatial_operation: "polygon_intersection",
          left_dataset: "counties",
          dataset: "grid",
        });
        equal((await waitForJob(service, rerun)).status, "COMPLETED");
      },
    );

    await t.step("cancelling the failed jobs leaves nothing on the index, and their payload is collected", async () => {
      for (const jobId of [failed, failedWithPayload]) {
        const response = await service.fetch(`/v1/jobs/${jobId}`, { method: "DELETE", headers: await authHeaders() });
        equal((await response.json()).status, "CANCELLED");
      }
      await service.triggerCron();
      const after = await until("an empty index", metrics, (m) => m.indexed_partitions === 0);
      equal(after.live_partitions, 0);
      await until("the cancelled job's payload is collected", () => payloadOf(failedWithPayload), (o) => !o.length);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
