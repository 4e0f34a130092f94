/**
 * Inputs besides GeoJSON and FlatGeobuf, and coordinate systems, checked against GDAL (gdal-bin): the counties as
 * a zipped Shapefile, a GeoPackage (converted by the CLI's reader) and a CSV written by `ogr2ogr` publish as the
 * GeoJSON does; points in EPSG:27700 and in a UTM zone land where `ogr2ogr -t_srs EPSG:4326` puts them, and a job's
 * `output_crs` result is `ogr2ogr -t_srs` of its EPSG:4326 result.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { zipSync } from "fflate";
import { startService } from "./harness.ts";
import { boxPayload } from "../../scripts/lib/geojson_payloads.ts";
import {
  expectProblem,
  publish,
  readFixture,
  resultFeatures,
  runJob,
  settledSnapshot,
  stateChanges,
  stateSnapshot,
  submit,
} from "./client.ts";
import { ogr2ogr, zipShapefile } from "../gdal_tools.ts";
import { readGeoPackage } from "../../scripts/lib/geopackage.ts";
import { seededPoints } from "../../scripts/lib/seeded_random.ts";

const COUNTIES = new URL("../fixtures/inputs/counties_sample.geojson", import.meta.url).pathname;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

type Feature = { id?: string | number; properties: Record<string, unknown>; geometry: { coordinates: number[] } };
const readFeatures = (path: string) => (JSON.parse(Deno.readTextFileSync(path)) as { features: Feature[] }).features;

/** `count` seeded points in the lon/lat `box`, ids 1..count, written as GeoJSON to `path`. */
function writePoints(path: string, count: number, seed: number, box: [number, number, number, number]) {
  const xy = seededPoints(count, seed, box);
  const features = Array.from({ length: count }, (_, i) => ({
    type: "Feature",
    properties: { id: i + 1 },
    geometry: { type: "Point", coordinates: [xy[2 * i], xy[2 * i + 1]] },
  }));
  Deno.writeTextFileSync(path, JSON.stringify({ type: "FeatureCollection", features }));
}

/** A point_in_polygon job of one payload polygon over `box` against points dataset `dataset`: id → coordinates. */
async function pointsInBox(
  service: Awaited<ReturnType<typeof startService>>,
  dataset: string,
  box: [number, number, number, number],
  extra: Record<string, unknown> = {},
): Promise<Map<number, number[]>> {
  const status = await runJob(service, {
    spatial_operation: "point_in_polygon",
    dataset,
    geometry_payload: boxPayload(box),
    ...extra,
  });
  equal(status.status, "COMPLETED", JSON.stringify(status));
  const features = await resultFeatures(service, status.job_id);
  return new Map(features.map((f) => [Number(f.properties.right_id), f.geometry.coordinates as number[]]));
}

function expectNear(got: Map<number, number[]>, want: Map<number, number[]>, tolerance: number, what: string) {
  equal(got.size, want.size, `${what}: feature count`);
  let worst = 0;
  for (const [id, [x, y]] of want) {
    const p = got.get(id);
    ok(p, `${what}: point ${id} is in the result`);
    worst = Math.max(worst, Math.abs(p[0]! - x!), Math.abs(p[1]! - y!));
  }
  ok(worst <= tolerance, `${what}: coordinates differ by up to ${worst} (tolerance ${tolerance})`);
}

const byId = (features: Feature[]) =>
  new Map(features.map((f) => [Number(f.id ?? f.properties.id), f.geometry.coordinates]));

