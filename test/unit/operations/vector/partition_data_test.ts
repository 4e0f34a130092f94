import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  loadPartitionData,
  type PartitionData,
  PartitionDataCache,
  shareRuns,
  sideOf,
} from "../../../../operations/vector/partition_data.ts";
import { WindowFilter } from "../../../../operations/vector/window_filter.ts";
import { buildTiles } from "../../../../shared/tiles/tiling.ts";
import { MemoryBucket } from "../../shared/tiles/memory_bucket.ts";
import type { FlatFeature } from "../../../../wasm/flat_geometry.ts";
import {
  decodePart,
  encodePart,
  partFacts,
  PartFormatError,
  PartReader,
} from "../../../../durable-objects/partition_ledger/part_codec.ts";
import { geoJSONTextFromFlat } from "../../../../wasm/geojson.ts";
import { compareFeatureIds } from "../../../../wasm/flat_geometry.ts";
import { seededRandom } from "../../../../scripts/lib/seeded_random.ts";
import type { JobSpec, PointRow, ResultRow, TileRef } from "../../../../shared/job_spec.ts";
import { SpatialIndex } from "../../../../wasm/mod.ts";
import { loadCoreForTests, polygon, square } from "../../wasm/load_core.ts";

const core = await loadCoreForTests();

/** Inputs holding one real GEOS geometry (and its prepared form), said to weigh `bytes`. */
function inputs(key: string, bytes: number): PartitionData {
  const feature = { id: key, geometry: polygon(square(0, 0)) };
  const geometry = core.fromFeature(feature);
  const side = sideOf([feature], [[]]);
  side.geometries[0] = geometry;
  side.prepared[0] = geometry.prepared();
  const empty = sideOf([], []);
  const index = SpatialIndex.fromBounds([]);
  return { key, left: side, right: empty, index, ownCells: new Set(), readMs: 0, indexMs: 0, bytes };
}

const freed = (data: PartitionData) => data.left.geometries[0]!.freed;

Deno.test("the partition cache keeps interleaved tasks' inputs within its budget, least recently used out first", () => {
  const cache = new PartitionDataCache(100);
  const a = cache.insert(inputs("job_a/1/c1", 40));
  cache.unpin(a.key);
  const b = cache.insert(inputs("job_b/1/c2", 40));
  cache.unpin(b.key);
  equal(cache.acquire(a.key), a, "a cached task's next slice finds its inputs");
  cache.unpin(a.key);
  const c = cache.insert(inputs("job_c/1/c3", 40));
  cache.unpin(c.key);
  ok(freed(b), "b was least recently used: evicted and its GEOS objects freed");
  ok(!freed(a) && !freed(c));
  equal(cache.acquire(b.key), undefined);
  equal(cache.size, 2);
  equal(cache.bytes, 80);
});

Deno.test("inputs in use by a slice are never freed under it; released ones go when unpinned", () => {
  const cache = new PartitionDataCache(50);
  const a = cache.insert(inputs("job_a/1/c1", 40)); // pinned: a slice is computing with it
  const b = cache.insert(inputs("job_b/1/c2", 40));
  ok(!freed(a) && !freed(b), "over budget, but both are pinned");
  cache.unpin(a.key);
  ok(freed(a), "unpinned and over budget: evicted");
  cache.release(b.key);
  ok(!freed(b), "released while pinned: kept until its slice ends");
  cache.unpin(b.key);
  ok(freed(b));
  equal(cache.size, 0);
});

Deno.test("releasing a job frees all its cells and attempts, and only them", () => {
  const cache = new PartitionDataCache(1000);
  const entries = ["job_a/1/c1", "job_a/2/c2", "job_ab/1/c1"].map((key) => cache.insert(inputs(key, 1)));
  for (const e of entries) cache.unpin(e.key);
  cache.releaseJob("job_a");
  deepEqual(entries.map(freed), [true, true, false]);
});

Deno.test("a staged part round-trips rows exactly: ids keep their types, geometries and numbers their bits", () => {
  const rows: ResultRow[] = [
    { l: 1, r: "b", g: polygon(square(0, 0), square(0.25, 0.25, 0.5)), p: { area: 0.75, area_m2: 9.2e9 + 0.1 } },
    { l: "x", r: 2 ** 40, g: { kind: "Point", xy: new Float64Array([0.1 + 0.2, -33.3]) }, p: { area: 0, area_m2: 0 } },
  ];
  const back = decodePart(encodePart(rows));
  deepEqual(back.map((r) => [r.l, r.r, r.p]), rows.map((r) => [r.l, r.r, r.p]));
  deepEqual(back.map((r) => [r.g.kind, [...r.g.xy], r.g.ends ? [...r.g.ends] : null]), [
    ["Polygon", [...rows[0]!.g.xy], [5, 10]],
    ["Point", [0.1 + 0.2, -33.3], null],
  ]);
  deepEqual(decodePart(encodePart([{ l: 3, r: 4, g: rows[1]!.g }])).map((r) => r.p), [undefined]);
});

