import { equal } from "node:assert/strict";
import { geoJSONFromFlat, geoJSONTextFromFlat } from "../../../wasm/geojson.ts";
import type { FlatGeometry } from "../../../wasm/flat_geometry.ts";
import { usCounties } from "./counties.ts";

const f64 = (...v: number[]) => new Float64Array(v);

Deno.test("geoJSONTextFromFlat writes what JSON.stringify(geoJSONFromFlat) writes, for every kind", () => {
  const shapes: FlatGeometry[] = [
    { kind: "Point", xy: f64(-0, 1e-7) },
    { kind: "Point", xy: f64(0.1 + 0.2, -33.123456789012345) },
    { kind: "MultiPoint", xy: f64(1, 2, 3, 4) },
    { kind: "LineString", xy: f64(1.5, 2, 3, 4.25, 5, 6) },
    { kind: "MultiLineString", xy: f64(0, 0, 1, 1, 2, 2, 3, 3), ends: new Uint32Array([2, 4]) },
    { kind: "Polygon", xy: f64(0, 0, 1, 0, 1, 1, 0, 0) },
    ...usCounties().map((f) => f.geometry), // Polygons with holes and MultiPolygons
  ];
  for (const shape of shapes) equal(geoJSONTextFromFlat(shape), JSON.stringify(geoJSONFromFlat(shape)));
});
