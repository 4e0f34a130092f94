import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { R2TileReader } from "../../../../shared/tiles/fgb_reader.ts";
import { parseFlatGeobuf } from "../../../../shared/tiles/fgb_features.ts";
import { readLayout } from "../../../../shared/tiles/fgb_header.ts";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import {
  columnTypeOfBits,
  geometryTypeOfKinds,
  ResultFlatGeobufWriter,
  valueClassBit,
  writeFlatGeobuf,
} from "../../../../shared/tiles/fgb_writer.ts";
import { FlatGeobufFormatError, MissingFeatureIdError, TileNotFoundError } from "../../../../shared/tiles/errors.ts";
import { bboxesIntersect, geometryBbox } from "../../../../shared/tiles/geometry_bbox.ts";
import type { Bbox } from "../../../../wasm/flat_geometry.ts";
import { seededPoints, seededRandom } from "../../../../scripts/lib/seeded_random.ts";
import type { FlatFeature, FlatGeometry } from "../../../../wasm/flat_geometry.ts";
import { MemoryBucket } from "./memory_bucket.ts";

const f64 = (...v: number[]) => new Float64Array(v);

/** Plain-object form for deep comparison (typed arrays as arrays, features sorted by id). */
function plain(features: FlatFeature[]) {
  const geom = (g: FlatGeometry): unknown => ({
    kind: g.kind,
    xy: [...g.xy],
    ends: g.ends && g.ends.length > 1 ? [...g.ends] : undefined,
    parts: g.parts?.map(geom),
  });
  return features
    .map((f) => ({ id: f.id, geometry: geom(f.geometry), properties: f.properties ?? {} }))
    .sort((a, b) => String(typeof a.id + a.id).localeCompare(String(typeof b.id + b.id)));
}

const square = (x: number, y: number, s: number) => [x, y, x + s, y, x + s, y + s, x, y + s, x, y];

const mixed: FlatFeature[] = [
  {
    id: 1,
    geometry: { kind: "Point", xy: f64(2.35, 48.85) },
    properties: { name: "Paris", pop: 2.1e6, capital: true },
  },
  {
    id: 2,
    geometry: { kind: "MultiPoint", xy: f64(0, 0, 1, 1, 2, 2) },
    properties: { tags: ["a", "b"], nested: { k: 1 } },
  },
  { id: 3, geometry: { kind: "LineString", xy: f64(0, 0, 10, 10, 20, 0) }, properties: { name: "zig" } },
  {
    id: 4,
    geometry: { kind: "MultiLineString", xy: f64(0, 0, 1, 1, 5, 5, 6, 6, 7, 7), ends: new Uint32Array([2, 5]) },
    properties: { bytes: new Uint8Array([1, 2, 3]) },
  },
  {
    id: 5,
    geometry: {
      kind: "Polygon",
      xy: f64(...square(0, 0, 10), ...square(2, 2, 2), ...square(6, 6, 1)),
      ends: new Uint32Array([5, 10, 15]),
    },
    properties: { name: "holey", mixed: 1 },
  },
  {
    id: 6,
    geometry: {
      kind: "MultiPolygon",
      xy: new Float64Array(0),
      parts: [
        { kind: "Polygon", xy: f64(...square(20, 20, 5), ...square(21, 21, 1)), ends: new Uint32Array([5, 10]) },
        { kind: "Polygon", xy: f64(...square(30, 30, 1)) },
      ],
    },
    properties: { name: "two parts", mixed: "one", unicode: "Zürich – 東京" },
  },
];

Deno.test("writer → reader round-trips points, lines, polygons with holes and multipolygons with ids and properties", () => {
  const bytes = writeFlatGeobuf(mixed);
  const { header, features } = parseFlatGeobuf(bytes);
  equal(header.featuresCount, mixed.length);
  equal(header.indexNodeSize, 16);
  equal(header.epsg, 4326);
  deepEqual(header.envelope, [0, 0, 31, 48.85]);
  deepEqual(plain(features), plain(mixed));
});

Deno.test("numeric, string and mixed ids keep their JSON type through the id column", () => {
  for (
    const ids of [
      [0, 7, 123456789012],
      [0.5, -3, 1e300],
      ["a", "0", "007"],
      [1, "1", 2.5],
    ] as (string | number)[][]
  ) {
    const features = ids.map((id, i) => ({ id, geometry: { kind: "Point" as const, xy: f64(i, i) } }));
    const back = parseFlatGeobuf(writeFlatGeobuf(features)).features;
    deepEqual(back.map((f) => f.id).sort(), [...ids].sort(), `ids ${JSON.stringify(ids)}`);
    for (const f of back) deepEqual(f.properties, {});
  }
});

Deno.test("null properties are not stored and read back as absent keys", () => {
  const [back] = parseFlatGeobuf(
    writeFlatGeobuf([{ id: 1, geometry: { kind: "Point", xy: f64(0, 0) }, properties: { a: null, b: 2 } }]),
  ).features;
  deepEqual(back!.properties, { b: 2 });
});

