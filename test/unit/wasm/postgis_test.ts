/**
 * The core against PostGIS 3.3 (GEOS 3.11) reference answers in test/fixtures/postgis/ (see its meta.json
 * for the SQL). Counties are used made valid (ST_CollectionExtract(ST_MakeValid(geom), 3)), as there.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { flatBounds, type FlatFeature, type GeoJSONGeometry, type Geometry, SpatialIndex } from "../../../wasm/mod.ts";
import { flatFromGeoJSON } from "../../../wasm/geojson.ts";
import { expandBounds } from "../../../wasm/geodesic.ts";
import { loadCoreForTests } from "./load_core.ts";
import { usCounties } from "./counties.ts";

const core = await loadCoreForTests();
const FIXTURES = new URL("../../fixtures/", import.meta.url);

async function json<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(path, FIXTURES)));
}
async function features(path: string): Promise<FlatFeature[]> {
  const collection = await json<{ features: Array<{ id: string | number; geometry: GeoJSONGeometry }> }>(path);
  return collection.features.map((f) => ({ id: f.id, geometry: flatFromGeoJSON(f.geometry) }));
}

interface Pair {
  left_id: string | number;
  right_id: string | number;
}
interface AreaRow extends Pair {
  area: number;
  area_m2: number;
}
interface ValidityRow {
  id: string;
  valid: boolean;
  reason: string;
  area: number;
  area_m2: number;
  area_valid: number;
  area_valid_m2: number;
}

const counties = await features("inputs/counties_sample.geojson");
const grid = await features("inputs/grid_1deg.geojson");
const points = await features("inputs/points_sample.geojson");
const pointsXY = new Float64Array(points.flatMap((p) => Array.from(p.geometry.xy)));
const pointIndex = SpatialIndex.fromPoints(pointsXY);

function closeTo(actual: number, expected: number, what: string, relative = 1e-6) {
  const scale = Math.max(Math.abs(expected), 1e-12);
  ok(
    Math.abs(actual - expected) / scale <= relative || Math.abs(actual - expected) < 1e-9 * Math.max(1, scale),
    `${what}: ${actual} vs PostGIS ${expected}`,
  );
}
const key = (p: Pair) => `${p.left_id}|${p.right_id}`;

/** Made-valid geometries for a set of features (freed by the caller). */
function madeValid(list: FlatFeature[]): Geometry[] {
  return list.map((f) => core.makeValid(f.geometry, { id: f.id }));
}
function freeAll(list: Geometry[]) {
  for (const g of list) g.free();
}

/**
 * GEOS 3.13 (here) and 3.11 (the PostGIS fixture) report a self-intersection at a different first location
 * and sometimes as "Self-intersection" instead of "Ring Self-intersection": other reasons must be identical.
 */
