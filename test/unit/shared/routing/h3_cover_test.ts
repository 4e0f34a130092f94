import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { cellToBoundary, cellToLatLng, getResolution, latLngToCell } from "h3-js";
import { cellsForBbox, cellsForGeometry, CoverError } from "../../../../shared/routing/h3_cover.ts";
import { seededRandom } from "../../../../scripts/lib/seeded_random.ts";
import type { FlatGeometry } from "../../../../wasm/flat_geometry.ts";
import { usCounties } from "../../wasm/counties.ts";

const f64 = (...v: number[]) => new Float64Array(v);
const square = (x: number, y: number, s: number) => f64(x, y, x + s, y, x + s, y + s, x, y + s, x, y);

/** Point-in-polygon (even-odd over all rings) on planar lon/lat. */
function inside(geometry: FlatGeometry, x: number, y: number): boolean {
  if (geometry.parts) return geometry.parts.some((p) => inside(p, x, y));
  const ends = geometry.ends ?? [geometry.xy.length / 2];
  let start = 0, odd = false;
  for (const end of ends) {
    for (let i = start, j = end - 1; i < end; j = i++) {
      const xi = geometry.xy[2 * i]!,
        yi = geometry.xy[2 * i + 1]!,
        xj = geometry.xy[2 * j]!,
        yj = geometry.xy[2 * j + 1]!;
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
    }
    start = end;
  }
  return odd;
}

