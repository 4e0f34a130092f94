import { deepEqual, equal, ok } from "node:assert/strict";
import { loadCoreForTests, polygon, square } from "./load_core.ts";

const core = await loadCoreForTests();

Deno.test("a unit square has planar area 1 and bounds [0, 0, 1, 1]", () => {
  using g = core.fromFlat(polygon(square(0, 0)));
  equal(g.area(), 1);
  deepEqual(g.bounds(), [0, 0, 1, 1]);
});

Deno.test("a right triangle with legs 3 and 4 has planar area 6", () => {
  using g = core.fromFlat(polygon([[0, 0], [3, 0], [0, 4], [0, 0]]));
  equal(g.area(), 6);
});

Deno.test("a 4×4 square with a 2×2 hole has area 12 and the hole is outside it", () => {
  using g = core.fromFlat(polygon(square(0, 0, 4), square(1, 1, 2).reverse()));
  equal(g.area(), 12);
  using inHole = core.fromFlat({ kind: "Point", xy: new Float64Array([2, 2]) });
  using inRing = core.fromFlat({ kind: "Point", xy: new Float64Array([0.5, 0.5]) });
  equal(g.intersects(inHole), false);
  equal(g.contains(inRing), true);
  equal(g.prepared().intersectsXY(2, 2), false);
  equal(g.prepared().intersectsXY(3, 2), true, "a point on the hole's boundary intersects");
  equal(g.prepared().containsXY(3, 2), false, "but is not contained");
});

Deno.test("two unit squares overlapping by half intersect in a 0.5 × 1 rectangle", () => {
  using a = core.fromFlat(polygon(square(0, 0)), { id: "a" });
  using b = core.fromFlat(polygon(square(0.5, 0)), { id: "b" });
  ok(a.intersects(b));
  using piece = a.intersection(b);
  equal(piece.area(), 0.5);
  deepEqual(piece.bounds(), [0.5, 0, 1, 1]);
  const flat = piece.toFlat();
  equal(flat.kind, "Polygon");
  equal(flat.xy.length, 10);
});

Deno.test("contains and within are converses; touching squares intersect but neither contains", () => {
  using big = core.fromFlat(polygon(square(0, 0, 3)));
  using small = core.fromFlat(polygon(square(1, 1)));
  using touching = core.fromFlat(polygon(square(3, 0)));
  ok(big.contains(small));
  ok(small.within(big));
  ok(!big.within(small));
  ok(big.prepared().contains(small));
  ok(small.prepared().within(big));
  ok(big.intersects(touching));
  ok(!big.contains(touching));
  using edge = big.intersection(touching);
  equal(edge.area(), 0);
  using polygons = edge.polygonalPart();
  equal(polygons.isEmpty(), true);
});

Deno.test("a flat polygon round-trips through GEOS unchanged, holes included", () => {
  const flat = polygon(square(0, 0, 4), square(1, 1, 2).reverse());
  using g = core.fromFlat(flat);
  deepEqual(g.toFlat(), flat);
});

Deno.test("a MultiPolygon from GeoJSON sums its parts' areas and round-trips", () => {
  using g = core.fromGeoJSON({ type: "MultiPolygon", coordinates: [[square(0, 0)], [square(5, 5, 2)]] });
  equal(g.area(), 5);
  const flat = g.toFlat();
  equal(flat.kind, "MultiPolygon");
  equal(flat.parts?.length, 2);
  deepEqual(Array.from(flat.parts![1]!.xy), square(5, 5, 2).flat());
});
