/**
 * A result larger than one upload chunk streams to R2 as a multipart upload
 * (durable-objects/partition_ledger/commit.ts) merged from parts of several
 * slices and partitions: every row once, in order, in every format. GeoJSON
 * is stored gzip-compressed and served encoded or decoded as the client asks.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { startService } from "./harness.ts";
import { boxPayload, grownBox } from "../../scripts/lib/geojson_payloads.ts";
import { authHeaders, fetchResult, publishSeededPoints, runJob } from "./client.ts";
import { gunzipSync } from "node:zlib";
import { request } from "node:http";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import { DuckDBInstance } from "@duckdb/node-api";

const POINTS = 90_000;
const BOX = [-100, 38, -94, 41] as const;
const CHUNK = 5 * 2 ** 20;

Deno.test("a result over one chunk is committed as a multipart object: every row once, in order", async (t) => {
  const service = await startService({ vars: { RESULT_CHUNK_BYTES: String(CHUNK), PARTITION_GROUP_BYTES: "0" } });
  try {
    const xy = await publishSeededPoints(service, "dense", POINTS, 11, BOX);
    const job = (output_format: string) => ({
      spatial_operation: "point_in_polygon",
      dataset: "dense",
      output_format,
      geometry_payload: boxPayload(grownBox(BOX, 1)),
    });

    await t.step("GeoJSON, stored gzip-compressed", async () => {
      const status = await runJob(service, job("geojson"));
      equal(status.status, "COMPLETED", JSON.stringify(status));
      ok(status.progress.partitions_total > 1, `partitions ${status.progress.partitions_total}`);
      ok(status.result!.bytes > CHUNK, `${status.result!.bytes} bytes`);

      // As stored, to a client that accepts gzip: the status document's ETag, and a gzip of `bytes` bytes.
      const raw = await rawGet(service.url, `/v1/jobs/${status.job_id}/result`, {
        ...(await authHeaders()),
        "accept-encoding": "gzip",
      });
      equal(raw.status, 200);
      equal(raw.headers.get("content-encoding"), "gzip");
      equal(raw.headers.get("vary"), "Accept-Encoding");
      equal(raw.headers.get("etag"), status.result!.etag);
      ok(raw.body.length < status.result!.bytes / 3, `${raw.body.length} bytes stored for ${status.result!.bytes}`);
      const text = gunzipSync(raw.body);
      equal(text.length, status.result!.bytes);

      // Decoded for a client that does not (here by the runtime, which, like Cloudflare's front line, shows
      // the Worker "Accept-Encoding: br, gzip" whatever the client sent).
      const plain = await rawGet(service.url, `/v1/jobs/${status.job_id}/result`, {
        ...(await authHeaders()),
        "accept-encoding": "identity",
      });
      equal(plain.headers.get("content-encoding"), null);
      deepEqual(plain.body, new Uint8Array(text));
      const revalidated = await service.fetch(`/v1/jobs/${status.job_id}/result`, {
        headers: { ...(await authHeaders()), "if-none-match": `W/${status.result!.etag}` },
      });
      equal(revalidated.status, 304);

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
      deepEqual(body.features[123].geometry, { type: "Point", coordinates: [xy[246], xy[247]] });
    });

    await t.step("FlatGeobuf", async () => {
      const status = await runJob(service, job("flatgeobuf"));
      equal(status.status, "COMPLETED", JSON.stringify(status));
      ok(status.result!.bytes > CHUNK, `${status.result!.bytes} bytes`);
      ok(/-\d+"?$/.test(status.result!.etag), `a multipart ETag: ${status.result!.etag}`);
      const response = await fetchResult(service, status.job_id);
      equal(response.headers.get("content-encoding"), null, "FlatGeobuf is stored as is");
      const bytes = new Uint8Array(await response.arrayBuffer());
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

    await t.step("GeoParquet: row groups in result order, every row once, read by DuckDB", async () => {
      const status = await runJob(service, job("geoparquet"));
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const response = await fetchResult(service, status.job_id);
      const bytes = new Uint8Array(await response.arrayBuffer());
      equal(bytes.length, status.result!.bytes);
      const file = await Deno.makeTempFile({ suffix: ".parquet" });
      const db = await DuckDBInstance.create(":memory:");
      const sql = await db.connect();
      try {
        await Deno.writeFile(file, bytes);
        const groups = (await sql.runAndReadAll(`SELECT DISTINCT row_group_id FROM parquet_metadata('${file}')`))
          .getRows().length;
        // A row group holds at most 65,536 rows (geoparquet_encoder.ts GROUP_ROWS).
        ok(groups >= Math.ceil(POINTS / 65_536), `${groups} row groups`);
        await sql.run("SET enable_geoparquet_conversion = false");
        const rows = (await sql.runAndReadAll(`SELECT left_id, right_id, bbox.xmin, bbox.ymin FROM '${file}'`))
          .getRows();
        equal(rows.length, POINTS);
        rows.forEach(([l, r], i) => {
          if (l !== "box" || Number(r) !== i + 1) throw new Error(`row ${i}: ${l} ${r}`);
        });
        deepEqual(rows[77]!.slice(2), [xy[154], xy[155]]);
      } finally {
        sql.closeSync();
        await Deno.remove(file);
      }
    });
  } finally {
    await service.stop("SIGTERM");
  }
});

/** A GET whose body comes back exactly as sent (fetch would decode a gzip body). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("end", () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") out.set(name, value);
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let at = 0;
        for (const c of chunks) {
          body.set(c, at);
          at += c.length;
        }
        resolve({ status: res.statusCode ?? 0, headers: out, body });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
