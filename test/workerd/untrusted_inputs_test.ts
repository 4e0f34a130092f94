/**
 * Inputs that once answered 500, in real workerd: each class now gets a 4xx
 * problem and writes nothing, or is accepted and works. Real public data
 * (world-atlas countries, GDAL-written FlatGeobuf) where there is some.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { feature } from "topojson-client";
import countries110m from "world-atlas/countries-110m.json" with { type: "json" };
import { startService } from "./harness.ts";
import {
  expectProblem,
  publish,
  readFixture,
  resultFeatures,
  runJob,
  settledSnapshot,
  stateChanges,
  stateSnapshot,
  submit,
} from "./client.ts";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import { readLayout } from "../../shared/tiles/fgb_header.ts";
import { ResultFlatGeobufWriter, writeFlatGeobuf } from "../../shared/tiles/fgb_writer.ts";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { MAX_GEOMETRY_VERTICES } from "../../shared/contract/limits.ts";

const square = (
  x: number,
  y: number,
  size: number,
) => [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]];
const fc = (features: unknown[]) => ({ type: "FeatureCollection", features });

Deno.test("inputs that answered 500: degenerate payloads, ids, FlatGeobuf ranges, reserved property names", async (t) => {
  const service = await startService();
  try {
    const zones = fc([{
      type: "Feature",
      id: 1,
      properties: {},
      geometry: { type: "Polygon", coordinates: [square(0, 0, 1)] },
    }]);
    equal((await publish(service, "zones", JSON.stringify(zones))).status, 201);
    await settledSnapshot(service);

    await t.step(
      "degenerate coordinate arrays in geometry_payload are 422 problems naming the field, nothing written",
      async () => {
        const before = await stateSnapshot(service);
        const cases: [string, unknown, string][] = [
          ["Polygon", [[]], "geometry_payload.features[0].geometry.coordinates[0]"],
          ["Polygon", [[[]]], "geometry_payload.features[0].geometry.coordinates[0]"],
          [
            "Polygon",
            [[[0, 0], [1, 0], [1, 1], [0, 1], []]],
            "geometry_payload.features[0].geometry.coordinates[0][4]",
          ],
          ["Polygon", [[[0], [1, 0], [1, 1], [0]]], "geometry_payload.features[0].geometry.coordinates[0][0]"],
          [
            "Polygon",
            [[[0, 0, 0, 0], [1, 0], [1, 1], [0, 0]]],
            "geometry_payload.features[0].geometry.coordinates[0][0]",
          ],
          ["MultiPolygon", [[[]]], "geometry_payload.features[0].geometry.coordinates[0][0]"],
          ["MultiPolygon", [[]], "geometry_payload.features[0].geometry.coordinates[0]"],
          ["MultiPolygon", [[[[]]]], "geometry_payload.features[0].geometry.coordinates[0][0][0]"],
        ];
        for (const [type, coordinates, path] of cases) {
          const response = await submit(service, {
            spatial_operation: "polygon_intersection",
            dataset: "zones",
            geometry_payload: fc([{ type: "Feature", id: "a", properties: {}, geometry: { type, coordinates } }]),
          });
          await expectProblem(response, 422, [path]);
        }
        deepEqual(stateChanges(before, await stateSnapshot(service)), []);
      },
    );

    await t.step(
      "world-atlas countries with an id and a different properties.id publish; the id is the top-level one",
      async () => {
        // deno-lint-ignore no-explicit-any -- topojson-client ships no types here
        const topology = countries110m as any;
        const countries = feature(topology, topology.objects.countries) as unknown as {
          features: { id?: string; properties: Record<string, unknown> }[];
        };
        // Each country's own name as properties.id: an attribute unlike its numeric id (the 3 without id take it as id).
        for (const f of countries.features) f.properties = { ...f.properties, id: f.properties.name };
        const response = await publish(service, "countries", JSON.stringify(countries), {
          query: "classification=public&repair=true",
        });
        const manifest = await response.json();
        equal(response.status, 201, JSON.stringify(manifest));
        equal(manifest.feature_count, 177);

        const cities = fc([
          ["paris", 2.35, 48.85],
          ["nairobi", 36.82, -1.29],
          ["canberra", 149.13, -35.28],
          ["pristina", 21.17, 42.67],
        ].map(([id, x, y]) => ({
          type: "Feature",
          id,
          properties: {},
          geometry: { type: "Point", coordinates: [x, y] },
        })));
        const job = await runJob(service, {
          spatial_operation: "point_in_polygon",
          dataset: "countries",
          geometry_payload: cities,
        });
        equal(job.status, "COMPLETED", JSON.stringify(job));
        // ISO 3166-1 numeric codes (world-atlas's ids); Kosovo has none there, so its properties.id is its id.
        deepEqual(
          (await resultFeatures(service, job.job_id)).map((f) => [f.properties.left_id, f.properties.right_id]),
          [["canberra", "036"], ["nairobi", "404"], ["paris", "250"], ["pristina", "Kosovo"]],
        );
      },
    );

    await t.step(
      "a GDAL FlatGeobuf with an out-of-range longitude is a 422 naming the position, nothing written",
      async () => {
        const bytes = (await readFixture("gdal/points_sample.fgb")).slice();
        const first = parseFlatGeobuf(bytes).features[0]!;
        // Overwrite the first feature's x in place (the file is otherwise GDAL's own bytes).
        const x = new Uint8Array(new Float64Array([first.geometry.xy[0]!]).buffer);
        const at = indexOf(bytes, x, readLayout(bytes)!.featuresOffset);
        ok(at > 0, "the first feature's x is in the feature section");
        bytes.set(new Uint8Array(new Float64Array([200]).buffer), at);
        const before = await stateSnapshot(service);
        const response = await publish(service, "bad-fgb", bytes, { contentType: "application/flatgeobuf" });
        const problem = await expectProblem(response, 422);
        ok(
          problem.errors?.some((e) => /outside the valid range of EPSG:4326/.test(e.message)),
          JSON.stringify(problem),
        );
        deepEqual(stateChanges(before, await stateSnapshot(service)), []);
      },
    );

    await t.step("a FlatGeobuf whose header does not decode is a 422 that quotes no library message", async () => {
      // A column with an empty name: flatgeobuf's header reader throws "Column name unexpectedly missing".
      const writer = new ResultFlatGeobufWriter({
        columns: [{ name: "", type: ColumnType.Long }],
        count: 1,
        geometryType: GeometryType.Point,
      });
      writer.add({ id: 1, geometry: { kind: "Point", xy: new Float64Array([1, 1]) } });
      const head = writer.header(), body = writer.take();
      const bytes = new Uint8Array(head.length + body.length);
      bytes.set(head);
      bytes.set(body, head.length);
      const problem = await expectProblem(
        await publish(service, "corrupt-fgb", bytes, { contentType: "application/flatgeobuf" }),
        422,
      );
      ok(/header is corrupt \(its tables do not decode\)/.test(problem.detail), problem.detail);
      ok(!/unexpectedly|undefined|DataView|Cannot read/i.test(JSON.stringify(problem)), JSON.stringify(problem));
    });

    await t.step("a FlatGeobuf geometry over the per-geometry vertex limit is a 422, as in GeoJSON", async () => {
      const n = MAX_GEOMETRY_VERTICES + 1;
      const xy = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) xy.set([-10 + 20 * i / n, Math.sin(i) * 0.01], 2 * i);
      const bytes = writeFlatGeobuf([{ id: 1, geometry: { kind: "LineString", xy } }]);
      const before = await stateSnapshot(service);
      const problem = await expectProblem(
        await publish(service, "long-line", bytes, { contentType: "application/flatgeobuf" }),
        422,
        ["features[0].geometry"],
      );
      ok(/limit per geometry/.test(problem.errors![0]!.message));
      deepEqual(stateChanges(before, await stateSnapshot(service)), []);
    });

    await t.step(
      "properties named '', constructor or __proto__ publish and run (they broke the tile writer: 500, DEAD_LETTER)",
      async () => {
        const odd = '{"": 1, "constructor": "c", "__proto__": {"x": 1}, "toString": [2]}';
        const features = (n: number) =>
          `{"type":"FeatureCollection","features":[${
            Array.from({ length: n }, (_, i) =>
              `{"type":"Feature","id":${i},"properties":${i === 0 ? odd : "{}"},"geometry":{"type":"Polygon",` +
              `"coordinates":${JSON.stringify([square(i, 0, 0.5)])}}}`).join(",")
          }]}`;
        equal((await publish(service, "odd-names", features(3))).status, 201);
        const job = await runJob(service, {
          spatial_operation: "polygon_intersection",
          dataset: "odd-names",
          geometry_payload: JSON.parse(features(2)),
        });
        equal(job.status, "COMPLETED", JSON.stringify(job));
        deepEqual(
          (await resultFeatures(service, job.job_id)).map((f) => [f.properties.left_id, f.properties.right_id]),
          [[0, 0], [1, 1]],
        );
      },
    );

    await t.step("a user property named _cells does not change which pairs a join finds", async () => {
      // One polygon inside one H3 cell and one spanning many, each once with a hostile _cells and once without.
      const polygons = (extra: Record<string, unknown>) =>
        fc([
          {
            type: "Feature",
            id: "small",
            properties: { ...extra },
            geometry: { type: "Polygon", coordinates: [square(9, 10, 0.5)] },
          },
          {
            type: "Feature",
            id: "large",
            properties: { ...extra },
            geometry: { type: "Polygon", coordinates: [square(0, 20, 30)] },
          },
        ]);
      equal((await publish(service, "plain", JSON.stringify(polygons({})))).status, 201);
      equal(
        (await publish(service, "hostile", JSON.stringify(polygons({ _cells: "8001fffffffffff", id: "x" })))).status,
        201,
      );
      const points = [];
      for (let x = 0.05; x < 30; x += 1.5) for (let y = 10.05; y < 50; y += 1.5) points.push([x, y]);
      const payload = fc(
        points.map(([x, y], i) => ({
          type: "Feature",
          id: i,
          properties: {},
          geometry: { type: "Point", coordinates: [x, y] },
        })),
      );
      // The reference: a point strictly inside an axis-aligned square is inside it.
      const inside = (p: number[], x: number, y: number, s: number) =>
        p[0]! > x && p[0]! < x + s && p[1]! > y && p[1]! < y + s;
      const expected = points.flatMap((p, i) => [
        ...(inside(p, 0, 20, 30) ? [[i, "large"]] : []),
        ...(inside(p, 9, 10, 0.5) ? [[i, "small"]] : []),
      ]);
      ok(expected.some(([, id]) => id === "small") && expected.length > 100);
      for (const dataset of ["plain", "hostile"]) {
        const job = await runJob(service, {
          spatial_operation: "point_in_polygon",
          dataset,
          geometry_payload: payload,
        });
        equal(job.status, "COMPLETED", JSON.stringify(job));
        const pairs = (await resultFeatures(service, job.job_id)).map((
          f,
        ) => [f.properties.left_id, f.properties.right_id]);
        deepEqual(pairs, expected, dataset);
      }
    });
  } finally {
    await service.stop("SIGTERM");
  }
});

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