Deno.test("user properties named id, _cells or _x stay the user's own attributes; the cells column is internal", () => {
  const properties = { id: "FJI", _cells: "8a,8b", __x: 1, _id: 2, name: "Fiji" };
  const bytes = writeFlatGeobuf([
    { id: 242, geometry: { kind: "Point", xy: f64(0, 0) }, properties },
    { id: 834, geometry: { kind: "Point", xy: f64(1, 1) }, properties: { name: "Tanzania" }, cells: "c1,c2" },
  ]);
  const stored = parseFlatGeobuf(bytes, { storedColumns: true }).features;
  deepEqual(stored.map((f) => [f.id, f.properties, f.cells]), [
    [242, properties, undefined],
    [834, { name: "Tanzania" }, "c1,c2"],
  ]);
  // Read as a file from outside (the names as written), no column is internal: nothing becomes `cells`.
  const foreign = parseFlatGeobuf(bytes).features;
  equal(foreign.some((f) => f.cells !== undefined), false);
  deepEqual(foreign[0]!.properties, { _id: "FJI", __cells: "8a,8b", ___x: 1, __id: 2, name: "Fiji" });
});

Deno.test("property names that are empty or name Object's own members round-trip as plain data", () => {
  const odd = JSON.parse('{"": 1, "constructor": "c", "__proto__": {"x": 1}, "toString": 2, "_": 3}');
  const bytes = writeFlatGeobuf([
    { id: 1, geometry: { kind: "Point", xy: f64(0, 0) }, properties: odd },
    { id: 2, geometry: { kind: "Point", xy: f64(1, 1) }, properties: { name: "plain" } },
  ]);
  const [first, second] = parseFlatGeobuf(bytes, { storedColumns: true }).features;
  equal(JSON.stringify(first!.properties), JSON.stringify(odd));
  equal(Object.getPrototypeOf(first!.properties), Object.prototype);
  deepEqual(second!.properties, { name: "plain" });
});

Deno.test("the writer rejects empty and malformed geometries with the feature id in the message", () => {
  throws(() => writeFlatGeobuf([{ id: 9, geometry: { kind: "Point", xy: f64() } }]), /Feature 9 has an empty geometry/);
  throws(
    () =>
      writeFlatGeobuf([{
        id: 9,
        geometry: { kind: "Polygon", xy: f64(...square(0, 0, 1)), ends: new Uint32Array([4]) },
      }]),
    /last end 4 is not the point count 5/,
  );
});

Deno.test("a result written piecewise keeps its order, its declared schema and carries no index", () => {
  const features = [3, 1, 2].map((id) => ({
    id,
    geometry: { kind: "Point" as const, xy: f64(id, -id) },
    properties: { left_id: `l${id}`, area: id / 2 },
  }));
  const writer = new ResultFlatGeobufWriter({
    columns: [
      { name: "id", type: columnTypeOfBits(valueClassBit(1)) },
      { name: "left_id", type: columnTypeOfBits(valueClassBit("x")) },
      { name: "area", type: columnTypeOfBits(valueClassBit(1) | valueClassBit(0.5)) },
    ],
    count: 3,
    geometryType: geometryTypeOfKinds(["Point"]),
  });
  const chunks = [writer.header()];
  writer.add(features[0]!);
  chunks.push(writer.take());
  for (const f of features.slice(1)) writer.add(f);
  chunks.push(writer.take());
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
  const { header, features: back } = parseFlatGeobuf(bytes);
  equal(header.indexNodeSize, 0);
  equal(header.featuresCount, 3);
  deepEqual(header.columns.map((c) => [c.name, c.type]), [["id", ColumnType.Long], ["left_id", ColumnType.String], [
    "area",
    ColumnType.Double,
  ]]);
  deepEqual(back.map((f) => [f.id, f.properties]), features.map((f) => [f.id, f.properties]));
});

Deno.test("an empty collection writes a valid file with no index, and reading or searching it yields nothing", async () => {
  const bytes = writeFlatGeobuf([]);
  const { header, features } = parseFlatGeobuf(bytes);
  equal(header.featuresCount, 0);
  equal(header.indexNodeSize, 0);
  deepEqual(features, []);
  const bucket = new MemoryBucket();
  await bucket.put("empty.fgb", bytes);
  const reader = await R2TileReader.open(bucket, "empty.fgb");
  deepEqual(await reader.collect([-180, -90, 180, 90]), []);
});

Deno.test("invalid bytes are a FlatGeobufFormatError, never a hang (flatgeobuf #430)", async () => {
  throws(() => parseFlatGeobuf(new Uint8Array(0)), FlatGeobufFormatError);
  throws(() => parseFlatGeobuf(new TextEncoder().encode('{"type":"FeatureCollection"}')), FlatGeobufFormatError);
  const good = writeFlatGeobuf(mixed);
  throws(() => parseFlatGeobuf(good.subarray(0, good.length - 10)), FlatGeobufFormatError);
  throws(() => parseFlatGeobuf(good.subarray(0, 200)), FlatGeobufFormatError);
  const bucket = new MemoryBucket();
  await bucket.put("junk.fgb", new Uint8Array(1000).fill(7));
  await rejects(R2TileReader.open(bucket, "junk.fgb"), FlatGeobufFormatError);
  await bucket.put("cut.fgb", good.subarray(0, 300));
  await rejects(
    async () => (await R2TileReader.open(bucket, "cut.fgb")).collect([0, 0, 50, 50]),
    FlatGeobufFormatError,
  );
  await rejects(R2TileReader.open(bucket, "missing.fgb"), TileNotFoundError);
});

