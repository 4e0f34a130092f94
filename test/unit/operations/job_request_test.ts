import { deepEqual, equal, ok } from "node:assert/strict";
import { JobRequest, normalizeJobRequest } from "../../../operations/request.ts";
import { MAX_PAYLOAD_FEATURES, MAX_SLO_DEADLINE_MS } from "../../../shared/contract/limits.ts";
import { validationErrorFrom } from "../../../src/http/validation.ts";
import { square, validJob } from "../shared/contract/fixtures.ts";

/** Parses `body`; returns the field errors (path → message) as the API would list them, and the status. */
function errorsOf(body: unknown): { status: number; paths: string[]; messages: string[] } {
  const r = JobRequest.safeParse(body);
  if (r.success) return { status: 202, paths: [], messages: [] };
  const err = validationErrorFrom(r.error, "json");
  return {
    status: err.status,
    paths: (err.errors ?? []).map((e) => e.path),
    messages: (err.errors ?? []).map((e) => e.message),
  };
}

function expectError(body: unknown, path: string, message?: RegExp) {
  const { status, paths, messages } = errorsOf(body);
  equal(status, 422, `expected 422 for ${path}`);
  ok(paths.includes(path), `expected an error at ${path}, got ${JSON.stringify(paths)}`);
  if (message) {
    ok(messages.some((m) => message.test(m)), `expected message ${message}, got ${JSON.stringify(messages)}`);
  }
}

Deno.test("JobRequest accepts a valid request and fills the documented defaults", () => {
  const r = JobRequest.parse(validJob());
  equal(r.input_crs, "EPSG:4326");
  equal(r.output_format, "geojson");
  equal(r.slo_deadline_ms, 300_000);
  equal(r.repair, false);
});

Deno.test("JobRequest accepts a left_dataset spatial_join with dwithin and every optional field", () => {
  const r: JobRequest = JobRequest.parse(validJob({
    geometry_payload: undefined,
    left_dataset: "parcels",
    spatial_operation: "spatial_join",
    predicate: "dwithin",
    distance_m: 250,
    bbox: [-74.5, 40.1, -73.9, 40.9],
    slo_deadline_ms: 60_000,
    callback_url: "https://example.org/hook",
    output_format: "flatgeobuf",
    input_crs: "EPSG:3857",
    repair: true,
  }));
  equal(r.predicate, "dwithin");
  equal(r.distance_m, 250);
});

Deno.test("normalizeJobRequest defaults the spatial_join predicate to intersects", () => {
  const r = normalizeJobRequest(JobRequest.parse(validJob({ spatial_operation: "spatial_join" })));
  equal(r.predicate, "intersects");
});

Deno.test("JobRequest rejects unknown fields at the top level", () =>
  expectError(validJob({ extra: 1 }), "extra", /unknown field/));
Deno.test("JobRequest rejects a missing idempotency key", () =>
  expectError(validJob({ job_idempotency_key: undefined }), "job_idempotency_key", /required/));
Deno.test("JobRequest rejects a non-v4 uuid key", () => {
  expectError(
    validJob({ job_idempotency_key: "9b2f4c3e-1d2a-1b7c-8e9f-0a1b2c3d4e5f" }),
    "job_idempotency_key",
    /UUID v4/,
  );
  expectError(validJob({ job_idempotency_key: "nope" }), "job_idempotency_key");
});
Deno.test("JobRequest rejects an unknown spatial_operation", () =>
  expectError(validJob({ spatial_operation: "buffer" }), "spatial_operation"));
Deno.test("JobRequest rejects an unsupported input_crs with 422 naming it", () =>
  expectError(validJob({ input_crs: "EPSG:999999" }), "input_crs", /unsupported CRS "EPSG:999999"/));
Deno.test("JobRequest rejects an unknown output_format", () =>
  expectError(validJob({ output_format: "shapefile" }), "output_format"));
