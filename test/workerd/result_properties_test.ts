/**
 * `properties: {left, right}`: the named attributes of each side copied into every result row as
 * `left_<name>` / `right_<name>`, compared row for row with PostGIS's `SELECT l.id, r.id, l.name, …`
 * (test/fixtures/postgis/properties_*.json, scripts/fixtures/reference.sql) in each output format, read by
 * the tools GIS users have: GDAL (`ogrinfo`, `ogr2ogr`) for FlatGeobuf, DuckDB for GeoParquet.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { startService } from "./harness.ts";
import {
  authHeaders,
  expectProblem,
  fetchResult,
  publish,
  publishFixtures,
  readFixture,
  readJsonFixture,
  resultFeatures,
  runJob,
  submit,
} from "./client.ts";
import { compareRow, readAnswers } from "../unit/operations/zonal_fixtures.ts";

type Row = Record<string, string | number | null>;

const NAMES_JOB = {
  spatial_operation: "spatial_join",
  left_dataset: "counties",
  dataset: "counties",
  predicate: "intersects",
  properties: { left: ["name"], right: ["name"] },
};
const SPECIAL_JOB = {
  spatial_operation: "point_in_polygon",
  left_dataset: "counties",
  dataset: "points",
  properties: { left: ["name"], right: ["special"] },
};

/** Each row's listed columns, in order (a column a format leaves out for null reads as null). */
const pick = (rows: Record<string, unknown>[], columns: string[]): Row[] =>
  rows.map((row) => Object.fromEntries(columns.map((c) => [c, (row[c] ?? null) as Row[string]])));

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

