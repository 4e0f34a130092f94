/**
 * Abandoned multipart uploads are collected: past `UPLOAD_TTL_MS` (15 s here) an upload that was never completed is
 * ABORTED by its catalog's alarm and its staged part tiles leave R2; a completed one keeps its published tiles.
 */
import { equal, ok } from "node:assert/strict";
import { type Service, startService } from "./harness.ts";
import { authHeaders, expectProblem, r2Keys, readJsonFixture } from "./client.ts";

const TTL_MS = 15_000;

interface Fc {
  features: unknown[];
}

async function call(service: Service, method: string, path: string, body?: string) {
  return await service.fetch(path, {
    method,
    headers: { ...(await authHeaders()), "content-type": "application/geo+json" },
    ...(body ? { body } : {}),
  });
}

async function openWithPart(service: Service, name: string, features: unknown[]): Promise<string> {
  const opened = await call(service, "POST", `/v1/datasets/${name}/uploads?classification=public`);
  const { upload_id: id } = await opened.json();
  equal(opened.status, 201);
  const part = await call(
    service,
    "PUT",
    `/v1/datasets/${name}/uploads/${id}/parts/1`,
    JSON.stringify({ type: "FeatureCollection", features }),
  );
  equal(part.status, 200, await part.clone().text());
  await part.body?.cancel();
  return id;
}

async function uploadState(service: Service, name: string, id: string): Promise<Record<string, unknown>> {
  return await (await call(service, "GET", `/v1/datasets/${name}/uploads/${id}`)).json();
}

Deno.test("an upload not completed within UPLOAD_TTL_MS is aborted and its staged parts deleted; a completed one stays", async () => {
  const service = await startService({ vars: { UPLOAD_TTL_MS: String(TTL_MS) } });
  try {
    const points = (await readJsonFixture<Fc>("inputs/points_subset_500.geojson")).features;
    const abandoned = await openWithPart(service, "abandoned", points.slice(0, 200));
    const kept = await openWithPart(service, "kept", points.slice(200, 400));
    const staged = await r2Keys(service, "datasets/abandoned/");
    ok(staged.length > 0, `the part's tiles are staged in R2: ${JSON.stringify(await r2Keys(service, ""))}`);
    const completing = await call(service, "POST", `/v1/datasets/kept/uploads/${kept}/complete`);
    ok(completing.status < 300, await completing.clone().text());
    await completing.body?.cancel();

    const deadline = Date.now() + 30_000;
    let state = await uploadState(service, "abandoned", abandoned);
    while (state.state === "OPEN" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      state = await uploadState(service, "abandoned", abandoned);
    }
    equal(state.state, "ABORTED", JSON.stringify(state));
    ok(Date.now() >= Date.parse(String(state.expires_at)), "not before it expired");
    equal((await r2Keys(service, "datasets/abandoned/")).length, 0, "no staged object is left");
    await expectProblem(
      await call(
        service,
        "PUT",
        `/v1/datasets/abandoned/uploads/${abandoned}/parts/2`,
        JSON.stringify({
          type: "FeatureCollection",
          features: points.slice(400, 410),
        }),
      ),
      409,
    );
    equal((await r2Keys(service, "datasets/abandoned/")).length, 0, "a refused part leaves no tiles behind");

    equal((await uploadState(service, "kept", kept)).state, "COMPLETED");
    const dataset = await call(service, "GET", "/v1/datasets/kept");
    equal(dataset.status, 200);
    const manifest = await dataset.json();
    equal(manifest.feature_count, 200);
    ok((await r2Keys(service, "datasets/kept/")).some((k) => k.includes("/tiles/")), "published tiles are kept");
  } finally {
    await service.stop("SIGTERM");
  }
});