Deno.test("JobRequest needs exactly one of geometry_payload / left_dataset", () => {
  expectError(validJob({ geometry_payload: undefined }), "geometry_payload", /one of/);
  expectError(validJob({ left_dataset: "parcels" }), "left_dataset", /not both/);
});
Deno.test("JobRequest requires dataset and checks dataset names", () => {
  expectError(validJob({ dataset: undefined }), "dataset", /required/);
  expectError(validJob({ dataset: "../etc" }), "dataset");
  expectError(validJob({ dataset: "" }), "dataset");
  expectError(validJob({ geometry_payload: undefined, left_dataset: "a b" }), "left_dataset");
});
Deno.test("JobRequest allows predicate and distance_m only for spatial_join", () => {
  expectError(validJob({ predicate: "intersects" }), "predicate", /spatial_join only/);
  expectError(validJob({ distance_m: 5 }), "distance_m");
});
Deno.test("JobRequest requires distance_m > 0 for dwithin and forbids it otherwise", () => {
  const join = { spatial_operation: "spatial_join" };
  expectError(validJob({ ...join, predicate: "dwithin" }), "distance_m", /required/);
  expectError(validJob({ ...join, predicate: "dwithin", distance_m: 0 }), "distance_m");
  expectError(validJob({ ...join, predicate: "dwithin", distance_m: -3 }), "distance_m");
  expectError(validJob({ ...join, predicate: "intersects", distance_m: 3 }), "distance_m", /dwithin/);
  expectError(validJob({ ...join, predicate: "touches" }), "predicate");
});
Deno.test("JobRequest checks bbox order, range and arity", () => {
  expectError(validJob({ bbox: [-73, 40, -74, 41] }), "bbox", /min/);
  expectError(validJob({ bbox: [-200, 40, -74, 41] }), "bbox", /within/);
  expectError(validJob({ bbox: [0, 0, 1] }), "bbox");
  expectError(validJob({ bbox: [0, 0, 1, "2"] }), "bbox[3]");
});
Deno.test("JobRequest checks slo_deadline_ms is a positive integer up to the documented max", () => {
  expectError(validJob({ slo_deadline_ms: 0 }), "slo_deadline_ms");
  expectError(validJob({ slo_deadline_ms: 1.5 }), "slo_deadline_ms");
  expectError(validJob({ slo_deadline_ms: MAX_SLO_DEADLINE_MS + 1 }), "slo_deadline_ms");
});
Deno.test("JobRequest requires an https callback_url", () => {
  expectError(validJob({ callback_url: "http://example.org/hook" }), "callback_url", /https/);
  expectError(validJob({ callback_url: "not a url" }), "callback_url");
});
Deno.test("JobRequest requires repair to be a boolean", () => expectError(validJob({ repair: "yes" }), "repair"));

const fc = (features: unknown[]) => ({ type: "FeatureCollection", features });
const feat = (geometry: unknown, id: unknown = "f", props: unknown = {}) => ({
  type: "Feature",
  id,
  properties: props,
  geometry,
});