Deno.test("vector formats and coordinate systems publish as GDAL reads and reprojects them", async (t) => {
  const service = await startService();
  const dir = await Deno.makeTempDir({ prefix: "vector-formats-" });
  try {
    await t.step(
      "the counties as Shapefile, GeoPackage and CSV by ogr2ogr publish the GeoJSON's features",
      async () => {
        await ogr2ogr("-f", "ESRI Shapefile", `${dir}/counties.shp`, COUNTIES, "-lco", "ENCODING=UTF-8");
        await ogr2ogr("-f", "GPKG", `${dir}/counties.gpkg`, COUNTIES, "-nln", "counties");
        await ogr2ogr(
          "--config",
          "OGR_WKT_PRECISION",
          "17",
          "-f",
          "CSV",
          `${dir}/counties.csv`,
          COUNTIES,
          "-lco",
          "GEOMETRY=AS_WKT",
        );
        const gpkg = readGeoPackage(`${dir}/counties.gpkg`);
        const query = "classification=public&repair=true";
        const variants: [string, Uint8Array, string, string][] = [
          ["counties-json", await readFixture("inputs/counties_sample.geojson"), "application/geo+json", query],
          ["counties-shp", zipShapefile(dir, "counties"), "application/zip", query],
          ["counties-gpkg", json(gpkg.featureCollection), "application/geo+json", `${query}&crs=${gpkg.crs}`],
          ["counties-csv", Deno.readFileSync(`${dir}/counties.csv`), "text/csv", query],
        ];
        const manifests = [];
        for (const [name, body, contentType, q] of variants) {
          const response = await publish(service, name, body, { contentType, query: q });
          const manifest = await response.json();
          equal(response.status, 201, `${name}: ${JSON.stringify(manifest)}`);
          manifests.push(manifest);
        }
        const [reference, ...others] = manifests;
        for (const [i, m] of others.entries()) {
          const name = variants[i + 1]![0];
          equal(m.feature_count, 112, name);
          // ogr2ogr's CSV prints WKT with 15 significant digits: its bbox is the GeoJSON's to that precision.
          const off = Math.max(...m.bbox.map((v: number, k: number) => Math.abs(v - reference.bbox[k])));
          ok(off <= (name === "counties-csv" ? 1e-12 : 0), `${name}: bbox differs by ${off}`);
          deepEqual(m.geometry_types.toSorted(), reference.geometry_types.toSorted(), name);
          deepEqual(
            m.tiles.map((tile: { cell: string; feature_count: number }) => [tile.cell, tile.feature_count]),
            reference.tiles.map((tile: { cell: string; feature_count: number }) => [tile.cell, tile.feature_count]),
            name,
          );
        }
        // Same ids and geometries: each variant finds the same county for every point of the points fixture.
        const points = await publish(service, "points", await readFixture("inputs/points_sample.geojson"));
        equal(points.status, 201);
        await points.body?.cancel();
        const pairs = [];
        for (const [name] of variants) {
          const status = await runJob(service, {
            spatial_operation: "point_in_polygon",
            left_dataset: name,
            dataset: "points",
          });
          equal(status.status, "COMPLETED", JSON.stringify(status));
          pairs.push(
            (await resultFeatures(service, status.job_id)).map((f) => [f.properties.left_id, f.properties.right_id]),
          );
        }
        ok(pairs[0]!.length > 100, `${pairs[0]!.length} pairs`);
        for (const [i, p] of pairs.entries()) deepEqual(p, pairs[0], variants[i]![0]);
      },
    );

    const gbBox: [number, number, number, number] = [-7.5, 50.2, 1.6, 58.5];
    const utmBox: [number, number, number, number] = [12.2, 45.5, 17.8, 54.5];
    await t.step(
      "points in EPSG:27700 and EPSG:32633 (GeoJSON with ?crs=, Shapefile with .prj) equal ogr2ogr -t_srs EPSG:4326 to 1e-7°",
      async () => {
        for (
          const [label, crs, box, seed] of [["gb", "EPSG:27700", gbBox, 27700], [
            "utm",
            "EPSG:32633",
            utmBox,
            32633,
          ]] as const
        ) {
          writePoints(`${dir}/${label}_4326.geojson`, 300, seed, box);
          await ogr2ogr(
            "-f",
            "GeoJSON",
            `${dir}/${label}.geojson`,
            `${dir}/${label}_4326.geojson`,
            "-t_srs",
            crs,
            "-lco",
            "COORDINATE_PRECISION=6",
          );
          await ogr2ogr("-f", "ESRI Shapefile", `${dir}/${label}.shp`, `${dir}/${label}.geojson`);
          await ogr2ogr(
            "-f",
            "GeoJSON",
            `${dir}/${label}_back.geojson`,
            `${dir}/${label}.geojson`,
            "-t_srs",
            "EPSG:4326",
            "-lco",
            "COORDINATE_PRECISION=12",
          );
          const want = byId(readFeatures(`${dir}/${label}_back.geojson`));
          const asJson = await publish(service, `${label}-json`, Deno.readFileSync(`${dir}/${label}.geojson`), {
            query: `classification=public&crs=${crs}`,
          });
          equal(asJson.status, 201, await asJson.text());
          const asShp = await publish(service, `${label}-shp`, zipShapefile(dir, label), {
            contentType: "application/zip",
          });
          equal(asShp.status, 201, await asShp.text());
          const wide: [number, number, number, number] = [box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1];
          expectNear(await pointsInBox(service, `${label}-json`, wide), want, 1e-7, `${label} GeoJSON ?crs=${crs}`);
          expectNear(await pointsInBox(service, `${label}-shp`, wide), want, 1e-7, `${label} Shapefile .prj`);
        }
      },
    );

    await t.step("a job's output_crs result equals ogr2ogr -t_srs of its EPSG:4326 result (1e-7° ≈ 1 cm)", async () => {
      const wide: [number, number, number, number] = [gbBox[0] - 1, gbBox[1] - 1, gbBox[2] + 1, gbBox[3] + 1];
      const lonlat = await pointsInBox(service, "gb-json", wide);
      const features = [...lonlat].map(([id, coordinates]) => ({
        type: "Feature",
        properties: { id },
        geometry: { type: "Point", coordinates },
      }));
      Deno.writeTextFileSync(`${dir}/result_4326.geojson`, JSON.stringify({ type: "FeatureCollection", features }));
      for (const crs of ["EPSG:27700", "EPSG:32630"]) {
        await ogr2ogr(
          "-f",
          "GeoJSON",
          `${dir}/result_${crs.slice(5)}.geojson`,
          `${dir}/result_4326.geojson`,
          "-s_srs",
          "EPSG:4326",
          "-t_srs",
          crs,
          "-lco",
          "COORDINATE_PRECISION=6",
        );
        const want = byId(readFeatures(`${dir}/result_${crs.slice(5)}.geojson`));
        expectNear(await pointsInBox(service, "gb-json", wide, { output_crs: crs }), want, 0.01, `output_crs ${crs}`);
      }
    });

    await t.step("bad files and unknown codes are 422 problems naming the reason, and nothing is stored", async () => {
      const before = await settledSnapshot(service);
      const shp = zipShapefile(dir, "counties");
      const bad: [string, Uint8Array | string, string, string, RegExp][] = [
        ["a corrupt zip", shp.slice(0, shp.length >> 1), "application/zip", "", /cannot be read/],
        ["a zip without .dbf", zipShapefile(dir, "counties", ["shp", "shx", "prj"]), "application/zip", "", /no \.dbf/],
        ["a zip without .shp", zipSync({ "a.txt": new Uint8Array([1]) }), "application/zip", "", /no \.shp/],
        ["a CSV with bad WKT", "id,WKT\n1,POINT(1 2)\n2,POLYGON((0 0, 1\n", "text/csv", "", /row\[2\]/],
        ["an unknown ?crs=", "{}", "application/geo+json", "&crs=EPSG:999999", /EPSG:999999/],
      ];
      for (const [what, body, contentType, q, reason] of bad) {
        const response = await publish(service, "refused", body, { contentType, query: `classification=public${q}` });
        const problem = await expectProblem(response, 422);
        ok(reason.test(`${problem.detail} ${JSON.stringify(problem.errors)}`), `${what}: ${JSON.stringify(problem)}`);
      }
      for (
        const [field, value, reason] of [
          ["input_crs", "EPSG:999999", /EPSG:999999/],
          ["output_crs", "EPSG:123456789", /EPSG:123456789/],
        ] as const
      ) {
        const response = await submit(service, {
          spatial_operation: "point_in_polygon",
          left_dataset: "counties-json",
          dataset: "points",
          [field]: value,
        });
        const problem = await expectProblem(response, 422, [field]);
        ok(reason.test(JSON.stringify(problem.errors)), JSON.stringify(problem));
      }
      const parquet = await submit(service, {
        spatial_operation: "point_in_polygon",
        left_dataset: "counties-json",
        dataset: "points",
        output_format: "geoparquet",
        output_crs: "EPSG:27700",
      });
      await expectProblem(parquet, 422, ["output_crs"]);
      deepEqual(stateChanges(before, await stateSnapshot(service)), [], "nothing is stored");
    });
  } finally {
    await service.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
