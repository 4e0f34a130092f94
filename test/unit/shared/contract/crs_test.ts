import { equal, ok } from "node:assert/strict";
import {
  crsBounds,
  flatGeometryToWgs84,
  fromWgs84InPlace,
  geoJsonCoordinatesToWgs84,
  isSupportedCrs,
  SUPPORTED_CRS,
  toWgs84InPlace,
  WEB_MERCATOR_EXTENT,
} from "../../../../shared/contract/crs.ts";

const R = 6378137;
const near = (a: number, b: number, tol = 1e-9) => ok(Math.abs(a - b) <= tol, `${a} != ${b} (±${tol})`);

Deno.test("SUPPORTED_CRS lists EPSG:4326 and EPSG:3857", () => {
  ok(SUPPORTED_CRS.includes("EPSG:4326") && SUPPORTED_CRS.includes("EPSG:3857"));
  ok(isSupportedCrs("EPSG:3857"));
  ok(!isSupportedCrs("EPSG:2263"));
  equal(crsBounds("EPSG:3857")[2], WEB_MERCATOR_EXTENT);
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
