/**
 * `GET /v1/jobs`: a caller's own jobs, newest first, with an opaque cursor that pages through them exactly once
 * while new jobs arrive, a status filter, and `progress.percent` in every status document.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders, type Claims, expectProblem, publishFixtures, submit, waitForJobAs } from "./client.ts";

const square = (x: number, y: number) => ({
  type: "FeatureCollection",
  features: [{
    type: "Feature",
    id: "sq",
    properties: {},
    geometry: { type: "Polygon", coordinates: [[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]] },
  }],
});

interface Page {
  jobs: { job_id: string; status: string; progress: { percent: number } }[];
  next_cursor?: string;
  links: { self: string; next?: string };
}

Deno.test("GET /v1/jobs lists the caller's own jobs newest first, pages exactly once under new submits, filters by status", async (t) => {
  const service = await startService();
  try {
    await publishFixtures(service, ["grid"]);
    const alice: Partial<Claims> = { sub: "alice" };
    const bob: Partial<Claims> = { sub: "bob" };
    const job = (i: number) => ({
      spatial_operation: "polygon_intersection",
      dataset: "grid",
      geometry_payload: square(-104 + i, 38),
    });
    const submitAs = async (claims: Partial<Claims>, i: number) => {
      const response = await submit(service, job(i), claims);
      equal(response.status, 202);
      return (await response.json()).job_id as string;
    };
    const aliceJobs: string[] = [];
    for (let i = 0; i < 7; i++) aliceJobs.push(await submitAs(alice, i));
    await submitAs(bob, 0);
    for (const id of aliceJobs) equal((await waitForJobAs(service, id, alice)).status, "COMPLETED");
    const list = async (query: string, claims = alice): Promise<Page> => {
      const response = await service.fetch(`/v1/jobs${query}`, { headers: await authHeaders(claims) });
      equal(response.status, 200);
      return await response.json();
    };

    await t.step("pages of 3 give every job once, newest first, while new jobs are submitted", async () => {
      const first = await list("?limit=3");
      deepEqual(first.jobs.map((j) => j.job_id), aliceJobs.slice(4).reverse());
      ok(first.next_cursor);
      equal(first.links.next, `/v1/jobs?limit=3&cursor=${first.next_cursor}`);
      const newer = [await submitAs(alice, 8), await submitAs(alice, 9)];
      const seen = first.jobs.map((j) => j.job_id);
      let page = first;
      while (page.next_cursor) {
        page = await list(`?limit=3&cursor=${page.next_cursor}`);
        seen.push(...page.jobs.map((j) => j.job_id));
      }
      deepEqual(seen, [...aliceJobs].reverse());
      equal(page.links.next, undefined);
      const fresh = await list("?limit=2");
      deepEqual(fresh.jobs.map((j) => j.job_id), [...newer].reverse());
      for (const id of newer) await waitForJobAs(service, id, alice);
    });

    await t.step("only the caller's jobs: bob sees his one job", async () => {
      const bobs = await list("", bob);
      equal(bobs.jobs.length, 1);
      ok(!aliceJobs.includes(bobs.jobs[0]!.job_id));
    });

    await t.step("?status= filters by the jobs' current statuses", async () => {
      const cancelled = [aliceJobs[1]!, aliceJobs[5]!];
      for (const id of cancelled) {
        const response = await service.fetch(`/v1/jobs/${id}`, { method: "DELETE", headers: await authHeaders(alice) });
        equal(response.status, 200);
        await response.body?.cancel();
      }
      const page = await list("?status=CANCELLED");
      deepEqual(page.jobs.map((j) => j.job_id), [...cancelled].reverse());
      equal(page.next_cursor, undefined);
      const both = await list("?status=CANCELLED,COMPLETED&limit=100");
      equal(both.jobs.length, 9);
      for (const j of (await list("?status=COMPLETED&limit=100")).jobs) equal(j.progress.percent, 100);
    });

    await t.step("a bad status, limit or cursor is a 4xx problem", async () => {
      const get = async (query: string) =>
        await service.fetch(`/v1/jobs${query}`, { headers: await authHeaders(alice) });
      await expectProblem(await get("?status=DONE"), 422, ["status"]);
      await expectProblem(await get("?limit=0"), 422, ["limit"]);
      await expectProblem(await get("?limit=x"), 422, ["limit"]);
      await expectProblem(await get("?cursor=nonsense"), 422, ["cursor"]);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
