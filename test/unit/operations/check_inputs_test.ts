import { deepEqual, equal } from "node:assert/strict";
import { operationOf } from "../../../operations/mod.ts";
import type { DatasetManifest } from "../../../shared/dataset_manifest.ts";
import type { GeometryKind } from "../../../wasm/flat_geometry.ts";

/** The problems `operation` finds with a left side of `left` kinds against a dataset of `right` kinds. */
function problems(operation: string, left: string[], right: GeometryKind[], leftField = "geometry_payload") {
  return operationOf(operation)!.checkInputs(
    { side: { kind: "payload", key: "p", tiles: {} }, types: left, bbox: null },
    { geometry_types: right } as DatasetManifest,
    leftField,
  );
}

Deno.test("point_in_polygon needs points on one side and polygons on the other", () => {
  deepEqual(problems("point_in_polygon", ["Point"], ["Polygon", "MultiPolygon"]), []);
  deepEqual(problems("point_in_polygon", ["MultiPolygon"], ["MultiPoint"]), []);
  equal(problems("point_in_polygon", ["Point"], ["Point"]).length, 1);
  equal(problems("point_in_polygon", ["Polygon", "Point"], ["Polygon"]).length, 1);
  equal(problems("point_in_polygon", ["LineString"], ["Polygon"]).length, 1);
  deepEqual(problems("point_in_polygon", [], ["Polygon"]), []);
});

Deno.test("polygon_intersection needs polygons on both sides", () => {
  deepEqual(problems("polygon_intersection", ["Polygon"], ["MultiPolygon"]), []);
  deepEqual(problems("polygon_intersection", ["Point"], ["Polygon"]).map((e) => e.path), ["geometry_payload"]);
  deepEqual(problems("polygon_intersection", ["Polygon"], ["LineString"], "left_dataset").map((e) => e.path), [
    "dataset",
  ]);
});

Deno.test("spatial_join takes any geometry kinds", () => {
  deepEqual(problems("spatial_join", ["LineString"], ["Point"]), []);
});
