import { equal, ok, throws } from "node:assert/strict";
import { InvalidGeometryError } from "../../../wasm/mod.ts";
import type { FlatGeometry } from "../../../wasm/flat_geometry.ts";
import { loadCoreForTests, polygon, square } from "./load_core.ts";

const core = await loadCoreForTests();

function rejects(flat: FlatGeometry, reason: RegExp) {
  const before = core.liveAllocations;
  throws(() => core.fromFlat(flat, { id: 42 }), (error: unknown) => {
    ok(error instanceof InvalidGeometryError, `expected InvalidGeometryError, got ${error}`);
    ok(error instanceof TypeError);
    ok(reason.test(error.reason), `reason "${error.reason}" should match ${reason}`);
    equal(error.featureId, 42);
    return true;
  });
  equal(core.liveAllocations, before, "nothing is left allocated after a rejected geometry");
}

Deno.test("an unclosed ring is rejected with InvalidGeometryError 'Ring is not closed'", () => {
  rejects(polygon([[0, 0], [1, 0], [1, 1], [0, 1]]), /^Ring is not closed\[0 0\]$/);
});

Deno.test("a NaN coordinate is rejected with 'Invalid Coordinate'", () => {
  rejects(polygon([[0, 0], [1, NaN], [1, 1], [0, 0]]), /^Invalid Coordinate\[1 NaN\]$/);
  rejects({ kind: "Point", xy: new Float64Array([Infinity, 0]) }, /^Invalid Coordinate/);
});

Deno.test("a ring of three points is rejected with 'Too few points in geometry component'", () => {
  rejects(polygon([[0, 0], [1, 0], [0, 0]]), /^Too few points in geometry component\[0 0\]$/);
  rejects({ kind: "LineString", xy: new Float64Array([0, 0]) }, /^Too few points/);
});

Deno.test("an empty polygon or multipolygon is rejected with 'Empty geometry'", () => {
  rejects({ kind: "Polygon", xy: new Float64Array(0) }, /^Empty geometry$/);
  rejects({ kind: "MultiPolygon", xy: new Float64Array(0), parts: [] }, /^Empty geometry$/);
});

Deno.test("ring ends beyond the coordinates are rejected, not read out of bounds", () => {
  rejects({ kind: "Polygon", xy: new Float64Array(square(0, 0).flat()), ends: new Uint32Array([5, 9]) }, /beyond/);
});

Deno.test("a self-intersecting bowtie builds but validate reports 'Self-intersection[0.5 0.5]'", () => {
  const bowtie = polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]);
  const validity = core.validate(bowtie);
  equal(validity.valid, false);
  equal(validity.reason, "Self-intersection[0.5 0.5]");
  equal(core.validate(polygon([[0, 0], [1, 0], [0, 0]])).reason, "Too few points in geometry component[0 0]");
  equal(core.validate(polygon(square(0, 0))).reason, "Valid Geometry");
});

Deno.test("makeValid repairs a bowtie into a valid MultiPolygon of two triangles (area 0.5)", () => {
  const before = core.liveAllocations;
  {
    using fixed = core.makeValid(polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]));
    ok(fixed.isValid());
    equal(fixed.area(), 0.5);
    equal(fixed.toFlat().kind, "MultiPolygon");
  }
  equal(core.liveAllocations, before);
});

Deno.test("makeValid closes an unclosed ring and drops a collapsed one, keeping only polygons", () => {
  using closed = core.makeValid(polygon([[0, 0], [2, 0], [2, 2], [0, 2]]));
  equal(closed.area(), 4);
  using collapsed = core.makeValid({
    kind: "MultiPolygon",
    xy: new Float64Array(0),
    parts: [polygon(square(0, 0)), polygon([[5, 5], [6, 6], [5, 5]])],
  });
  equal(collapsed.area(), 1);
  const kind = collapsed.toFlat().kind;
  ok(kind === "Polygon" || kind === "MultiPolygon", kind);
});

Deno.test("a geometry used after free throws ReferenceError instead of touching freed memory", () => {
  const g = core.fromFlat(polygon(square(0, 0)));
  const prepared = g.prepared();
  g.free();
  g.free();
  throws(() => g.area(), ReferenceError);
  throws(() => prepared.intersectsXY(0, 0), ReferenceError);
});
