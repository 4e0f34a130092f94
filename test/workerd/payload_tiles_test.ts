/**
 * A payload larger than `INLINE_PAYLOAD_BYTES` is written to R2 as tiles on the submit path: only the tiles some
 * partition of the job reads, not those of cells the dataset has nothing in.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { latLngToCell } from "h3-js";
import { startService } from "./harness.ts";
import { publishFixtures, r2Keys, readJsonFixture, runJob } from "./client.ts";

Deno.test("a payload's tiles that no partition reads are not written to R2", async () => {
  const service = await startService({ vars: { INLINE_PAYLOAD_BYTES: "0" } });
  try {
    await publishFixtures(service, ["counties"]);
    const counties = (await readJsonFixture<{ features: { geometry: { coordinates: unknown[] } }[] }>(
      "inputs/counties_sample.geojson",
    )).features;
    // A vertex of each of three counties (its cell holds a counties tile), and three points in open ocean.
    const onLand = counties.slice(0, 3).map((f) =>
      f.geometry.coordinates.flat(Infinity).slice(0, 2) as [number, number]
    );
    const atSea: [number, number][] = [[-135, 5], [-150, -40], [-30, -20]];
    const point = (xy: [number, number], id: number) => ({
      type: "Feature",
      id,
      properties: {},
      geometry: { type: "Point", coordinates: xy },
    });
    const done = await runJob(service, {
      spatial_operation: "point_in_polygon",
      dataset: "counties",
      geometry_payload: { type: "FeatureCollection", features: [...onLand, ...atSea].map((xy, i) => point(xy, i + 1)) },
    });
    equal(done.status, "COMPLETED", JSON.stringify(done));

    const cells = (points: [number, number][]) => [...new Set(points.map(([x, y]) => latLngToCell(y, x, 1)))].sort();
    const written = (await r2Keys(service, "payloads/")).map((key) => key.split("/").at(-1)!.split(".")[0]!).sort();
    ok(written.length > 0, "the tiles the partitions read are written");
    deepEqual(written, cells(onLand), "only the cells with counties");
    for (const cell of cells(atSea)) ok(!written.includes(cell), `${cell} (open ocean) is not written`);
  } finally {
    await service.stop();
  }
});
