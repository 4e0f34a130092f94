/**
 * A service area larger than one slice (4,096 rows for a network job) in real workerd: the rows of one origin go on in the next
 * slice from the row they stopped at. The network is a 200 × 200 grid of unit-cost edges, where every vertex's
 * least cost from a corner is its Manhattan distance in steps (what pgr_drivingDistance answers on a grid).
 */
import { deepEqual, equal } from "node:assert/strict";
import { startService } from "./harness.ts";
import { publish, resultFeatures, runJob } from "./client.ts";

const SIDE = 200;
const STEP = 0.001;

function grid(): string {
  const features = [];
  for (let x = 0; x < SIDE; x++) {
    for (let y = 0; y < SIDE; y++) {
      for (const [dx, dy] of [[1, 0], [0, 1]] as const) {
        if (x + dx >= SIDE || y + dy >= SIDE) continue;
        features.push({
          type: "Feature",
          id: features.length + 1,
          properties: { cost: 1, reverse_cost: 1 },
          geometry: { type: "LineString", coordinates: [[x * STEP, y * STEP], [(x + dx) * STEP, (y + dy) * STEP]] },
        });
      }
    }
  }
  return JSON.stringify({ type: "FeatureCollection", features });
}

Deno.test("a service area of 80,000 rows completes across slices with every vertex at its grid distance", async () => {
  // Debug logs carry each slice checkpoint and its rows.
  const service = await startService({ vars: { LOG_LEVEL: "debug" } });
  try {
    const published = await publish(service, "grid", grid(), { query: "classification=public&kind=network" });
    const manifest = await published.json();
    equal(published.status, 201, JSON.stringify(manifest));
    equal(manifest.vertex_count, SIDE * SIDE);
    const corner = (id: number, x: number, y: number) => ({
      type: "Feature",
      id,
      properties: {},
      geometry: { type: "Point", coordinates: [x * STEP, y * STEP] },
    });
    const status = await runJob(service, {
      spatial_operation: "service_area",
      geometry_payload: {
        type: "FeatureCollection",
        features: [corner(1, 0, 0), corner(2, SIDE - 1, SIDE - 1)],
      },
      dataset: "grid",
      max_cost: 4 * SIDE,
    });
    equal(status.status, "COMPLETED", JSON.stringify(status));
    const rows = (await resultFeatures(service, status.job_id)).map((f) =>
      f.properties as unknown as { left_id: number; vertex_id: number; agg_cost: number }
    );
    equal(rows.length, 2 * SIDE * SIDE);
    // Vertices are numbered by (lon, lat): vertex (x, y) is x * SIDE + y + 1.
    const want = [1, 2].flatMap((left) =>
      Array.from({ length: SIDE * SIDE }, (_, k) => {
        const x = Math.floor(k / SIDE), y = k % SIDE;
        return [left, k + 1, left === 1 ? x + y : 2 * (SIDE - 1) - x - y];
      })
    );
    deepEqual(rows.map((r) => [r.left_id, r.vertex_id, r.agg_cost]), want);
    const slices = (await Deno.readTextFile(service.logFile)).split("\n")
      .filter((line) => line.includes("slice checkpointed") && line.includes(status.job_id))
      .map((line) => Number(/"rows":(\d+)/.exec(line)![1]));
    deepEqual(
      slices,
      [...Array(19).fill(4_096), 2_176],
      "slices of at most 4,096 rows, an origin's rows split between them",
    );
  } finally {
    await service.stop();
  }
});
