/** The grid path of `PreparedGeometry.intersectingPoints` (wasm/ops/point_grid.ts) against GEOS point by point. */
import { deepEqual, equal, ok } from "node:assert/strict";
import {
  type FeatureId,
  type FlatFeature,
  type GeoJSONGeometry,
  type Geometry,
  SpatialIndex,
} from "../../../wasm/mod.ts";
import { flatFromGeoJSON } from "../../../wasm/geojson.ts";
import { seededPoints } from "../../../scripts/lib/seeded_random.ts";
import { loadCoreForTests, polygon, square } from "./load_core.ts";
import { usCounties } from "./counties.ts";

const core = await loadCoreForTests();

Deno.test("grid point-in-polygon gives the one-by-one answer on 300 counties while testing under half the points", () => {
  const counties = usCounties().slice(0, 300).map((c) => core.makeValid(c.geometry, { id: c.id }));
  const xy = seededPoints(200_000, 7);
  const index = SpatialIndex.fromPoints(xy);
  const stats = { tested: 0 };
  let candidates = 0, hits = 0;
  try {
    for (const g of counties) {
      if (g.isEmpty()) continue;
      const found = index.search(...g.bounds());
      candidates += found.length;
      const expected = g.prepared().intersectingPointsOneByOne(xy, found);
      const actual = g.prepared().intersectingPoints(xy, found, { minCandidates: 1, stats });
      deepEqual(actual, expected, `county ${g.id}`);
      hits += actual.length;
    }
  } finally {
    for (const g of counties) g.free();
  }
  ok(hits > 1000, `${hits} hits`);
  ok(stats.tested < candidates / 2, `${stats.tested} of ${candidates} points tested one by one`);
});

Deno.test("points on vertices, edges, hole boundaries and cell edges count as intersecting, as GEOS says", () => {
  // A 10×10 square with a 4×4 hole, and a lattice of step 0.25 that puts many points exactly on the boundary
  // and on the grid's cell edges (the envelope splits into cells at multiples of 10 / k).
  using g = core.fromFlat(polygon(square(0, 0, 10), square(3, 3, 4).reverse()), { id: "holed" });
  const lattice: number[] = [];
  for (let x = -1; x <= 11; x += 0.25) for (let y = -1; y <= 11; y += 0.25) lattice.push(x, y);
  const xy = new Float64Array(lattice);
  const all = Array.from({ length: xy.length / 2 }, (_, i) => i);
  const expected = g.prepared().intersectingPointsOneByOne(xy, all);
  const onBoundary = all.filter((i) => {
    const x = xy[2 * i]!, y = xy[2 * i + 1]!;
    return ((x === 0 || x === 10) && y >= 0 && y <= 10) || ((y === 0 || y === 10) && x >= 0 && x <= 10) ||
      ((x === 3 || x === 7) && y >= 3 && y <= 7) || ((y === 3 || y === 7) && x >= 3 && x <= 7);
  });
  ok(onBoundary.every((i) => expected.includes(i)), "GEOS counts every boundary point");
  for (const cellsPerPoint of [0.01, 0.1, 1, 4]) {
    const stats = { tested: 0 };
    deepEqual(g.prepared().intersectingPoints(xy, all, { minCandidates: 1, cellsPerPoint, stats }), expected);
    ok(stats.tested < all.length, `${cellsPerPoint} cells per point: ${stats.tested} of ${all.length} tested`);
  }
});

Deno.test("grid point-in-polygon on a MultiPolygon skips candidates outside the envelope and keeps their order", () => {
  using g = core.fromFlat({
    kind: "MultiPolygon",
    xy: new Float64Array(),
    parts: [polygon(square(0, 0, 4)), polygon(square(6, 6, 4))],
  });
  const xy = seededPoints(5_000, 3, [-2, -2, 12, 12]);
  const candidates = Array.from({ length: 5_000 }, (_, i) => 4_999 - i); // reverse order, outside points too
  const expected = g.prepared().intersectingPointsOneByOne(xy, candidates);
  const actual = g.prepared().intersectingPoints(xy, candidates, { minCandidates: 1 });
  deepEqual(actual, expected);
  ok(actual.length > 500 && actual[0]! > actual.at(-1)!);
});

Deno.test("1,000 grid point-in-polygon calls leave no live allocation behind", () => {
  const county = usCounties().find((c) => c.id === "06037")!; // Los Angeles: a MultiPolygon
  const xy = seededPoints(20_000, 11, [-119, 33, -117.5, 35]);
  const all = Array.from({ length: 20_000 }, (_, i) => i);
  const live = core.liveAllocations;
  using g = core.fromFlat(county.geometry, { id: county.id });
  const first = g.prepared().intersectingPoints(xy, all).length;
  ok(first > 0);
  for (let i = 0; i < 1_000; i++) {
    g.prepared().free();
    equal(g.prepared().intersectingPoints(xy, all.slice(0, 2_000)).length <= first, true);
  }
  g.free();
  equal(core.liveAllocations, live);
});

Deno.test("the grid path, forced on every polygon, gives PostGIS's point-in-polygon pairs (special points included)", async () => {
  const fixtures = new URL("../../fixtures/", import.meta.url);
  const read = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, fixtures)));
  const collection = async (path: string): Promise<FlatFeature[]> =>
    (await read(path)).features.map((f: { id: FeatureId; geometry: GeoJSONGeometry }) => ({
      id: f.id,
      geometry: flatFromGeoJSON(f.geometry),
    }));
  const points = await collection("inputs/points_sample.geojson");
  const xy = new Float64Array(points.flatMap((p) => Array.from(p.geometry.xy)));
  const index = SpatialIndex.fromPoints(xy);
  const cases: [string, Geometry[]][] = [
    [
      "postgis/point_in_polygon_counties_points.json",
      (await collection("inputs/counties_sample.geojson")).map((f) => core.makeValid(f.geometry, { id: f.id })),
    ],
    [
      "postgis/point_in_polygon_grid_points.json",
      (await collection("inputs/grid_1deg.geojson")).map((f) => core.fromFlat(f.geometry, { id: f.id })),
    ],
  ];
  for (const [expectedPath, polygons] of cases) {
    try {
      const pairs: string[] = [];
      const stats = { tested: 0 };
      for (const g of polygons) {
        if (g.isEmpty()) continue;
        const found = index.search(...g.bounds());
        for (const i of g.prepared().intersectingPoints(xy, found, { minCandidates: 1, stats })) {
          pairs.push(`${g.id}|${points[i]!.id}`);
        }
      }
      const expected: { left_id: FeatureId; right_id: FeatureId }[] = await read(expectedPath);
      deepEqual(pairs.sort(), expected.map((p) => `${p.left_id}|${p.right_id}`).sort(), expectedPath);
      ok(stats.tested < pairs.length, `${expectedPath}: ${stats.tested} points tested one by one`);
    } finally {
      for (const g of polygons) g.free();
    }
  }
});
