/**
 * Multipart uploads of rasters (`POST /v1/datasets/{name}/uploads?kind=raster`) against real workerd and R2:
 * parts are byte ranges of one GeoTIFF, assembled by R2's own multipart upload and checked at complete.
 *
 * The GeoTIFF is written here by gdal_translate (gdal-bin): the committed `elev_float64_nan.tif` (NaN nodata)
 * repeated as 160 bands, uncompressed and band-interleaved in 32 × 32 tiles, so it is 11.8 MB (R2 parts are at
 * least 5 MiB) and band 160's tiles lie in the last part while the header lies in the first. Every band holds
 * the same pixels, so every band's answers are rasterio's committed answers for the source file.
 */
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { startService } from "./harness.ts";
import { authHeaders, expectProblem, resultFeatures, runJob, stateChanges, stateSnapshot } from "./client.ts";
import { compareRow, readAnswers, readFixtureFeatures } from "../unit/operations/zonal_fixtures.ts";

type Service = Awaited<ReturnType<typeof startService>>;

const MIB = 1024 * 1024;
const BANDS = 160;

async function multibandTiff(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "raster-upload-" });
  try {
    const out = `${dir}/elev_x${BANDS}.tif`;
    const source = new URL("../fixtures/raster/elev_float64_nan.tif", import.meta.url).pathname;
    const bands = Array.from({ length: BANDS }, () => ["-b", "1"]).flat();
    const run = await new Deno.Command("gdal_translate", {
      args: ["-q", "-co", "COMPRESS=NONE", "-co", "INTERLEAVE=BAND", "-co", "TILED=YES", "-co", "BLOCKXSIZE=32"]
        .concat(["-co", "BLOCKYSIZE=32", ...bands, source, out]),
    }).output();
    equal(run.code, 0, new TextDecoder().decode(run.stderr));
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function call(service: Service, method: string, path: string, body?: Uint8Array, type = "image/tiff") {
  return await service.fetch(path, {
    method,
    headers: { ...(await authHeaders()), ...(body ? { "content-type": type } : {}) },
    ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}),
  });
}

async function openRaster(service: Service, name: string): Promise<string> {
  const response = await call(service, "POST", `/v1/datasets/${name}/uploads?kind=raster&classification=public`);
  const created = await response.json();
  equal(response.status, 201, JSON.stringify(created));
  return created.upload_id;
}

/** Sends `bytes` as parts of `partBytes` (the last one shorter), in reverse order to show order does not matter. */
async function putParts(service: Service, name: string, id: string, bytes: Uint8Array, partBytes: number) {
  const count = Math.ceil(bytes.length / partBytes);
  for (let n = count; n >= 1; n--) {
    const part = bytes.subarray((n - 1) * partBytes, Math.min(bytes.length, n * partBytes));
    const response = await call(service, "PUT", `/v1/datasets/${name}/uploads/${id}/parts/${n}`, part);
    deepEqual(await response.json(), { n, bytes: part.length });
  }
}

