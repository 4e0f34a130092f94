import { equal, ok } from "node:assert/strict";
import {
  crsBounds,
  crsFromWkt,
  flatGeometryToWgs84,
  fromWgs84InPlace,
  geoJsonCoordinatesToWgs84,
  isSupportedCrs,
  projectionDomain,
  toWgs84InPlace,
  WEB_MERCATOR_EXTENT,
} from "../../../../shared/contract/crs.ts";

const R = 6378137;
const near = (a: number, b: number, tol = 1e-9) => ok(Math.abs(a - b) <= tol, `${a} != ${b} (±${tol})`);

Deno.test("isSupportedCrs accepts any EPSG code of the definition set and refuses unknown or grid-bound ones", () => {
  for (const code of ["EPSG:4326", "EPSG:3857", "EPSG:27700", "EPSG:32618", "EPSG:2263", "EPSG:3035", "EPSG:2056"]) {
    ok(isSupportedCrs(code), code);
  }
  for (const code of ["EPSG:999999", "EPSG:0", "epsg:4326", "WGS84", "", "EPSG:4326 "]) ok(!isSupportedCrs(code), code);
  equal(crsBounds("EPSG:3857")[2], WEB_MERCATOR_EXTENT);
  equal(crsBounds("EPSG:4269")[2], 180);
});

/** PROJ's answer (cs2cs, proj-bin) for `points` from `crs` to `target` (lon/lat). */
async function cs2cs(crs: string, target: string, points: number[][]): Promise<number[][]> {
  const child = new Deno.Command("cs2cs", {
    args: ["-f", "%.12f", crs, target],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(points.map((p) => `${p[0]} ${p[1]}\n`).join("")));
  await writer.close();
  const out = new TextDecoder().decode((await child.output()).stdout);
  return out.trim().split("\n").map((line) => line.split(/\s+/).slice(0, 2).map(Number));
}

// PROJ picks the best datum operation it knows where proj4 applies the definition's towgs84: for NAD83 (none in
// its definition) PROJ applies a ~1 m "to WGS 84" Helmert, so EPSG:2263 is compared in NAD83's own lon/lat.
Deno.test("projected EPSG codes convert to lon/lat as PROJ's cs2cs does, to 1e-7 degrees", async () => {
  const cases: [string, string, number[][]][] = [
    ["EPSG:27700", "OGC:CRS84", [[530000, 180000], [326000, 674000], [140000, 30000]]],
    ["EPSG:32618", "OGC:CRS84", [[583960, 4507523], [300000, 4000000]]],
    ["EPSG:2263", "OGC:CRS83", [[988000, 210000], [1050000, 180000]]],
    ["EPSG:32733", "OGC:CRS84", [[500000, 8000000], [300000, 6500000]]],
  ];
  for (const [crs, target, points] of cases) {
    const ours = toWgs84InPlace(new Float64Array(points.flat()), crs as "EPSG:27700");
    const proj = await cs2cs(crs, target, points);
    proj.forEach(([lon, lat], i) => {
      near(ours[2 * i]!, lon!, 1e-7);
      near(ours[2 * i + 1]!, lat!, 1e-7);
    });
  }
});

Deno.test("crsFromWkt takes a WKT's EPSG authority, ESRI's WGS 84 as EPSG:4326, and reads other WKT with proj4", () => {
  equal(crsFromWkt('PROJCS["x",GEOGCS["y"],AUTHORITY["EPSG","32618"]]'), "EPSG:32618");
  equal(
    crsFromWkt(
      'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]',
    ),
    "EPSG:4326",
  );
  const esriBng = 'PROJCS["British_National_Grid",GEOGCS["GCS_OSGB_1936",DATUM["D_OSGB_1936",' +
    'SPHEROID["Airy_1830",6377563.396,299.3249646]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],' +
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",400000.0],PARAMETER["False_Northing",-100000.0],' +
    'PARAMETER["Central_Meridian",-2.0],PARAMETER["Scale_Factor",0.9996012717],PARAMETER["Latitude_Of_Origin",49.0],' +
    'UNIT["Meter",1.0]]';
  const viaWkt = toWgs84InPlace(new Float64Array([530000, 180000]), crsFromWkt(esriBng));
  const viaCode = toWgs84InPlace(new Float64Array([530000, 180000]), "EPSG:27700");
  near(viaWkt[0]!, viaCode[0]!, 1e-7);
  near(viaWkt[1]!, viaCode[1]!, 1e-7);
});

Deno.test("EPSG:3857 → 4326 matches the spherical Mercator inverse to 1e-9 for a known point (Times Square)", () => {
  const lon = -73.985130, lat = 40.758896;
  // Forward spherical Mercator, computed independently.
  const x = R * lon * Math.PI / 180;
  const y = R * Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360));
  const xy = toWgs84InPlace(new Float64Array([x, y]), "EPSG:3857");
  near(xy[0]!, lon);
  near(xy[1]!, lat);
});

Deno.test("EPSG:4326 → 3857 → 4326 round-trips to 1e-9 in bulk", () => {
  const pts = new Float64Array([0, 0, 179.999, 85, -179.999, -85, 12.5, 41.9, -0.1276, 51.5072]);
  const merc = fromWgs84InPlace(pts.slice(), "EPSG:3857");
  near(merc[2]!, R * 179.999 * Math.PI / 180, 1e-6);
  const back = toWgs84InPlace(merc, "EPSG:3857");
  for (let i = 0; i < pts.length; i++) near(back[i]!, pts[i]!);
});

Deno.test("toWgs84InPlace clamps overshoot at the world's edge to exactly ±180", () => {
  const xy = toWgs84InPlace(new Float64Array([WEB_MERCATOR_EXTENT, 0, -WEB_MERCATOR_EXTENT, 0]), "EPSG:3857");
  equal(xy[0], 180);
  equal(xy[2], -180);
});

Deno.test("toWgs84InPlace leaves a position outside the projection's domain outside the world", () => {
  const xy = toWgs84InPlace(new Float64Array([1e9, 5e6]), "EPSG:32633");
  ok(!(Math.abs(xy[0]!) <= 180 && Math.abs(xy[1]!) <= 90), `${xy[0]}, ${xy[1]}`);
});

Deno.test("projectionDomain tests a projected CRS's positions and leaves exact ranges and unknown codes alone", () => {
  const utm = projectionDomain("EPSG:32633")!;
  ok(utm(500000, 5000000));
  ok(!utm(1e9, 5000000));
  for (const code of ["EPSG:4326", "EPSG:3857", "EPSG:0", "EPSG:999999"] as const) {
    equal(projectionDomain(code), undefined);
  }
});

Deno.test("geoJsonCoordinatesToWgs84 converts nested coordinates in place and keeps z", () => {
  const coords = [[[0, 0, 7], [R * Math.PI / 2, 0, 8]]];
  geoJsonCoordinatesToWgs84(coords, "EPSG:3857");
  near(coords[0]![1]![0]!, 90);
  equal(coords[0]![0]![2], 7);
});

Deno.test("flatGeometryToWgs84 converts MultiPolygon parts", () => {
  const g = flatGeometryToWgs84({
    kind: "MultiPolygon",
    xy: new Float64Array(0),
    parts: [{ kind: "Polygon", xy: new Float64Array([R * Math.PI, 0, 0, 0, 0, 1e5, R * Math.PI, 0]) }],
  }, "EPSG:3857");
  equal(g.parts![0]!.xy[0], 180);
});
