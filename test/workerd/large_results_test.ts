/**
 * A result larger than one upload chunk streams to R2 as a multipart upload
 * (durable-objects/partition_ledger/commit.ts) merged from parts of several
 * slices and partitions: every row once, in order, in both formats.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { fetchResult, publish, runJob } from "./client.ts";
import { seededPoints } from "../../scripts/lib/seeded_random.ts";
import { parseFlatGeobuf } from "../../src/tiles/fgb_reader.ts";

const POINTS = 90_000;
const BOX = [-100, 38, -94, 41] as const;
const CHUNK = 5 * 2 ** 20;

Deno.test("a result over one chunk is committed as a multipart object: every row once, in order", async (t) => {
  const service = await startService({ vars: { RESULT_CHUNK_BYTES: String(CHUNK), PARTITION_GROUP_BYTES: "0" } });
  try {
    const xy = seededPoints(POINTS, 11, BOX);
    const features = Array.from({ length: POINTS }, (_, i) => ({
      type: "Feature",
      id: i + 1,
      properties: {},
      geometry: { type: "Point", coordinates: [xy[2 * i], xy[2 * i + 1]] },
    }));
    const published = await publish(service, "dense", JSON.stringify({ type: "FeatureCollection", features }));
    equal(published.status, 201, await published.clone().text());
    const [x0, y0, x1, y1] = [BOX[0] - 1, BOX[1] - 1, BOX[2] + 1, BOX[3] + 1];
    const job = (output_format: string) => ({
      spatial_operation: "point_in_polygon",
      dataset: "dense",
      output_format,
      geometry_payload: {
        type: "FeatureCollection",
        features: [{
          type: "Feature",
          id: "box",
          properties: {},
          geometry: { type: "Polygon", coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] },
        }],
      },
    });

    await t.step("GeoJSON", async () => {
      const status = await runJob(service, job("geojson"));
      equal(status.status, "COMPLETED", JSON.stringify(status));
      ok(status.progress.partitions_total > 1, `partitions ${status.progress.partitions_total}`);
      ok(status.result!.bytes > CHUNK, `${status.result!.bytes} bytes`);
      ok(/-\d+"?$/.test(status.result!.etag), `a multipart ETag: ${status.result!.etag}`);
      const response = await fetchResult(service, status.job_id);
      equal(response.status, 200);
      const body = await response.json();
      equal(body.features.length, POINTS);
      body.features.forEach(
        (f: { properties: { left_id: string; right_id: number }; geometry: unknown }, i: number) => {
          if (f.properties.right_id !== i + 1 || f.properties.left_id !== "box") {
            throw new Error(`row ${i}: ${JSON.stringify(f.properties)}`);
          }
        },
      );
      deepEqual(body.features[123].geometry, features[123]!.geometry);
    });

    await t.step("FlatGeobuf", async () => {
      const status = await runJob(service, job("flatgeobuf"));
      equal(status.status, "COMPLETED", JSON.stringify(status));
      ok(status.result!.bytes > CHUNK, `${status.result!.bytes} bytes`);
      const bytes = new Uint8Array(await (await fetchResult(service, status.job_id)).arrayBuffer());
      equal(bytes.length, status.result!.bytes);
      const rows = parseFlatGeobuf(bytes).features;
      equal(rows.length, POINTS);
      rows.forEach((row, i) => {
        if (row.id !== i + 1 || row.properties?.right_id !== i + 1 || row.properties?.left_id !== "box") {
          throw new Error(`row ${i}: ${row.id} ${JSON.stringify(row.properties)}`);
        }
      });
      deepEqual([...rows[77]!.geometry.xy], [xy[154], xy[155]]);
    });
  } finally {
    await service.stop("SIGTERM");
  }
});