Deno.test("a job's properties equal PostGIS's attribute columns row for row in GeoJSON, FlatGeobuf and GeoParquet", async (t) => {
  const service = await startService();
  const dir = await Deno.makeTempDir();
  try {
    await t.step("publish records each dataset's attributes and their types in its manifest", async () => {
      await publishFixtures(service, ["counties", "points"]);
      for (
        const [name, attributes] of [["counties", [{ name: "name", type: "string" }]], ["points", [{
          name: "special",
          type: "string",
        }]]] as const
      ) {
        const manifest = await (await service.fetch(`/v1/datasets/${name}`, { headers: await authHeaders() })).json();
        deepEqual(manifest.attributes, attributes, JSON.stringify(manifest));
      }
    });

    const names = await readJsonFixture<Row[]>("postgis/properties_spatial_join_counties_counties.json");
    const specials = await readJsonFixture<Row[]>("postgis/properties_point_in_polygon_counties_points.json");
    const nameColumns = ["left_id", "right_id", "left_name", "right_name"];
    const specialColumns = ["left_id", "right_id", "left_name", "right_special"];
    ok(specials.some((r) => r.right_special !== null) && specials.some((r) => r.right_special === null));

    await t.step(
      "GeoJSON: left_name/right_name and right_special (null where a point has none) as PostGIS",
      async () => {
        for (
          const [job, expected, columns] of [[NAMES_JOB, names, nameColumns], [
            SPECIAL_JOB,
            specials,
            specialColumns,
          ]] as const
        ) {
          const status = await runJob(service, job);
          equal(status.status, "COMPLETED", JSON.stringify(status));
          const features = await resultFeatures(service, status.job_id);
          deepEqual(pick(features.map((f) => f.properties), [...columns]), expected);
          // Every column is present in every row, null included.
          ok(features.every((f) => columns.every((c) => c in f.properties)));
        }
      },
    );

    await t.step(
      "FlatGeobuf: ogrinfo lists the attribute columns as String, ogr2ogr reads PostGIS's rows",
      async () => {
        const status = await runJob(service, { ...NAMES_JOB, output_format: "flatgeobuf" });
        equal(status.status, "COMPLETED", JSON.stringify(status));
        const file = `${dir}/names.fgb`;
        await Deno.writeFile(file, new Uint8Array(await (await fetchResult(service, status.job_id)).arrayBuffer()));
        const info = await run("ogrinfo", ["-ro", "-so", "-al", file]);
        ok(/^left_name: String/m.test(info) && /^right_name: String/m.test(info), info);
        const geojson = JSON.parse(await run("ogr2ogr", ["-f", "GeoJSON", "/vsistdout/", file]));
        deepEqual(pick(geojson.features.map((f: { properties: Row }) => f.properties), nameColumns), names);
      },
    );

    await t.step("GeoParquet: DuckDB reads the attribute columns (VARCHAR, nulls kept) as PostGIS's rows", async () => {
      const status = await runJob(service, { ...SPECIAL_JOB, output_format: "geoparquet" });
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const file = `${dir}/specials.parquet`;
      await Deno.writeFile(file, new Uint8Array(await (await fetchResult(service, status.job_id)).arrayBuffer()));
      const db = await DuckDBInstance.create(":memory:");
      const sql = await db.connect();
      try {
        const read = async (query: string) => (await sql.runAndReadAll(query)).getRowObjectsJson();
        const rows = await read(`SELECT ${specialColumns.join(", ")} FROM '${file}'`);
        deepEqual(pick(rows, specialColumns).map((r) => ({ ...r, right_id: Number(r.right_id) })), specials);
        const types = await read(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${file}')`);
        deepEqual(
          types.filter((c) =>
            String(c.column_name).startsWith("left_n") || String(c.column_name).startsWith("right_s")
          ),
          [{ column_name: "left_name", column_type: "VARCHAR" }, {
            column_name: "right_special",
            column_type: "VARCHAR",
          }],
        );
      } finally {
        sql.closeSync();
      }
    });

    await t.step("a payload's properties are known at submit: numbers and booleans keep their types", async () => {
      const square = (x: number) => ({
        type: "Polygon",
        coordinates: [[[x, 38], [x + 1, 38], [x + 1, 39], [x, 39], [x, 38]]],
      });
      const status = await runJob(service, {
        spatial_operation: "spatial_join",
        geometry_payload: {
          type: "FeatureCollection",
          features: [
            { type: "Feature", id: "a", properties: { rank: 1, share: 0.5, open: true }, geometry: square(-105) },
            { type: "Feature", id: "b", properties: { rank: 2, open: false }, geometry: square(-104) },
          ],
        },
        dataset: "counties",
        properties: { left: ["rank", "share", "open"], right: ["name"] },
        output_format: "geoparquet",
      });
      equal(status.status, "COMPLETED", JSON.stringify(status));
      const file = `${dir}/payload.parquet`;
      await Deno.writeFile(file, new Uint8Array(await (await fetchResult(service, status.job_id)).arrayBuffer()));
      const db = await DuckDBInstance.create(":memory:");
      const sql = await db.connect();
      try {
        const types = (await sql.runAndReadAll(`DESCRIBE SELECT left_rank, left_share, left_open FROM '${file}'`))
          .getRowObjectsJson().map((c) => c.column_type);
        deepEqual(types, ["BIGINT", "DOUBLE", "BOOLEAN"]);
        const rows = (await sql.runAndReadAll(
          `SELECT DISTINCT left_id, left_rank, left_share, left_open FROM '${file}' ORDER BY left_id`,
        )).getRowObjectsJson();
        deepEqual(rows, [
          { left_id: "a", left_rank: "1", left_share: 0.5, left_open: true },
          { left_id: "b", left_rank: "2", left_share: null, left_open: false },
        ]);
      } finally {
        sql.closeSync();
      }
    });

    await t.step("an unknown attribute name is a 422 naming it, and no job is made", async () => {
      const before = await service.stateFingerprint();
      const problem = await expectProblem(
        await submit(service, { ...NAMES_JOB, properties: { left: ["name"], right: ["nmae"] } }),
        422,
        ["properties.right.0"],
      );
      ok(problem.errors!.some((e) => e.message.includes('"nmae"')), JSON.stringify(problem));
      await expectProblem(
        await submit(service, { ...NAMES_JOB, properties: { left: ["id"] } }),
        422,
        ["properties.left.0"],
      );
      equal(await service.stateFingerprint(), before);
    });
  } finally {
    await service.stop("SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zonal_statistics copies the left polygons' properties beside rasterio's statistics; a right name is a 422", async () => {
  const service = await startService();
  try {
    const raster = await publish(service, "elev", await readFixture("raster/elev.tif"), {
      contentType: "image/tiff",
      query: "kind=raster&classification=public",
    });
    equal(raster.status, 201, await raster.clone().text());
    await raster.body?.cancel();
    const cantons = await readJsonFixture<{ features: { id: number; properties: { name: string } }[] }>(
      "raster/lux_cantons.geojson",
    );
    const job = {
      spatial_operation: "zonal_statistics",
      dataset: "elev",
      geometry_payload: cantons,
      properties: { left: ["name"] },
    };
    const status = await runJob(service, job);
    equal(status.status, "COMPLETED", JSON.stringify(status));
    const rows = (await resultFeatures(service, status.job_id)).map((f) =>
      f.properties as unknown as Record<string, number | string | null>
    );
    const answers = await readAnswers("elev.lux_cantons.center.json");
    const names = new Map(cantons.features.map((f) => [f.id, f.properties.name]));
    deepEqual(
      rows.map((r) => [r.left_id, r.left_name]),
      answers.map((a) => [a.left_id, names.get(a.left_id as number)]),
    );
    deepEqual(rows.flatMap((r, k) => compareRow(r as Parameters<typeof compareRow>[0], answers[k]!, true)), []);
    await expectProblem(
      await submit(service, { ...job, properties: { right: ["elevation"] } }),
      422,
      ["properties.right.0"],
    );
  } finally {
    await service.stop("SIGTERM");
  }
});
