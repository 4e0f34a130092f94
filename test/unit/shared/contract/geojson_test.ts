import { deepEqual, equal, ok } from "node:assert/strict";
import {
  checkFeatureCollection,
  FeatureCollection,
  featureIdOf,
  toFlatFeatures,
} from "../../../../shared/contract/geojson.ts";
import { DATASET_LIMITS, PAYLOAD_LIMITS } from "../../../../shared/contract/limits.ts";

const collect = () => {
  const issues: { path: string; message: string }[] = [];
  return {
    issues,
    sink: (p: (string | number)[], message: string) => (issues.push({ path: p.join("/"), message }), true),
  };
};

Deno.test("featureIdOf prefers id, then properties.id", () => {
  equal(featureIdOf({ id: 3, properties: { id: "x" } }), 3);
  equal(featureIdOf({ properties: { id: "x" } }), "x");
  equal(featureIdOf({ properties: {} }), null);
  equal(featureIdOf({ properties: null }), null);
});

Deno.test("checkFeatureCollection summarizes types, bbox and ids", () => {
  const fc = FeatureCollection.parse({
    type: "FeatureCollection",
    features: [
      { type: "Feature", id: 1, properties: {}, geometry: { type: "Point", coordinates: [1, 2] } },
      { type: "Feature", properties: { id: "b" }, geometry: { type: "LineString", coordinates: [[-1, 0], [3, 5]] } },
    ],
  });
  const { issues, sink } = collect();
  const s = checkFeatureCollection(fc, "EPSG:4326", PAYLOAD_LIMITS, [], sink);
  deepEqual(issues, []);
  deepEqual([...s.geometryTypes].sort(), ["LineString", "Point"]);
  deepEqual(s.bbox, [-1, 0, 3, 5]);
  deepEqual(s.ids, [1, "b"]);
  equal(s.vertexCount, 3);
});

Deno.test("checkFeatureCollection enforces the per-geometry vertex limit", () => {
  const coords = Array.from({ length: 11 }, (_, i) => [i / 100, 0]);
  const fc = FeatureCollection.parse({
    type: "FeatureCollection",
    features: [{ type: "Feature", id: 1, geometry: { type: "LineString", coordinates: coords } }],
  });
  const { issues, sink } = collect();
  checkFeatureCollection(fc, "EPSG:4326", { ...DATASET_LIMITS, maxGeometryVertices: 10 }, [], sink);
  equal(issues[0]?.path, "features/0/geometry");
  ok(issues[0]?.message.includes("limit"));
});

Deno.test("checkFeatureCollection refuses a projected position outside its projection's domain, not moved to an edge", () => {
  const fc = FeatureCollection.parse({
    type: "FeatureCollection",
    features: [
      { type: "Feature", id: 1, geometry: { type: "Point", coordinates: [500000, 5000000] } },
      { type: "Feature", id: 2, geometry: { type: "Point", coordinates: [1e9, 5000000] } },
    ],
  });
  const { issues, sink } = collect();
  checkFeatureCollection(fc, "EPSG:32633", DATASET_LIMITS, [], sink);
  equal(issues.length, 1);
  equal(issues[0]?.path, "features/1/geometry/coordinates");
  ok(issues[0]?.message.includes("outside the domain of EPSG:32633"), issues[0]?.message);
});

Deno.test("checkFeatureCollection rejects over-long property strings", () => {
  const fc = FeatureCollection.parse({
    type: "FeatureCollection",
    features: [{
      type: "Feature",
      id: 1,
      properties: { name: "x".repeat(70_000) },
      geometry: { type: "Point", coordinates: [0, 0] },
    }],
  });
  const { issues, sink } = collect();
  checkFeatureCollection(fc, "EPSG:4326", DATASET_LIMITS, [], sink);
  equal(issues[0]?.path, "features/0/properties/name");
});

Deno.test("toFlatFeatures packs rings with ends and normalizes EPSG:3857 to 4326", () => {
  const fc = FeatureCollection.parse({
    type: "FeatureCollection",
    features: [
      {
        type: "Feature",
        id: "p",
        geometry: {
          type: "Polygon",
          coordinates: [
            [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]],
            [[1, 1], [2, 1], [2, 2], [1, 1]],
          ],
        },
      },
      { type: "Feature", properties: { id: 2 }, geometry: { type: "Point", coordinates: [20037508.342789244, 0] } },
    ],
  });
  const [poly, pt] = toFlatFeatures(fc, "EPSG:4326");
  equal(poly!.geometry.kind, "Polygon");
  deepEqual([...poly!.geometry.ends!], [5, 9]);
  equal(poly!.geometry.xy.length, 18);
  const merc = toFlatFeatures({ ...fc, features: [fc.features[1]!] }, "EPSG:3857");
  equal(merc[0]!.id, 2);
  deepEqual([...merc[0]!.geometry.xy], [180, 0]);
  equal(pt!.id, 2);
});
