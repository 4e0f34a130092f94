/**
 * Fuzz in process: hundreds of malformed POST /v1/jobs and PUT /v1/datasets
 * bodies, each built to be invalid, must all be 4xx problems and never reach a
 * handler; and thousands of the structure-aware fuzzer's cases
 * (scripts/lib/fuzz_cases.ts, run against workerd by test/workerd/fuzz_test.ts)
 * never get a 5xx from the HTTP layer.
 */
import { equal, ok } from "node:assert/strict";
import { seededRandom } from "../../../scripts/lib/seeded_random.ts";
import { fuzzGenerator, readVectorSeeds } from "../../../scripts/lib/fuzz_cases.ts";
import { captureLogs, signToken, TEST_ENV } from "./auth/test_tokens.ts";
import { square, validJob } from "../shared/contract/fixtures.ts";
import { recordingApp } from "./app_harness.ts";

const random = seededRandom(20250101);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** Values that are invalid for each field (never accidentally valid). */
const BAD_VALUES: Record<string, unknown[]> = {
  job_idempotency_key: [null, 1, "", "not-a-uuid", "9b2f4c3e-1d2a-1b7c-8e9f-0a1b2c3d4e5f", [], {}],
  spatial_operation: [null, 0, "", "union", "POLYGON_INTERSECTION", [], {}],
  input_crs: [null, 4326, "", "EPSG:999999", "epsg:4326", "WGS84", []],
  output_crs: [null, 4326, "", "EPSG:0", "WGS84", []],
  output_format: [null, 1, "", "shp", "GeoJSON", {}],
  dataset: [null, 1, "", "../x", "a b", "-lead", "x".repeat(200), []],
  bbox: [null, "0,0,1,1", [0, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0], [-181, 0, 0, 1], [0, -91, 1, 0], [0, 0, 1, "1"], {}],
  slo_deadline_ms: [null, 0, -5, 1.5, "300000", 1e12, true],
  callback_url: [null, 1, "", "http://example.org", "ftp://x", "not a url", "javascript:alert(1)"],
  repair: [null, 0, 1, "true", "yes", []],
  geometry_payload: [null, 1, "x", [], {}, { type: "Feature" }, { type: "FeatureCollection" }, {
    type: "FeatureCollection",
    features: {},
  }],
};

type Mutator = (job: Record<string, unknown>) => Record<string, unknown> | string;
const features = (job: Record<string, unknown>) =>
  (job.geometry_payload as { features: Record<string, unknown>[] }).features;

const MUTATORS: Mutator[] = [
  (j) => {
    const copy = { ...j };
    delete copy[pick(["job_idempotency_key", "spatial_operation", "dataset"])];
    return copy; // a required field missing
  },
  (j) => {
    const field = pick(Object.keys(BAD_VALUES));
    return { ...j, [field]: clone(pick(BAD_VALUES[field]!)) };
  },
  (j) => ({ ...j, [`extra_${Math.floor(random() * 1000)}`]: pick([1, "x", null, {}]) }),
  (j) => {
    const { job_idempotency_key: _k, ...rest } = j;
    return rest;
  },
  (j) => {
    const { dataset: _d, ...rest } = j;
    return rest;
  },
  (j) => ({ ...j, left_dataset: "other" }), // both sides
  (j) => {
    const { geometry_payload: _g, ...rest } = j;
    return rest; // neither side
  },
  (j) => ({ ...j, predicate: pick(["intersects", "within", "dwithin", "touches"]) }), // predicate on a non-join
  (j) => ({ ...j, spatial_operation: "spatial_join", predicate: "dwithin", distance_m: pick([0, -1, "5", null]) }),
  (j) => ({ ...j, spatial_operation: "spatial_join", predicate: "dwithin" }),
  (j) => ({ ...j, distance_m: 10 }),
  (j) => {
    const f = features(j)[0]!;
    (f.geometry as { coordinates: number[][][] }).coordinates[0]![4] = [random(), random() + 2];
    return j; // open ring
  },
  (j) => {
    const f = features(j)[0]!;
    (f.geometry as { coordinates: number[][][] }).coordinates[0] = [[0, 0], [1, 1], [0, 0]];
    return j; // ring too short
  },
  (j) => {
    const f = features(j)[0]!;
    const ring = (f.geometry as { coordinates: number[][][] }).coordinates[0]!;
    const k = Math.floor(random() * 4) + 1;
    ring[k] = [pick([181, -181, 1000, 1e300]), pick([91, -91, 0])];
    return j; // out of range
  },
  (j) => {
    const f = features(j)[0]!;
    (f.geometry as { coordinates: unknown[][] }).coordinates[0]![1] = pick<unknown>([
      ["1", 0],
      [null, 0],
      [0],
      [0, 0, 0, 0],
      {},
      "x",
    ]);
    return j; // bad position
  },
  (j) => {
    const f = features(j)[0]!;
    f.geometry = pick([null, {}, { type: "Circle", coordinates: [0, 0] }, {
      type: "GeometryCollection",
      geometries: [],
    }, {
      type: "Polygon",
      coordinates: [],
    }, { type: "Polygon", coordinates: square(), extra: 1 }]);
    return j;
  },
  (j) => {
    const f = features(j)[0]!;
    delete f.id;
    return j; // no id
  },
  (j) => {
    features(j)[1]!.properties = { id: "a" };
    return j; // duplicate id
  },
  (j) => {
    features(j)[0]!.id = pick([null, true, {}, [], ""]);
    return j;
  },
  (j) => {
    features(j).push({ type: "Feature", id: "p", properties: {}, geometry: { type: "Point", coordinates: [0, 0] } });
    return j; // point in polygon_intersection
  },
  (j) => JSON.stringify(j).replace(/\d+(\.\d+)?\]/, "1e999]"), // Infinity
  (j) => JSON.stringify(j).slice(0, Math.max(1, Math.floor(random() * JSON.stringify(j).length - 1))), // truncated
  (j) => JSON.stringify(j).replace(/"/, "'"),
  () => "[".repeat(40) + "]".repeat(40), // too deep
  () => pick(["", "null", "[]", "1", '"x"', "true", "{}", "{,}", "\u0000", "NaN"]),
  () => String.fromCharCode(...Array.from({ length: 30 }, () => Math.floor(random() * 256))),
];

