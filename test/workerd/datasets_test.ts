/**
 * Datasets as a caller browses and prunes them: the list (by name, only what the caller's tier may read), a
 * manifest without storage keys, and deleting a version that no unfinished job reads.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, expectProblem, publish, readFixture, submit, waitForJob } from "./client.ts";

Deno.test("datasets: list by name and tier, manifests without storage keys, delete a version no live job reads", async (t) => {
  // Tiny slices keep a job running long enough to be seen pinning its versions.
  const service = await startService({ vars: { SLICE_WORK_UNITS: "1" } });
  try {
    const counties = await readFixture("inputs/counties_sample.geojson");
    const grid = await readFixture("inputs/grid_1deg.geojson");
    for (
      const [name, body, query] of [
        ["counties", counties, "classification=public&repair=true"],
        ["grid", grid, "classification=public"],
        ["grid", grid, "classification=public"],
        ["restricted-grid", grid, "classification=restricted"],
      ] as const
    ) {
      const response = await publish(service, name, body, { query });
      equal(response.status, 201, await response.clone().text());
      const manifest = await response.json();
      ok(manifest.tiles.length > 0 && manifest.tiles.every((tile: object) => !("key" in tile)), "no storage keys");
    }
    const get = async (path: string, claims = {}) => await service.fetch(path, { headers: await authHeaders(claims) });

    await t.step("GET /v1/datasets/{name} describes the dataset without its storage keys", async () => {
      const text = await (await get("/v1/datasets/grid")).text();
      const doc = JSON.parse(text);
      equal(doc.version, 2);
      deepEqual(doc.versions.map((v: { version: number }) => v.version), [1, 2]);
      ok(!text.includes("datasets/grid/"), "no R2 key in the document");
    });

    await t.step("GET /v1/datasets pages by name and lists only what the caller's tier may read", async () => {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const response = await get(`/v1/datasets?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
        equal(response.status, 200);
        const page = await response.json();
        names.push(...page.datasets.map((d: { name: string }) => d.name));
        cursor = page.next_cursor;
      } while (cursor);
      deepEqual(names, ["counties", "grid", "restricted-grid"]);
      const pub = await (await get("/v1/datasets", { data_classification: "public" })).json();
      deepEqual(pub.datasets.map((d: { name: string }) => d.name), ["counties", "grid"]);
      const gridSummary = pub.datasets[1];
      equal(gridSummary.version, 2);
      equal(gridSummary.versions, 2);
      equal(gridSummary.feature_count, 222);
      await expectProblem(await get("/v1/datasets?limit=0"), 422, ["limit"]);
    });

    await t.step("a version a running job reads is a 409; once the job ends it is deleted (204)", async () => {
      const submitted = await submit(service, {
        spatial_operation: "polygon_intersection",
        left_dataset: "counties",
        dataset: "grid",
      });
      equal(submitted.status, 202);
      const { job_id } = await submitted.json();
      const del = async (name: string, version: number | string, claims = {}) =>
        await service.fetch(`/v1/datasets/${name}/versions/${version}`, {
          method: "DELETE",
          headers: await authHeaders(claims),
        });
      // Running: its home pinned the versions it reads before starting it (a delete that wins the race with the pin
      // fails the job instead, as docs/contract-notes.md says; not what this step is about).
      let before;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        before = await (await get(`/v1/jobs/${job_id}`)).json();
        if (before.status !== "QUEUED") break;
        await new Promise((r) => setTimeout(r, 5));
      }
      equal(before.status, "IN_PROGRESS", "the job was seen running");
      const pinned = await del("grid", 2);
      const during = await (await get(`/v1/jobs/${job_id}`)).json();
      ok(["IN_PROGRESS", "COMPLETED"].includes(during.status), `the job went on (${during.status})`);
      await expectProblem(pinned, 409);
      equal((await waitForJob(service, job_id)).status, "COMPLETED");

      await expectProblem(await del("grid", 2, { domain: "other" }), 403);
      const deleted = await del("grid", 2);
      equal(deleted.status, 204);
      const doc = await (await get("/v1/datasets/grid")).json();
      equal(doc.version, 1);
      deepEqual(doc.versions.map((v: { version: number }) => v.version), [1]);
      await expectProblem(await del("grid", 2), 404);
      await expectProblem(await del("grid", 1), 409);
      await expectProblem(await del("grid", "x"), 400, ["version"]);
      const republished = await publish(service, "grid", grid);
      equal((await republished.json()).version, 3, "a deleted version's number is not reused");
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
