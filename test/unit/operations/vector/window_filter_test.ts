/** WindowFilter: the read rule ST_Intersects(geom, window) over one or two window boxes, with real GEOS. */
import { equal } from "node:assert/strict";
import { WindowFilter } from "../../../../operations/vector/window_filter.ts";
import { flatBounds } from "../../../../wasm/mod.ts";
import type { FlatGeometry } from "../../../../wasm/flat_geometry.ts";
import { loadCoreForTests, polygon, square } from "../../wasm/load_core.ts";

const core = await loadCoreForTests();
const keeps = (filter: WindowFilter, geometry: FlatGeometry) => filter.keeps({ id: 1, geometry }, flatBounds(geometry));

Deno.test("WindowFilter keeps features intersecting the window and drops one whose bbox alone reaches in", () => {
  using filter = new WindowFilter(core, [[0, 0, 4, 4]]);
  equal(keeps(filter, polygon(square(1, 1))), true, "inside");
  equal(keeps(filter, polygon(square(3.5, 3.5))), true, "straddling the edge");
  equal(keeps(filter, polygon(square(4, 1))), true, "touching the edge (boundaries intersect)");
  equal(keeps(filter, polygon([[3.5, 5], [5, 3.5], [5.1, 3.6], [3.6, 5.1], [3.5, 5]])), false, "x + y ≥ 8.5");
  equal(keeps(filter, polygon(square(5, 5))), false, "outside");
  equal(keeps(filter, { kind: "Point", xy: new Float64Array([4, 4]) }), true, "a point on the corner");
  equal(keeps(filter, { kind: "LineString", xy: new Float64Array([3, 6, 6, 3]) }), false, "x + y = 9");
});

Deno.test("WindowFilter over a window split at ±180° keeps features on either side of it", () => {
  using filter = new WindowFilter(core, [[179, -1, 180, 1], [-180, -1, -179.5, 1]]);
  equal(keeps(filter, { kind: "Point", xy: new Float64Array([-179.8, 0]) }), true);
  equal(keeps(filter, { kind: "Point", xy: new Float64Array([179.5, 0.5]) }), true);
  equal(keeps(filter, { kind: "Point", xy: new Float64Array([-179, 0]) }), false);
  equal(filter.covers([179.2, -0.5, 179.9, 0.5]), true, "a tile inside one box needs no per-feature test");
  equal(filter.covers([-180, -0.5, 180, 0.5]), false);
});