Deno.test("fuzz: 300 malformed job bodies are all 4xx problems and never reach the handler", async () => {
  const logs = captureLogs();
  try {
    const { app, calls } = recordingApp();
    const token = await signToken();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const mutator = MUTATORS[i % MUTATORS.length]!;
      const mutated = mutator(validJob());
      let body = typeof mutated === "string" ? mutated : JSON.stringify(mutated);
      let contentType = "application/json";
      const wrapper = random();
      if (wrapper < 0.05) contentType = pick(["text/plain", "application/xml", "multipart/form-data", ""]);
      else if (wrapper < 0.08) body = body.slice(0, body.length - 1); // a trailing byte lost
      const res = await app.request("/v1/jobs", {
        method: "POST",
        headers: contentType
          ? { authorization: `Bearer ${token}`, "content-type": contentType }
          : { authorization: `Bearer ${token}` },
        body,
      }, TEST_ENV);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      ok([400, 413, 415, 422].includes(res.status), `case ${i}: ${res.status} for ${body.slice(0, 200)}`);
      equal(res.headers.get("content-type"), "application/problem+json");
      ok(res.headers.get("x-request-trace-id"));
      equal(calls.length, 0, `case ${i} reached the handler: ${body.slice(0, 300)}`);
    }
    ok((statuses.get(422) ?? 0) > 50 && (statuses.get(400) ?? 0) > 10, JSON.stringify([...statuses]));
  } finally {
    logs.restore();
  }
});

Deno.test("fuzz: 100 malformed dataset bodies are all 4xx problems and never reach the handler", async () => {
  const logs = captureLogs();
  try {
    const { app, calls } = recordingApp();
    const token = await signToken();
    const fc = () => ({
      type: "FeatureCollection",
      features: [
        { type: "Feature", id: 1, properties: {}, geometry: { type: "Polygon", coordinates: square() } },
        { type: "Feature", id: 2, properties: {}, geometry: { type: "Point", coordinates: [3, 3] } },
      ],
    });
    const mutators: ((x: ReturnType<typeof fc>) => unknown)[] = [
      (x) => ({ ...x, type: "Feature" }),
      (x) => ({ ...x, features: null }),
      (x) => (x.features[1]!.id = 1, x),
      (x) => (delete (x.features[0] as { id?: number }).id, x),
      (x) => ((x.features[0]!.geometry.coordinates as number[][][])[0]!.pop(), x),
      (x) => ((x.features[1]!.geometry.coordinates as number[]) = [190, 0], x),
      (x) => ((x.features[1]!.geometry as { type: string }).type = "Pointy", x),
      (x) => JSON.stringify(x).slice(0, 20),
    ];
    for (let i = 0; i < 100; i++) {
      const m = mutators[i % mutators.length]!(fc());
      const res = await app.request(`/v1/datasets/fuzz-${i}`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": pick(["application/json", "application/geo+json"]),
        },
        body: typeof m === "string" ? m : JSON.stringify(m),
      }, TEST_ENV);
      ok([400, 413, 415, 422].includes(res.status), `case ${i}: ${res.status}`);
    }
    equal(calls.length, 0);
  } finally {
    logs.restore();
  }
});

Deno.test("fuzz: 5,000 structure-aware job and dataset bodies (mutated us-atlas counties, GDAL FlatGeobuf) never get a 5xx in process", async () => {
  const logs = captureLogs();
  try {
    const { app } = recordingApp();
    const token = await signToken();
    const flatgeobufs = await Promise.all(
      ["fuzz_counties.fgb", "fuzz_counties_noindex.fgb", "fuzz_points.fgb"].map((f) =>
        Deno.readFile(new URL(`../../fixtures/gdal/${f}`, import.meta.url))
      ),
    );
    const vectorSeeds = await readVectorSeeds(new URL("../../fixtures/gdal/", import.meta.url));
    const next = fuzzGenerator(20261205, { token, owner: token, flatgeobufs, vectorSeeds });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 5_000; i++) {
      const c = next(i);
      const res = await app.request(c.path, {
        method: c.method,
        headers: c.headers,
        ...(c.body !== undefined ? { body: c.body as BodyInit } : {}),
      }, TEST_ENV);
      await res.body?.cancel();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      ok(res.status < 500, `case ${i} (${c.kind}): ${res.status} for ${String(c.body).slice(0, 300)}`);
    }
    ok((statuses.get(422) ?? 0) > 1_000 && (statuses.get(202) ?? 0) > 100, JSON.stringify([...statuses]));
  } finally {
    logs.restore();
  }
});
