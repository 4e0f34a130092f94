/**
 * `output_format: "geoparquet"`: a GeoParquet 1.1 file that DuckDB (an independent Parquet reader, from npm)
 * reads: PostGIS's pairs in the result's order, zstd column chunks, WKB geometry, bbox covering columns and
 * `geo` metadata whose bbox is the rows' own. Debian's GDAL 3.6 has no Parquet driver and Debian has no pyarrow
 * package, so DuckDB is the reader here.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { startService } from "./harness.ts";
import { authHeaders, publishFixtures, readJsonFixture, runJob } from "./client.ts";

interface Pair {
  left_id: string | number;
  right_id: string | number;
  area: number;
  area_m2: number;
}

Deno.test("a geoparquet result is GeoParquet 1.1 that DuckDB reads: PostGIS's pairs in order, zstd, WKB, bbox covering", async () => {
  const service = await startService();
  const dir = await Deno.makeTempDir();
  try {
    await publishFixtures(service, ["counties", "grid"]);
    const status = await runJob(service, {
      spatial_operation: "polygon_intersection",
      left_dataset: "counties",
      dataset: "grid",
      output_format: "geoparquet",
    });
    equal(status.status, "COMPLETED", JSON.stringify(status));
    const response = await service.fetch(`/v1/jobs/${status.job_id}/result`, { headers: await authHeaders() });
    equal(response.status, 200);
    equal(response.headers.get("content-type"), "application/vnd.apache.parquet");
    const bytes = new Uint8Array(await response.arrayBuffer());
    equal(bytes.length, status.result!.bytes);
    const file = `${dir}/result.parquet`;
    await Deno.writeFile(file, bytes);

    const db = await DuckDBInstance.create(":memory:");
    const sql = await db.connect();
    const rows = async (query: string) => (await sql.runAndReadAll(query)).getRowObjectsJson();
    try {
      const pairs = await rows(`SELECT left_id, right_id, area, area_m2 FROM '${file}'`) as unknown as Pair[];
      const expected = await readJsonFixture<Pair[]>("postgis/polygon_intersection.json");
      equal(pairs.length, status.result!.feature_count);
      deepEqual(pairs.map((p) => `${p.left_id}|${p.right_id}`), expected.map((p) => `${p.left_id}|${p.right_id}`));
      pairs.forEach((p, i) => {
        const want = expected[i]!;
        ok(Math.abs(p.area - want.area) <= 1e-6 * want.area, `area of ${p.left_id}|${p.right_id}`);
        ok(Math.abs(p.area_m2 - want.area_m2) <= 1e-6 * want.area_m2, `area_m2 of ${p.left_id}|${p.right_id}`);
      });

      const [kv] = await rows(
        `SELECT decode(value) AS geo FROM parquet_kv_metadata('${file}') WHERE decode(key) = 'geo'`,
      );
      const geo = JSON.parse(String(kv!.geo));
      equal(geo.version, "1.1.0");
      equal(geo.primary_column, "geometry");
      const column = geo.columns.geometry;
      equal(column.encoding, "WKB");
      deepEqual(column.geometry_types, ["MultiPolygon", "Polygon"]);
      equal(column.crs.id.code, "CRS84");
      deepEqual(column.covering.bbox.xmin, ["bbox", "xmin"]);
      const [extent] = await rows(
        `SELECT min(bbox.xmin) AS xmin, min(bbox.ymin) AS ymin, max(bbox.xmax) AS xmax, max(bbox.ymax) AS ymax
         FROM '${file}'`,
      );
      deepEqual(column.bbox, [extent!.xmin, extent!.ymin, extent!.xmax, extent!.ymax].map(Number));

      // DuckDB reads the geo metadata itself: the column is a GEOMETRY; its bytes are little-endian WKB
      // (Polygon 3, MultiPolygon 6).
      const described = await rows(`DESCRIBE SELECT geometry FROM '${file}'`);
      equal(String(described[0]!.column_type), "GEOMETRY('OGC:CRS84')");
      await sql.run("SET enable_geoparquet_conversion = false");
      const [wkb] = await rows(
        `SELECT count(*) AS n FROM '${file}' WHERE left(hex(geometry), 10) IN ('0103000000', '0106000000')`,
      );
      equal(Number(wkb!.n), pairs.length);
      const chunks = await rows(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
      deepEqual(chunks.map((c) => c.compression), ["ZSTD"]);
    } finally {
      sql.closeSync();
    }
  } finally {
    await service.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});