Deno.test("multi-part geometries round-trip through a part, and other bytes are refused", () => {
  const multi = {
    kind: "MultiPolygon" as const,
    xy: new Float64Array(0),
    parts: [polygon(square(0, 0)), polygon(square(5, 5, 2), square(5.5, 5.5, 0.5))],
  };
  const line = {
    kind: "MultiLineString" as const,
    xy: new Float64Array([0, 0, 1, 1, 2, 2, 3, 3]),
    ends: new Uint32Array([2, 4]),
  };
  const [a, b] = decodePart(encodePart([{ l: "m", r: 1, g: multi }, { l: "m", r: 2, g: line }]));
  equal(a!.g.kind, "MultiPolygon");
  deepEqual(a!.g.parts!.map((p) => [[...p.xy], p.ends ? [...p.ends] : null]), [
    [[...multi.parts[0]!.xy], null],
    [[...multi.parts[1]!.xy], [5, 10]],
  ]);
  deepEqual([b!.g.kind, [...b!.g.xy], [...b!.g.ends!]], ["MultiLineString", [...line.xy], [2, 4]]);
  deepEqual(decodePart(encodePart([])), []);
  throws(() => decodePart(new TextEncoder().encode('{"l":1}\n')), PartFormatError);
  throws(() => decodePart(encodePart([{ l: 1, r: 2, g: line }]).subarray(0, 40)), PartFormatError);
});

Deno.test("a part of points only stores no geometry structure, and reads back the same points", () => {
  const rows: ResultRow[] = Array.from({ length: 1000 }, (_, i) => ({
    l: "c",
    r: i,
    g: { kind: "Point", xy: new Float64Array([i / 7, -i / 3]) },
  }));
  const bytes = encodePart(rows);
  const mixed = encodePart([...rows.slice(1), { l: "c", r: 0, g: polygon(square(0, 0)) }]);
  ok(bytes.length + 1000 * 16 - 100 < mixed.length, `${bytes.length} vs ${mixed.length} bytes`);
  deepEqual(decodePart(bytes).map((r) => [r.r, r.g.kind, [...r.g.xy]]), rows.map((r) => [r.r, "Point", [...r.g.xy]]));
});

Deno.test("right ids that are all integers in [0, 2^32) are stored as a u32 column; any other id keeps JSON", () => {
  const point = (i: number) => ({ kind: "Point" as const, xy: new Float64Array([i, -i]) });
  const rows: ResultRow[] = Array.from({ length: 1000 }, (_, i) => ({ l: "c", r: 1_000_000 + i * 7, g: point(i) }));
  rows.push({ l: "d", r: 2 ** 32 - 1, g: point(1) });
  const column = encodePart(rows);
  const back = decodePart(column);
  deepEqual(back.map((r) => r.r), rows.map((r) => r.r));
  ok(back.every((r) => typeof r.r === "number"));
  for (const odd of [2 ** 32, -1, 0.5, "7"]) {
    const json = encodePart([...rows, { l: "e", r: odd, g: point(2) }]);
    ok(json.length > column.length + 3 * rows.length, `${odd}: ${json.length} vs ${column.length} bytes`);
    deepEqual(decodePart(json).map((r) => r.r), [...rows.map((r) => r.r), odd]);
  }
  throws(() => decodePart(column.subarray(0, column.length - 4)), PartFormatError);
});

Deno.test("point rows staged as coordinates encode the same bytes as rows with point geometries", () => {
  const rows: ResultRow[] = [{ l: 1, r: 2, g: { kind: "Point", xy: new Float64Array([0.1, -0.2]) } }, {
    l: 1,
    r: 5,
    g: { kind: "Point", xy: new Float64Array([1 / 3, 2 / 3]) },
  }];
  const pointRows: PointRow[] = rows.map(({ l, r, g }) => ({ l, r, x: g.xy[0]!, y: g.xy[1]! }));
  deepEqual(encodePart(pointRows), encodePart(rows));
  deepEqual(partFacts(pointRows), partFacts(rows));
  // Beside a polygon row, a point row still round-trips (as a Point geometry).
  const mixed = decodePart(encodePart([pointRows[0]!, { l: 2, r: 1, g: polygon(square(0, 0)) }]));
  deepEqual([mixed[0]!.g.kind, [...mixed[0]!.g.xy]], ["Point", [0.1, -0.2]]);
});

