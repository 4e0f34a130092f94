import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { zipSync } from "fflate";
import { readShapefile } from "../../../../src/datasets/formats/shapefile.ts";
import { readCsv } from "../../../../src/datasets/formats/csv.ts";
import { readGeoPackage } from "../../../../scripts/lib/geopackage.ts";
import { ValidationError } from "../../../../shared/problem.ts";
import { maxCoordinateDifference, normalGeometry, ogr2ogr, zipShapefile } from "../../../gdal_tools.ts";

const COUNTIES = new URL("../../../fixtures/inputs/counties_sample.geojson", import.meta.url).pathname;

interface Feature {
  id?: string | number;
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
}

/** The counties as the service identifies them: id → {properties without id, normalized geometry}. */
function byId(features: Feature[]): Map<string, { properties: Record<string, unknown>; geometry: unknown }> {
  return new Map(features.map((f) => {
    const { id, ...properties } = f.properties;
    return [String(f.id ?? id), { properties, geometry: normalGeometry(f.geometry) }];
  }));
}

const reference = byId((JSON.parse(Deno.readTextFileSync(COUNTIES)) as { features: Feature[] }).features);

type Counties = ReturnType<typeof byId>;

/** The ids whose geometry differs between `read` and `expected` by more than `tolerance`; properties must be equal. */
function differences(read: Counties, expected: Counties, tolerance: number): string[] {
  equal(read.size, expected.size);
  const differ: string[] = [];
  for (const [id, want] of expected) {
    const got = read.get(id);
    ok(got, `county ${id} is read`);
    deepEqual(got.properties, want.properties, id);
    if (!(maxCoordinateDifference(got.geometry, want.geometry) <= tolerance)) differ.push(id);
  }
  return differ;
}

function expectSameCounties(features: Feature[], tolerance: number) {
  const read = byId(features);
  equal(read.size, reference.size);
  for (const [id, expected] of reference) {
    const got = read.get(id);
    ok(got, `county ${id} is read`);
    deepEqual(got.properties, expected.properties, id);
    const difference = maxCoordinateDifference(got.geometry, expected.geometry);
    ok(difference <= tolerance, `county ${id}: coordinates differ by ${difference}`);
  }
}

const dir = Deno.makeTempDirSync({ prefix: "vector-files-" });
await ogr2ogr("-f", "ESRI Shapefile", `${dir}/counties.shp`, COUNTIES, "-lco", "ENCODING=UTF-8");
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
await ogr2ogr("-f", "GPKG", `${dir}/counties.gpkg`, COUNTIES, "-nln", "counties");

Deno.test("a zipped Shapefile written by ogr2ogr reads as the same counties as the GeoJSON, and as GDAL reads it back", async () => {
  const file = readShapefile(zipShapefile(dir, "counties"));
  equal(file.crs, "EPSG:4326");
  const read = byId((file.featureCollection as { features: Feature[] }).features);
  await ogr2ogr("-f", "GeoJSON", `${dir}/counties_from_shp.geojson`, `${dir}/counties.shp`);
  const gdal = byId(
    (JSON.parse(Deno.readTextFileSync(`${dir}/counties_from_shp.geojson`)) as { features: Feature[] }).features,
  );
  deepEqual(differences(read, gdal, 0), [], "as GDAL reads the Shapefile, coordinates exact");
  // A Shapefile cannot tell a zero-area ring (08005's second polygon is one point four times) from a hole, so six
  // counties with such rings come back as GDAL itself reads them back; every other county is the GeoJSON's, exactly.
  const roundTrip = differences(gdal, reference, 0);
  deepEqual(differences(read, reference, 0), roundTrip);
  ok(roundTrip.length <= 6 && roundTrip.includes("08005"), roundTrip.join());
});

Deno.test("a GeoPackage written by ogr2ogr reads as the same counties as the GeoJSON, its srs giving the CRS", () => {
  const layer = readGeoPackage(`${dir}/counties.gpkg`);
  equal(layer.crs, "EPSG:4326");
  expectSameCounties(layer.featureCollection.features as Feature[], 0);
});

Deno.test("a CSV with ogr2ogr's WKT column (17 digits) reads as the same counties as the GeoJSON, exactly", () => {
  const file = readCsv(Deno.readFileSync(`${dir}/counties.csv`), {});
  expectSameCounties((file.featureCollection as { features: Feature[] }).features, 0);
});

Deno.test("a CSV with lon/lat columns reads as points", () => {
  const csv = "id,name,longitude,latitude\n1,a,-105.5,39.25\n2,b,-104,40\n";
  const file = readCsv(new TextEncoder().encode(csv), {});
  deepEqual((file.featureCollection as { features: Feature[] }).features[0], {
    type: "Feature",
    geometry: { type: "Point", coordinates: [-105.5, 39.25] },
    properties: { id: "1", name: "a" },
  });
});

const rejects = (fn: () => unknown, pattern: RegExp) =>
  throws(fn, (e: unknown) => e instanceof ValidationError && pattern.test(`${e.message} ${JSON.stringify(e.errors)}`));

Deno.test("a corrupt zip, a zip without .shp or without .dbf, and a truncated .shp are refused naming the reason", () => {
  const good = zipShapefile(dir, "counties");
  rejects(() => readShapefile(good.slice(0, good.length >> 1)), /cannot be read/);
  rejects(() => readShapefile(zipShapefile(dir, "counties", ["dbf", "prj"])), /no \.shp/);
  rejects(() => readShapefile(zipShapefile(dir, "counties", ["shp", "shx", "prj"])), /no \.dbf/);
  const shp = Deno.readFileSync(`${dir}/counties.shp`);
  const dbf = Deno.readFileSync(`${dir}/counties.dbf`);
  rejects(() => readShapefile(zipSync({ "c.shp": shp.slice(0, 3000), "c.dbf": dbf })), /\.shp|shapes|records/);
});

Deno.test("a CSV with bad WKT, no geometry column or a non-numeric longitude is refused naming the row", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  rejects(() => readCsv(enc("id,WKT\n1,POINT(1 2)\n2,POLYGON((0 0,1 1\n"), {}), /row\[2\]/);
  rejects(() => readCsv(enc("id,name\n1,a\n"), {}), /no geometry column/);
  rejects(() => readCsv(enc("id,lon,lat\n1,east,2\n"), {}), /row\[1\].*numbers/);
  rejects(() => readCsv(enc("id,WKT\n1,POINT(1 2)\n"), { wkt_column: "geom" }), /no column "geom"/);
});