async function completeAndWait(service: Service, name: string, id: string) {
  const response = await call(service, "POST", `/v1/datasets/${name}/uploads/${id}/complete`);
  ok(response.status === 202 || response.status === 200, await response.clone().text());
  await response.body?.cancel();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await (await call(service, "GET", `/v1/datasets/${name}/uploads/${id}`)).json();
    if (status.state !== "COMPLETING" || Date.now() > deadline) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The R2 object bodies in the service's state (files that are not SQLite databases). */
function objectBodies(snapshot: Map<string, string>): Map<string, string> {
  return new Map([...snapshot].filter(([path]) => !/\.sqlite(-\w+)?$/.test(path)));
}

/** Miniflare deletes R2 bodies in the background: waits until they match `before`. */
async function waitForBodies(service: Service, before: Map<string, string>): Promise<string[]> {
  for (let i = 0;; i++) {
    const changes = stateChanges(objectBodies(before), objectBodies(await stateSnapshot(service)));
    if (changes.length === 0 || i === 50) return changes;
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("a raster published in byte-range parts through R2 multipart answers zonal_statistics like rasterio", async () => {
  const tiff = await multibandTiff();
  ok(tiff.length > 2 * 5 * MIB);
  const service = await startService();
  try {
    const id = await openRaster(service, "elev160");
    await putParts(service, "elev160", id, tiff, 5 * MIB);
    const status = await completeAndWait(service, "elev160", id);
    equal(status.state, "COMPLETED", JSON.stringify(status));
    deepEqual(status.parts, [{ n: 1, bytes: 5 * MIB }, { n: 2, bytes: 5 * MIB }, {
      n: 3,
      bytes: tiff.length - 10 * MIB,
    }]);
    equal(status.manifest.kind, "raster");
    equal(status.manifest.bytes, tiff.length);
    equal(status.manifest.bands.length, BANDS);
    deepEqual(status.manifest.bands[BANDS - 1], { data_type: "float64", nodata: "nan" });
    deepEqual([status.manifest.width, status.manifest.height], [95, 90]);
    equal(status.manifest.key, undefined);

    const features = await readFixtureFeatures("lux_cantons.geojson");
    for (const [band, rule] of [[1, "center"], [BANDS, "center"], [BANDS, "coverage"]] as const) {
      const done = await runJob(service, {
        spatial_operation: "zonal_statistics",
        geometry_payload: { type: "FeatureCollection", features: features.map((f) => ({ ...f, type: "Feature" })) },
        dataset: "elev160",
        band,
        pixel_rule: rule,
      });
      equal(done.status, "COMPLETED", JSON.stringify(done));
      const rows = (await resultFeatures(service, done.job_id)).map((f) => f.properties);
      const want = await readAnswers(`elev_float64_nan.lux_cantons.${rule}.json`);
      equal(rows.length, want.length);
      const problems = want.flatMap((w, k) =>
        compareRow(rows[k] as unknown as Parameters<typeof compareRow>[0], w, rule === "center").map((p) =>
          `${w.left_id}: ${p}`
        )
      );
      deepEqual(problems, [], `band ${band} ${rule}`);
    }

    // The same answers as GeoParquet, read by DuckDB (an independent reader).
    const done = await runJob(service, {
      spatial_operation: "zonal_statistics",
      geometry_payload: { type: "FeatureCollection", features: features.map((f) => ({ ...f, type: "Feature" })) },
      dataset: "elev160",
      band: BANDS,
      output_format: "geoparquet",
    });
    equal(done.status, "COMPLETED", JSON.stringify(done));
    const response = await service.fetch(`/v1/jobs/${done.job_id}/result`, { headers: await authHeaders() });
    const file = await Deno.makeTempFile({ suffix: ".parquet" });
    try {
      await Deno.writeFile(file, new Uint8Array(await response.arrayBuffer()));
      const db = await DuckDBInstance.create(":memory:");
      const sql = await db.connect();
      const rows = (await sql.runAndReadAll(
        `SELECT left_id, count, sum, mean, min, max, stddev FROM '${file}'`,
      )).getRowObjectsJson();
      sql.closeSync();
      const want = await readAnswers("elev_float64_nan.lux_cantons.center.json");
      equal(rows.length, want.length);
      const problems = want.flatMap((w, k) =>
        compareRow(
          Object.fromEntries(
            Object.entries(rows[k]!).map(([c, v]) => [c, c === "left_id" || v === null ? v : Number(v)]),
          ) as unknown as Parameters<typeof compareRow>[0],
          w,
          true,
        ).map((p) => `${w.left_id}: ${p}`)
      );
      deepEqual(problems, [], "geoparquet");
    } finally {
      await Deno.remove(file);
    }
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("a multipart raster that is not a georeferenced TIFF ends FAILED with the reason, keeping nothing", async () => {
  const tiff = await multibandTiff();
  const service = await startService();
  try {
    const before = await stateSnapshot(service);
    // The same bytes with the TIFF magic broken: R2 assembles them, the check at complete refuses them.
    const broken = tiff.slice();
    broken[2] = 0x2b;
    broken[3] = 0x2b;
    const id = await openRaster(service, "broken");
    await putParts(service, "broken", id, broken, 5 * MIB);
    const status = await completeAndWait(service, "broken", id);
    equal(status.state, "FAILED", JSON.stringify(status));
    match(status.error, /^The body is not a readable TIFF file: /);
    equal(status.manifest, undefined);
    await expectProblem(await call(service, "GET", "/v1/datasets/broken"), 404);
    deepEqual(await waitForBodies(service, before), []);
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("a raster upload refuses parts R2 cannot assemble with 422 at complete and stays OPEN; abort keeps nothing", async () => {
  const tiff = await multibandTiff();
  const service = await startService();
  try {
    const before = await stateSnapshot(service);
    const id = await openRaster(service, "uneven");
    await putParts(service, "uneven", id, tiff.subarray(0, 6 * MIB), 3 * MIB);
    ok(stateChanges(objectBodies(before), objectBodies(await stateSnapshot(service))).length >= 2, "parts stored");
    await expectProblem(await call(service, "POST", `/v1/datasets/uneven/uploads/${id}/complete`), 422, ["parts"]);
    equal((await (await call(service, "GET", `/v1/datasets/uneven/uploads/${id}`)).json()).state, "OPEN");
    await expectProblem(
      await call(
        service,
        "PUT",
        `/v1/datasets/uneven/uploads/${id}/parts/3`,
        new TextEncoder().encode("{}"),
        "application/json",
      ),
      415,
    );
    const aborted = await call(service, "DELETE", `/v1/datasets/uneven/uploads/${id}`);
    equal((await aborted.json()).state, "ABORTED");
    deepEqual(await waitForBodies(service, before), []);
    await expectProblem(
      await call(service, "PUT", `/v1/datasets/uneven/uploads/${id}/parts/1`, tiff.subarray(0, 10)),
      409,
    );
  } finally {
    await service.stop("SIGTERM");
  }
});