Deno.test("a part cursor's GeoJSON text of each row is JSON.stringify of the row's properties and geometry", () => {
  const rows: ResultRow[] = [
    { l: 1, r: "b", g: polygon(square(0, 0), square(0.25, 0.25, 0.5)), p: { area: 0.75, area_m2: 9.2e9 + 0.1 } },
    { l: "x", r: 2 ** 40, g: { kind: "Point", xy: new Float64Array([0.1 + 0.2, -1e-7]) }, p: { area: 1e21 } },
    { l: "x", r: 3, g: { kind: "Point", xy: new Float64Array([-0, 5]) } },
  ];
  const points: ResultRow[] = [{ l: "é", r: -2, g: { kind: "Point", xy: new Float64Array([1 / 3, -179.99]) } }];
  for (const part of [rows, points]) {
    const reader = new PartReader(encodePart(part));
    for (const row of part) {
      ok(reader.advance());
      equal(`{${reader.propertiesText().slice(1)}}`, JSON.stringify(row.p ?? {}));
      equal(reader.geometryText(), geoJSONTextFromFlat(row.g));
      equal(
        reader.geometryText(),
        JSON.stringify({ type: row.g.kind, coordinates: JSON.parse(reader.geometryText()).coordinates }),
      );
      deepEqual([reader.l, reader.r], [row.l, row.r]);
    }
    equal(reader.advance(), false);
  }
});

Deno.test("a side sorts feature indexes by id: packed integer ids, other numbers and strings alike", () => {
  const random = seededRandom(7);
  const point = { kind: "Point" as const, xy: new Float64Array([0, 0]) };
  const sideWith = (ids: (number | string)[]) => sideOf(ids.map((id) => ({ id, geometry: point })), ids.map(() => []));
  const cases: [string, (number | string)[], boolean][] = [
    ["integers below 2^32", Array.from({ length: 5000 }, () => Math.floor(random() * 2 ** 32)), true],
    ["negative and fractional", Array.from({ length: 5000 }, () => (random() - 0.5) * 1e6), false],
    ["past 2^32", Array.from({ length: 500 }, () => 2 ** 32 + Math.floor(random() * 1e9)), false],
    [
      "strings and numbers",
      Array.from({ length: 500 }, (_, i) => (i % 3 ? `f${Math.floor(random() * 1e4)}` : i)),
      false,
    ],
  ];
  for (const [name, ids, packable] of cases) {
    const side = sideWith(ids);
    equal(side.packableIds, packable, name);
    const js = Array.from({ length: ids.length }, (_, j) => j).filter(() => random() < 0.6);
    const expected = [...js].sort((x, y) => compareFeatureIds(ids[x]!, ids[y]!) || x - y);
    deepEqual(side.sortById(js).map((j) => ids[j]), expected.map((j) => ids[j]), name);
  }
});

Deno.test("copied attributes (strings, numbers, booleans, null, JSON) round-trip through a part, point rows too", () => {
  const square1 = polygon(square(0, 0));
  const rows: (ResultRow | PointRow)[] = [
    { l: 1, r: "a", g: square1, a: ["Adams", 1.5, true, null, { k: [1] }] },
    { l: 1, r: "b", g: square1, a: ["Adams", 1, false, "x", { k: [1] }] },
    { l: 2, r: "a", g: square1, a: ["1", 1.5, null, null, [2]] },
  ];
  const back = decodePart(encodePart(rows));
  deepEqual(back.map((r) => r.a), rows.map((r) => r.a));
  const points: PointRow[] = [
    { l: 7, r: 1, x: 1, y: 2, a: ["é", 3] },
    { l: 7, r: 2, x: 3, y: 4, a: [null, -0.5] },
  ];
  const reader = new PartReader(encodePart(points));
  const seen: unknown[][] = [];
  while (reader.advance()) seen.push([reader.attribute(0), reader.attribute(1)]);
  deepEqual(seen, [["é", 3], [null, -0.5]]);
  equal(reader.attributeCount, 2);
  deepEqual(decodePart(encodePart([{ l: 1, r: 2, g: square1 }])).map((r) => r.a), [undefined]);
});