Deno.test("JobRequest rejects a non-closed ring with its exact path", () => {
  const open = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]];
  expectError(
    validJob({
      geometry_payload: fc([
        feat({ type: "Polygon", coordinates: square() }, "a"),
        feat({ type: "Polygon", coordinates: open }, "b"),
      ]),
    }),
    "geometry_payload.features[1].geometry.coordinates[0]",
    /not closed/,
  );
});
Deno.test("JobRequest rejects rings with fewer than 4 positions and lines with fewer than 2", () => {
  expectError(
    validJob({ geometry_payload: fc([feat({ type: "Polygon", coordinates: [[[0, 0], [1, 0], [0, 0]]] })]) }),
    "geometry_payload.features[0].geometry.coordinates[0]",
    /4 positions/,
  );
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "LineString", coordinates: [[0, 0]] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates",
    /2 positions/,
  );
});
Deno.test("JobRequest rejects out-of-range coordinates per CRS", () => {
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "Point", coordinates: [181, 0] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates",
    /outside/,
  );
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "MultiPoint", coordinates: [[0, 0], [0, -91]] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates[1]",
  );
  // In EPSG:3857, metres: 5e6 is fine, 3e7 is not.
  ok(
    JobRequest.safeParse(
      validJob({
        spatial_operation: "spatial_join",
        input_crs: "EPSG:3857",
        geometry_payload: fc([feat({ type: "Point", coordinates: [5e6, 5e6] })]),
      }),
    ).success,
  );
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      input_crs: "EPSG:3857",
      geometry_payload: fc([feat({ type: "Point", coordinates: [3e7, 0] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates",
  );
});
Deno.test("JobRequest rejects non-finite and non-numeric coordinates", () => {
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "Point", coordinates: [Infinity, 0] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates[0]",
  );
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "Point", coordinates: [NaN, 0] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates[0]",
  );
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "Point", coordinates: ["1", 0] })]),
    }),
    "geometry_payload.features[0].geometry.coordinates[0]",
  );
  expectError(
    validJob({ spatial_operation: "spatial_join", geometry_payload: fc([feat({ type: "Point", coordinates: [1] })]) }),
    "geometry_payload.features[0].geometry.coordinates",
  );
});
Deno.test("JobRequest rejects unsupported geometry types and null geometries", () => {
  expectError(
    validJob({
      spatial_operation: "spatial_join",
      geometry_payload: fc([feat({ type: "GeometryCollection", geometries: [] })]),
    }),
    "geometry_payload.features[0].geometry.type",
    /unsupported geometry type/,
  );
  expectError(
    validJob({ spatial_operation: "spatial_join", geometry_payload: fc([feat(null)]) }),
    "geometry_payload.features[0].geometry",
  );
});
Deno.test("JobRequest requires feature ids (id or properties.id) and unique ones", () => {
  expectError(
    validJob({
      geometry_payload: fc([{ type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: square() } }]),
    }),
    "geometry_payload.features[0].id",
    /no id/,
  );
  expectError(
    validJob({
      geometry_payload: fc([
        feat({ type: "Polygon", coordinates: square() }, 1),
        feat({ type: "Polygon", coordinates: square() }, 1),
      ]),
    }),
    "geometry_payload.features[1].id",
    /duplicate/,
  );
  expectError(
    validJob({
      geometry_payload: fc([feat({ type: "Polygon", coordinates: square() }, "x"), {
        type: "Feature",
        properties: { id: "x" },
        geometry: { type: "Polygon", coordinates: square() },
      }]),
    }),
    "geometry_payload.features[1].properties.id",
    /duplicate/,
  );
  expectError(
    validJob({ geometry_payload: fc([feat({ type: "Polygon", coordinates: square() }, { a: 1 })]) }),
    "geometry_payload.features[0].id",
  );
  // 1 and "1" are different ids (the JSON type is kept).
  ok(
    JobRequest.safeParse(
      validJob({
        geometry_payload: fc([
          feat({ type: "Polygon", coordinates: square() }, 1),
          feat({ type: "Polygon", coordinates: square() }, "1"),
        ]),
      }),
    ).success,
  );
});
Deno.test("JobRequest checks the operation against the payload's geometry types", () => {
  expectError(
    validJob({ geometry_payload: fc([feat({ type: "Point", coordinates: [0, 0] })]) }),
    "geometry_payload",
    /polygon_intersection needs polygons/,
  );
  expectError(
    validJob({
      spatial_operation: "point_in_polygon",
      geometry_payload: fc([
        feat({ type: "Point", coordinates: [0, 0] }, 1),
        feat({ type: "Polygon", coordinates: square() }, 2),
      ]),
    }),
    "geometry_payload",
    /point_in_polygon/,
  );
  ok(
    JobRequest.safeParse(
      validJob({
        spatial_operation: "point_in_polygon",
        geometry_payload: fc([feat({ type: "Point", coordinates: [0, 0] })]),
      }),
    ).success,
  );
});
Deno.test("JobRequest rejects more features than the documented limit with 422", () => {
  const features = Array.from(
    { length: MAX_PAYLOAD_FEATURES + 1 },
    (_, i) => feat({ type: "Point", coordinates: [0, 0] }, i),
  );
  expectError(
    validJob({ spatial_operation: "spatial_join", geometry_payload: fc(features) }),
    "geometry_payload.features",
    /limit/,
  );
});
Deno.test("JobRequest rejects a body that is not an object", () => {
  const { status, paths } = errorsOf([1, 2]);
  equal(status, 422);
  deepEqual(paths, [""]);
});