Deno.test("files without an id column throw MissingFeatureIdError, or number features by index on request", () => {
  const bytes = writeFlatGeobuf(mixed.slice(0, 2));
  const { features } = parseFlatGeobuf(bytes, { idColumn: "name", missingId: "index" });
  ok(features.some((f) => f.id === "Paris"));
  throws(() => parseFlatGeobuf(bytes, { idColumn: "nope" }), MissingFeatureIdError);
});

function randomFeatures(count: number, seed: number): FlatFeature[] {
  const random = seededRandom(seed);
  const xy = seededPoints(count, seed);
  return Array.from({ length: count }, (_, i): FlatFeature => {
    const x = xy[2 * i]!, y = xy[2 * i + 1]!;
    if (i % 3 === 0) {
      return { id: i, geometry: { kind: "Point", xy: xy.slice(2 * i, 2 * i + 2) }, properties: { k: i % 7 } };
    }
    const s = random() * 0.5;
    return { id: `f${i}`, geometry: { kind: "Polygon", xy: f64(...square(x, y, s)) }, properties: { k: "poly" } };
  });
}

Deno.test("bbox search returns exactly the features whose bbox intersects the rect (brute force), whole and ranged", async () => {
  const features = randomFeatures(20_000, 11);
  const bytes = writeFlatGeobuf(features);
  const bucket = new MemoryBucket();
  await bucket.put("t.fgb", bytes);
  const random = seededRandom(5);
  const rects: Bbox[] = [[-180, -90, 180, 90], [0, 0, 1, 1], [-100, 30, -100, 30]];
  for (let i = 0; i < 25; i++) {
    const x = -125 + random() * 59, y = 24 + random() * 26, w = random() * random() * 10, h = random() * random() * 5;
    rects.push([x, y, x + w, y + h]);
  }
  const f0 = features[0]!.geometry.xy;
  rects.push([f0[0]!, f0[1]!, f0[0]!, f0[1]!]); // a degenerate rect exactly on a point
  const whole = await R2TileReader.open(bucket, "t.fgb", { wholeObjectThreshold: Infinity });
  const ranged = await R2TileReader.open(bucket, "t.fgb", { wholeObjectThreshold: 0, prefetchBytes: 4096 });
  equal(whole.mode, "whole");
  equal(ranged.mode, "ranged");
  for (const rect of rects) {
    const expected = features.filter((f) => bboxesIntersect(geometryBbox(f.geometry)!, rect));
    const a = await whole.collect(rect);
    const b = await ranged.collect(rect);
    deepEqual(plain(a), plain(expected), `whole ${rect}`);
    deepEqual(plain(b), plain(expected), `ranged ${rect}`);
  }
  ok(ranged.stats.bytesRead > 0);
});

Deno.test("a small rect on a big tile reads a small fraction of the object with few requests", async () => {
  const features = randomFeatures(50_000, 3);
  const bytes = writeFlatGeobuf(features);
  const bucket = new MemoryBucket();
  await bucket.put("big.fgb", bytes);
  const reader = await R2TileReader.open(bucket, "big.fgb", { size: bytes.length });
  equal(reader.mode, "ranged");
  const rect: Bbox = [-100, 40, -99.9, 40.1];
  const found = await reader.collect(rect);
  const expected = features.filter((f) => bboxesIntersect(geometryBbox(f.geometry)!, rect));
  equal(found.length, expected.length);
  ok(reader.stats.bytesRead < bytes.length / 20, `read ${reader.stats.bytesRead} of ${bytes.length}`);
  ok(reader.stats.requests < 30, `${reader.stats.requests} requests`);
});

Deno.test("reading a whole big tile fetches its features but not its index, in two requests", async () => {
  const features = randomFeatures(30_000, 9);
  const bytes = writeFlatGeobuf(features);
  const bucket = new MemoryBucket();
  await bucket.put("big.fgb", bytes);
  const layout = readLayout(bytes)!;
  for (const prefetchBytes of [4096, layout.featuresOffset + 1000]) {
    const reader = await R2TileReader.open(bucket, "big.fgb", { size: bytes.length, prefetchBytes });
    deepEqual(plain(await reader.all()), plain(parseFlatGeobuf(bytes).features), `prefetch ${prefetchBytes}`);
    equal(reader.stats.requests, 2);
    ok(reader.stats.bytesRead <= bytes.length - layout.indexLength + prefetchBytes, `${reader.stats.bytesRead} bytes`);
  }
});

Deno.test("readLayout asks for more bytes until the header is complete", () => {
  const bytes = writeFlatGeobuf(mixed);
  equal(readLayout(bytes.subarray(0, 10)), null);
  ok(readLayout(bytes)!.featuresOffset > 0);
});
