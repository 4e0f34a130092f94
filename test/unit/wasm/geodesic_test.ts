import { equal, ok } from "node:assert/strict";
import { geodesicArea, pointDistance } from "../../../wasm/mod.ts";
import { loadCoreForTests, polygon, square } from "./load_core.ts";

const core = await loadCoreForTests();
const A = 6378137, F = 1 / 298.257223563, E2 = F * (2 - F), E = Math.sqrt(E2), B = A * (1 - F);

/** Area of the ellipsoidal zone between two parallels, over `dLon` degrees (closed form, parallels as edges). */
function zoneArea(lat1: number, lat2: number, dLon: number): number {
  const q = (lat: number) => {
    const s = Math.sin((lat * Math.PI) / 180);
    return s / (1 - E2 * s * s) + Math.log((1 + E * s) / (1 - E * s)) / (2 * E);
  };
  return ((dLon * Math.PI) / 180) * (B * B / 2) * (q(lat2) - q(lat1));
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

Deno.test("the geodesic area of the 1°×1° cell at the equator is PostGIS's 12,308,778,361.47 m²", () => {
  using cell = core.fromFlat(polygon(square(0, 0)));
  const area = cell.geodesicArea();
  ok(Math.abs(area - 12_308_778_361.47) < 1, `${area}`);
  // Independent check: the zone between the parallels 0° and 1° (the geodesic top edge bulges ~4 m north).
  ok(relative(area, zoneArea(0, 1, 1)) < 1e-4, `${area} vs zone ${zoneArea(0, 1, 1)}`);
});

Deno.test("geodesic area ignores ring orientation and subtracts holes", () => {
  const cw = polygon(square(10, 40).reverse());
  const ccw = polygon(square(10, 40));
  equal(geodesicArea(cw), geodesicArea(ccw));
  const outer = square(10, 40, 2);
  const hole = [[10.5, 40.5], [10.5, 41.5], [11.5, 41.5], [11.5, 40.5], [10.5, 40.5]];
  const withHole = geodesicArea(polygon(outer, hole));
  const expected = geodesicArea(polygon(outer)) - geodesicArea(polygon(hole));
  ok(relative(withHole, expected) < 1e-12);
  ok(relative(geodesicArea(polygon(outer)), zoneArea(40, 42, 2)) < 1e-3);
});

Deno.test("a degree of longitude on the equator is a·π/180 = 111,319.49 m and dwithin splits at it", () => {
  const d = pointDistance(0, 0, 1, 0);
  ok(Math.abs(d - (A * Math.PI) / 180) < 1e-6, `${d}`);
  using p = core.fromFlat({ kind: "Point", xy: new Float64Array([0, 0]) });
  using q = core.fromFlat({ kind: "Point", xy: new Float64Array([1, 0]) });
  ok(core.dwithin(p, q, 111_320));
  ok(!core.dwithin(p, q, 111_319));
});

Deno.test("dwithin of a point to a polygon measures to the geodesic edge, not only the vertices", () => {
  using cell = core.fromFlat(polygon(square(0, 0)));
  using north = core.fromFlat({ kind: "Point", xy: new Float64Array([0.5, 2]) });
  const meridian = pointDistance(0.5, 2, 0.5, 1); // the edge's geodesic bulges ~4 m north of the parallel
  const toVertex = pointDistance(0.5, 2, 0, 1);
  ok(toVertex > meridian + 100);
  ok(core.dwithin(cell, north, meridian));
  ok(!core.dwithin(cell, north, meridian - 10));
  using inside = core.fromFlat({ kind: "Point", xy: new Float64Array([0.5, 0.5]) });
  ok(core.dwithin(cell, inside, 0), "a point inside is at distance 0");
});