function bbox(g: FlatGeometry): [number, number, number, number] {
  const xs: number[] = [], ys: number[] = [];
  const walk = (h: FlatGeometry) => {
    for (let i = 0; i < h.xy.length; i += 2) xs.push(h.xy[i]!), ys.push(h.xy[i + 1]!);
    h.parts?.forEach(walk);
  };
  walk(g);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** Every sampled point of the geometry (interior and boundary) lies in a cell of the cover. */
function assertCovers(geometry: FlatGeometry, res: number, samples = 4000, seed = 1): void {
  const cover = new Set(cellsForGeometry(geometry, res));
  const random = seededRandom(seed);
  const [x0, y0, x1, y1] = bbox(geometry);
  let tested = 0;
  for (let i = 0; i < samples * 20 && tested < samples; i++) {
    const x = x0 + random() * (x1 - x0), y = y0 + random() * (y1 - y0);
    if (!inside(geometry, x, y)) continue;
    tested++;
    ok(cover.has(latLngToCell(y, x, res)), `interior point [${x}, ${y}] at res ${res} is in the cover`);
  }
  // Points on the boundary: along every edge.
  const rings = geometry.parts ?? [geometry];
  for (const ring of rings) {
    for (let i = 0; i + 3 < ring.xy.length; i += 2) {
      for (let k = 0; k <= 20; k++) {
        const t = k / 20;
        const x = ring.xy[i]! + t * (ring.xy[i + 2]! - ring.xy[i]!),
          y = ring.xy[i + 1]! + t * (ring.xy[i + 3]! - ring.xy[i + 1]!);
        ok(cover.has(latLngToCell(y, x, res)), `boundary point [${x}, ${y}] at res ${res} is in the cover`);
      }
    }
  }
}

Deno.test("a point is covered by exactly its cell", () => {
  deepEqual(cellsForGeometry({ kind: "Point", xy: f64(-74, 40.7) }, 3), [latLngToCell(40.7, -74, 3)]);
});

Deno.test("a small polygon straddling a cell border reports both cells, though it holds neither centre", () => {
  const cell = latLngToCell(40.7, -74, 3);
  const [[lat0, lng0], [lat1, lng1]] = cellToBoundary(cell) as [[number, number], [number, number]];
  const mx = (lng0 + lng1) / 2, my = (lat0 + lat1) / 2; // the middle of one edge of the cell
  const d = 0.001;
  const polygon: FlatGeometry = { kind: "Polygon", xy: square(mx - d, my - d, 2 * d) };
  const cells = cellsForGeometry(polygon, 3);
  ok(cells.includes(cell), "the cell itself");
  equal(cells.length, 2, `two cells: ${cells}`);
  const [clat, clng] = cellToLatLng(cell);
  ok(!inside(polygon, clng, clat), "its centre is not inside the polygon");
});

Deno.test("every sampled point of a polygon with a hole, a multipolygon and a line lies in a reported cell", () => {
  const holey: FlatGeometry = {
    kind: "Polygon",
    xy: f64(...square(-100, 35, 4), ...square(-99, 36, 2)),
    ends: new Uint32Array([5, 10]),
  };
  const multi: FlatGeometry = {
    kind: "MultiPolygon",
    xy: f64(),
    parts: [{ kind: "Polygon", xy: square(10, 50, 1.3) }, {
      kind: "Polygon",
      xy: f64(20, 50, 23, 51, 20, 52.5, 20, 50),
    }],
  };
  for (const res of [2, 3, 4]) {
    assertCovers(holey, res);
    assertCovers(multi, res);
  }
  const line: FlatGeometry = { kind: "LineString", xy: f64(-120, 30, -80, 45, -79.9, 45.01) };
  for (const res of [2, 3, 5]) {
    const cover = new Set(cellsForGeometry(line, res));
    for (let k = 0; k <= 20000; k++) {
      const t = k / 20000;
      const x = -120 + t * 40, y = 30 + t * 15;
      ok(cover.has(latLngToCell(y, x, res)), `line point [${x}, ${y}] at res ${res}`);
    }
  }
});

Deno.test("a polygon with a hole covers no cell lying wholly inside the hole", () => {
  const holey: FlatGeometry = {
    kind: "Polygon",
    xy: f64(...square(-100, 30, 12), ...square(-98, 32, 8)),
    ends: new Uint32Array([5, 10]),
  };
  const inHole = latLngToCell(36, -94, 3);
  ok(!cellsForGeometry(holey, 3).includes(inHole));
  ok(cellsForGeometry({ kind: "Polygon", xy: square(-100, 30, 12) }, 3).includes(inHole));
});

Deno.test("1° bbox covers at res 2 and 3 are exactly the cells touched (sampled) and no cell far away", () => {
  for (const [x, y] of [[-74, 40], [-106, 39], [0, 51], [179, -17]] as const) {
    for (const res of [2, 3]) {
      const cover = cellsForBbox([x, y, x + 1, y + 1], res);
      ok(cover.every((c) => getResolution(c) === res));
      const hit = new Set<string>();
      for (let i = 0; i <= 200; i++) {
        for (let j = 0; j <= 200; j++) hit.add(latLngToCell(y + j / 200, x + i / 200, res));
      }
      for (const cell of hit) ok(cover.includes(cell), `sampled cell ${cell} in cover of [${x}, ${y}] res ${res}`);
      // Nothing beyond what a dense sample finds, except cells only grazed between samples.
      ok(cover.length <= hit.size + 2, `cover ${cover.length} vs sampled ${hit.size}`);
    }
  }
});

Deno.test("a bbox across the antimeridian and a polygon wider than 180° are covered as drawn", () => {
  const across = new Set(cellsForBbox([179.5, -1, -179.5, 1], 3));
  ok(across.has(latLngToCell(0, 179.9, 3)) && across.has(latLngToCell(0, -179.9, 3)));
  ok(!across.has(latLngToCell(0, 0, 3)));
  const wide: FlatGeometry = { kind: "Polygon", xy: f64(-170, 0, 170, 0, 170, 10, -170, 10, -170, 0) };
  const cover = new Set(cellsForGeometry(wide, 2));
  ok(cover.has(latLngToCell(5, 0, 2)), "a wide polygon covers lon 0");
  ok(cover.has(latLngToCell(5, 100, 2)) && cover.has(latLngToCell(5, -100, 2)));
  assertCovers(wide, 2, 3000);
});

Deno.test("bad input is a CoverError", () => {
  throws(() => cellsForGeometry({ kind: "Point", xy: f64(-8e6, 4e6) }, 3), CoverError);
  throws(() => cellsForGeometry({ kind: "Point", xy: f64(0, 0) }, 16), CoverError);
  throws(() => cellsForBbox([0, 10, 1, 5], 3), CoverError);
});

Deno.test("every us-atlas county is covered at res 2 and 3 (sampled)", () => {
  const counties = usCounties();
  for (const res of [2, 3]) {
    for (const c of counties) {
      ok(cellsForGeometry(c.geometry, res).length > 0, `county ${c.id} has no cell at res ${res}`);
    }
  }
  const random = seededRandom(9);
  for (let i = 0; i < 60; i++) {
    const county = counties[Math.floor(random() * counties.length)]!;
    assertCovers(county.geometry, 3, 300, i);
  }
});
