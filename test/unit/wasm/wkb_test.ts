import { deepEqual } from "node:assert/strict";
import { geojsonToWkb } from "hyparquet-writer";
import { WkbArena, wkbFromFlat } from "../../../wasm/wkb.ts";
import { geoJSONFromFlat } from "../../../wasm/geojson.ts";
import type { FlatGeometry } from "../../../wasm/flat_geometry.ts";
import { polygon, square } from "./load_core.ts";

Deno.test("WKB written from flat geometries equals hyparquet-writer's WKB of the same GeoJSON, every kind", () => {
  const geometries: FlatGeometry[] = [
    { kind: "Point", xy: new Float64Array([-74.5, 40.25]) },
    { kind: "MultiPoint", xy: new Float64Array([0, 1, 2, 3, 4, 5]) },
    { kind: "LineString", xy: new Float64Array([0, 0, 1, 1, 2, 0.5]) },
    { kind: "MultiLineString", xy: new Float64Array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]), ends: new Uint32Array([2, 5]) },
    polygon(square(0, 0)),
    polygon(square(5, 5, 2), square(5.5, 5.5, 0.5)),
    { kind: "MultiPolygon", xy: new Float64Array(0), parts: [polygon(square(0, 0)), polygon(square(5, 5, 2))] },
  ];
  const arena = new WkbArena();
  for (const g of geometries) {
    deepEqual([...arena.wkb(g)], [...wkbFromFlat(g)], `${g.kind} from the arena`);
    deepEqual(
      [...wkbFromFlat(g)],
      [...geojsonToWkb(geoJSONFromFlat(g) as Parameters<typeof geojsonToWkb>[0])],
      g.kind,
    );
  }
});
