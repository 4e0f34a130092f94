import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startDevServerOnFreePorts } from "../../scripts/lib/wrangler_dev.ts";

Deno.test("the geometry core loads and computes inside real workerd (areas, predicates, typed errors, no leak)", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "geos-core-fixture-" });
  const server = await startDevServerOnFreePorts({
    stateDir,
    logFile: `${stateDir}.log`,
    config: fileURLToPath(new URL("./fixtures/geos_worker/wrangler.toml", import.meta.url)),
  });
  try {
    const response = await fetch(`${server.url}/compute`);
    equal(response.status, 200, await response.clone().text());
    const body = await response.json();
    equal(body.intersectionArea, 1);
    deepEqual(body.intersectionBounds, [1, 1, 2, 2]);
    deepEqual([body.pointInside, body.pointOnBoundary, body.pointOutside], [true, true, false]);
    ok(Math.abs(body.geodesicAreaM2 - 12_308_778_361.47) < 1, `${body.geodesicAreaM2}`);
    equal(body.bowtieReason, "Self-intersection[0.5 0.5]");
    equal(body.repairedArea, 0.5);
    deepEqual(body.invalid, { name: "InvalidGeometryError", reason: "Ring is not closed[0 0]", id: 7 });
    equal(body.heapStable, true, JSON.stringify({ before: body.before, after: body.after }));
  } finally {
    await server.stop("SIGTERM");
  }
});
