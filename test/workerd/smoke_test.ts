/** CI runs the deployment smoke test (`deno task smoke`, scripts/smoke.ts) against a local wrangler dev. */
import { deepEqual, equal } from "node:assert/strict";
import { startService } from "./harness.ts";
import { token } from "./client.ts";
import { smoke } from "../../scripts/smoke.ts";

Deno.test("the smoke test publishes, runs one job of every operation and matches the reference answers", async () => {
  const service = await startService();
  try {
    const outcomes = await smoke({ url: service.url, token: await token() });
    deepEqual(
      outcomes.map((o) => o.operation).sort(),
      ["point_in_polygon", "polygon_intersection", "service_area", "shortest_path", "spatial_join", "zonal_statistics"],
    );
    for (const o of outcomes) {
      deepEqual(o.problems, [], o.operation);
      equal(o.rows > 0, true, `${o.operation} has rows`);
    }
    // A second run reuses the same dataset names, answers the same and deletes the first run's versions.
    const again = await smoke({ url: service.url, token: await token() });
    deepEqual(again.flatMap((o) => o.problems), []);
    const headers = { authorization: `Bearer ${await token()}` };
    for (const name of ["counties", "grid", "points", "elev", "network"]) {
      const document = await (await service.fetch(`/v1/datasets/smoke-${name}`, { headers })).json();
      equal(document.versions.length, 1, `smoke-${name}: ${JSON.stringify(document.versions)}`);
    }
  } finally {
    await service.stop();
  }
});