Deno.test("a part's attribute dictionary holds each distinct value once", () => {
  const g = polygon(square(0, 0));
  const many: ResultRow[] = Array.from({ length: 1000 }, (_, i) => ({ l: 1, r: i, g, a: ["a long county name"] }));
  const once = encodePart(many.slice(0, 1)).length;
  // 999 more rows: their geometry and 4 bytes of attribute index each (and the meta JSON), the name not again.
  const perRow = (encodePart(many).length - once) / 999;
  const bare = (encodePart(many.map(({ a: _a, ...row }) => row)).length - encodePart([many[0]!]).length) / 999;
  ok(perRow - bare < 4.1, `${perRow} vs ${bare} bytes a row`);
});

Deno.test("a partition's shards each read their own run of the right side: together every feature once", async () => {
  const bucket = new MemoryBucket();
  const store = async (features: FlatFeature[], prefix: string) => {
    const tiles: Record<string, TileRef> = {};
    for (const { entry, bytes } of buildTiles(features, 3, prefix)) {
      await bucket.put(entry.key, bytes);
      tiles[entry.cell] = entry;
    }
    return tiles;
  };
  const random = seededRandom(20);
  const points: FlatFeature[] = Array.from({ length: 4000 }, (_, i) => ({
    id: i,
    geometry: { kind: "Point", xy: new Float64Array([-100 + random() * 2, 40 + random() * 2]) },
  }));
  // Boxes of 0.3° straddle resolution-3 cells: stored in each tile they touch, read once.
  const boxes: FlatFeature[] = Array.from({ length: 400 }, (_, i) => {
    const [x, y] = [-100 + random() * 1.7, 40 + random() * 1.7];
    return { id: `b${i}`, geometry: polygon(square(x, y, 0.3)) };
  });
  const left = await store([{ id: "all", geometry: polygon(square(-101, 39, 4)) }], "l/");
  for (const [kind, right] of [["points", await store(points, "p/")], ["boxes", await store(boxes, "b/")]] as const) {
    const cells = Object.keys(right).sort();
    ok(cells.length > 3, `${kind}: ${cells.length} cells`);
    const spec = (shards?: [number, number]) =>
      ({
        job_id: "j",
        operation: "point_in_polygon",
        bbox: null,
        left: { kind: "dataset", tiles: Object.fromEntries(cells.map((c) => [c, Object.values(left)[0]!])) },
        right: { kind: "dataset", tiles: right },
        members: { p: cells },
        ...(shards ? { shards: { p: shards } } : {}),
      }) as unknown as JobSpec;
    using window = new WindowFilter(core, [[-180, -90, 180, 90]]);
    const ids = (data: PartitionData) => Array.from({ length: data.right.size }, (_, i) => data.right.id(i));
    const whole = ids(await loadPartitionData(bucket, spec(), 0, "p", window));
    equal(new Set(whole).size, whole.length, `${kind}: each feature once without shards`);
    equal(whole.length, kind === "points" ? points.length : boxes.length);
    const shares = await Promise.all([0, 1, 2].map((k) => loadPartitionData(bucket, spec([k, 3]), 0, "p", window)));
    const sharded = shares.flatMap(ids);
    deepEqual(sharded.map(String).sort(), whole.map(String).sort(), `${kind}: shards hold every feature once`);
    // A run is a third of the stored copies: a third of the points; boxes kept from their first tile only.
    const [low, high] = kind === "points" ? [0.33, 0.34] : [0.05, 0.65];
    for (const { right: { size } } of shares) {
      ok(size >= low * whole.length && size <= high * whole.length, `${kind}: ${size} of ${whole.length} in a share`);
    }
  }
});

Deno.test("shareRuns splits tiles' positions into runs that cover each position once", () => {
  const counts = [5, 0, 12, 3];
  for (const count of [1, 3, 7, 25]) {
    const seen = counts.map((n) => new Array(n).fill(0));
    for (let index = 0; index < count; index++) {
      shareRuns(counts, index, count).forEach(([from, to], t) => {
        for (let i = from; i < to; i++) seen[t]![i]++;
      });
    }
    deepEqual(seen, counts.map((n) => new Array(n).fill(1)), `${count} shares`);
  }
  deepEqual(shareRuns(counts, 1, 2), [[5, 5], [0, 0], [5, 12], [0, 3]]);
});