function sameReason(actual: string, expected: string, what: string) {
  if (/Self-intersection/.test(expected)) {
    ok(/Self-intersection\[/.test(actual), `${what}: ${actual} vs PostGIS ${expected}`);
  } else equal(actual, expected, what);
}

Deno.test("the same 40 us-atlas counties are invalid as in PostGIS, with the same ST_IsValidReason kind", async () => {
  const expected = await json<Array<{ id: string; reason: string }>>("postgis/us_counties_invalid.json");
  const actual = usCounties()
    .map((c) => ({ id: c.id as string, reason: core.validate(c.geometry).reason }))
    .filter((c) => c.reason !== "Valid Geometry");
  deepEqual(actual.map((c) => c.id).sort(), expected.map((c) => c.id).sort());
  const reasons = new Map(expected.map((c) => [c.id, c.reason]));
  for (const c of actual) sameReason(c.reason, reasons.get(c.id)!, c.id);
});

for (const file of ["counties_validity.json", "invalid_counties_validity.json"]) {
  Deno.test(`validity, planar and geodesic areas before and after makeValid match PostGIS (${file})`, async () => {
    const rows = await json<ValidityRow[]>(`postgis/${file}`);
    const inputs = new Map(
      (await features(
        file.startsWith("invalid") ? "inputs/invalid_counties.geojson" : "inputs/counties_sample.geojson",
      ))
        .map((f) => [f.id, f]),
    );
    for (const row of rows) {
      const f = inputs.get(row.id)!;
      const validity = core.validate(f.geometry, { id: f.id });
      equal(validity.valid, row.valid, row.id);
      sameReason(validity.reason, row.reason, row.id);
      {
        using raw = core.fromFlat(f.geometry, { id: f.id });
        closeTo(raw.area(), row.area, `${row.id} area`);
        closeTo(raw.geodesicArea(), row.area_m2, `${row.id} area_m2`);
      }
      using valid = core.makeValid(f.geometry, { id: f.id });
      closeTo(valid.area(), row.area_valid, `${row.id} area_valid`);
      closeTo(valid.geodesicArea(), row.area_valid_m2, `${row.id} area_valid_m2`);
    }
  });
}

Deno.test("counties × 1° grid intersections: same pairs with area > 0, areas planar and geodesic to 1e-6", async () => {
  const expected = await json<AreaRow[]>("postgis/polygon_intersection.json");
  const left = madeValid(counties);
  const right = grid.map((g) => core.fromFlat(g.geometry, { id: g.id }));
  try {
    const index = SpatialIndex.fromBounds(right.map((g) => g.bounds()));
    const actual = new Map<string, AreaRow>();
    for (const a of left) {
      for (const i of index.search(...a.bounds())) {
        const b = right[i]!;
        if (!a.prepared().intersects(b)) continue;
        using piece = a.intersection(b);
        const area = piece.area();
        if (area > 0) {
          const row = { left_id: a.id!, right_id: b.id!, area, area_m2: piece.geodesicArea() };
          actual.set(key(row), row);
        }
      }
    }
    deepEqual([...actual.keys()].sort(), expected.map(key).sort());
    for (const row of expected) {
      const mine = actual.get(key(row))!;
      closeTo(mine.area, row.area, `${key(row)} area`);
      closeTo(mine.area_m2, row.area_m2, `${key(row)} area_m2`);
    }
  } finally {
    freeAll(left);
    freeAll(right);
  }
});

function pointPairs(polygons: Geometry[]): string[] {
  const pairs: string[] = [];
  for (const g of polygons) {
    const candidates = pointIndex.search(...g.bounds());
    for (const i of g.prepared().intersectingPoints(pointsXY, candidates)) {
      pairs.push(key({ left_id: g.id!, right_id: points[i]!.id }));
    }
  }
  return pairs.sort();
}

Deno.test("point in polygon (boundary counts) over counties and over the grid gives PostGIS's pairs", async () => {
  const left = madeValid(counties);
  const cells = grid.map((g) => core.fromFlat(g.geometry, { id: g.id }));
  try {
    const expectedCounties = await json<Pair[]>("postgis/point_in_polygon_counties_points.json");
    deepEqual(pointPairs(left), expectedCounties.map(key).sort());
    const expectedGrid = await json<Pair[]>("postgis/point_in_polygon_grid_points.json");
    deepEqual(pointPairs(cells), expectedGrid.map(key).sort());
  } finally {
    freeAll(left);
    freeAll(cells);
  }
});

Deno.test("county × county intersects, contains and within (prepared) give PostGIS's pairs", async () => {
  const all = madeValid(counties);
  try {
    const index = SpatialIndex.fromBounds(all.map((g) => g.bounds()));
    const found = { intersects: [] as string[], contains: [] as string[], within: [] as string[] };
    for (const a of all) {
      for (const i of index.search(...a.bounds())) {
        const b = all[i]!;
        const pair = key({ left_id: a.id!, right_id: b.id! });
        if (a.prepared().intersects(b)) found.intersects.push(pair);
        if (a.prepared().contains(b)) found.contains.push(pair);
        if (a.prepared().within(b)) found.within.push(pair);
      }
    }
    for (const name of ["intersects", "contains", "within"] as const) {
      const expected = await json<Pair[]>(`postgis/spatial_join_${name}.json`);
      deepEqual(found[name].sort(), expected.map(key).sort(), name);
    }
  } finally {
    freeAll(all);
  }
});

Deno.test("dwithin 5,000 m (geodesic) of counties × points gives PostGIS's ST_DWithin(geography) pairs", async () => {
  const expected = new Set((await json<Pair[]>("postgis/spatial_join_dwithin_counties_points_5000m.json")).map(key));
  const left = madeValid(counties);
  try {
    const actual = new Set<string>();
    for (const a of left) {
      const b = a.bounds();
      for (const i of pointIndex.search(...expandBounds(b, 5000))) {
        using p = core.fromFlat(points[i]!.geometry, { id: points[i]!.id });
        if (core.dwithin(a, p, 5000)) actual.add(key({ left_id: a.id!, right_id: points[i]!.id }));
      }
    }
    const missing = [...expected].filter((k) => !actual.has(k));
    const extra = [...actual].filter((k) => !expected.has(k));
    deepEqual({ missing, extra }, { missing: [], extra: [] });
  } finally {
    freeAll(left);
  }
});

Deno.test("dwithin 2,000 m between points gives PostGIS's pairs, including the 1,990 m / 2,010 m probes", async () => {
  const rows = await json<Pair[]>("postgis/spatial_join_dwithin_points_points_2000m.json");
  const subset = await features("inputs/points_subset_500.geojson");
  const geoms = subset.map((p) => core.fromFlat(p.geometry, { id: p.id }));
  try {
    const xy = new Float64Array(subset.flatMap((p) => Array.from(p.geometry.xy)));
    const index = SpatialIndex.fromPoints(xy);
    const actual: string[] = [];
    for (const a of geoms) {
      const [x, y] = a.bounds();
      for (const i of index.search(...expandBounds([x, y, x, y], 2000))) {
        if (core.dwithin(a, geoms[i]!, 2000)) actual.push(key({ left_id: a.id!, right_id: geoms[i]!.id! }));
      }
    }
    deepEqual(actual.sort(), rows.map(key).sort());
  } finally {
    freeAll(geoms);
  }
});

Deno.test("flatBounds (JS) equals GEOS bounds for every sample county", () => {
  for (const f of counties) {
    using g = core.fromFlat(f.geometry);
    deepEqual(flatBounds(f.geometry), g.bounds());
  }
});
