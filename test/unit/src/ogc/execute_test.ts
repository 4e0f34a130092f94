import { deepEqual, equal, throws } from "node:assert/strict";
import { jobRequestOf } from "../../../../src/ogc/execute.ts";
import { ValidationError } from "../../../../shared/problem.ts";

const KEY = "5f0c7c1e-2b1a-4e8f-9a51-1f0c2d3e4b5a";
const paths = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.errors?.map((e) => e.path);
    throw err;
  }
  throw new Error("no ValidationError");
};

Deno.test("an execute request is the /v1 job request: process = operation, header key, defaults applied", () => {
  const request = jobRequestOf("spatial_join", { inputs: { left_dataset: "a", dataset: "b" } }, KEY);
  equal(request.spatial_operation, "spatial_join");
  equal(request.job_idempotency_key, KEY);
  equal(request.predicate, "intersects");
  equal(request.output_format, "geojson");
});

Deno.test("without an Idempotency-Key every execution is a new job", () => {
  const a = jobRequestOf("polygon_intersection", { inputs: { left_dataset: "a", dataset: "b" } }, undefined);
  const b = jobRequestOf("polygon_intersection", { inputs: { left_dataset: "a", dataset: "b" } }, undefined);
  equal(a.job_idempotency_key === b.job_idempotency_key, false);
});

Deno.test("subscriber URIs become callback_url; different URIs per event are refused", () => {
  const uri = "https://hooks.example.org/jobs";
  const request = jobRequestOf("polygon_intersection", {
    inputs: { left_dataset: "a", dataset: "b" },
    subscriber: { successUri: uri, failedUri: uri },
  }, KEY);
  equal(request.callback_url, uri);
  deepEqual(
    paths(() =>
      jobRequestOf("polygon_intersection", {
        inputs: { left_dataset: "a", dataset: "b" },
        subscriber: { successUri: uri, failedUri: `${uri}/failed` },
      }, KEY)
    ),
    ["subscriber"],
  );
  deepEqual(
    paths(() =>
      jobRequestOf("polygon_intersection", {
        inputs: { left_dataset: "a", dataset: "b" },
        subscriber: { successUri: "http://example.org/x" },
      }, KEY)
    ),
    ["subscriber"],
  );
});

Deno.test("problems name the execute request's fields: inputs.<field> and the Idempotency-Key header", () => {
  deepEqual(paths(() => jobRequestOf("polygon_intersection", { inputs: { dataset: "b", bbox: [1] } }, "x")), [
    "Idempotency-Key",
    "inputs.bbox",
  ]);
  deepEqual(
    paths(() =>
      jobRequestOf("point_in_polygon", { inputs: { dataset: "b", left_dataset: "a", predicate: "within" } }, KEY)
    ),
    ["inputs.predicate"],
  );
  throws(
    () => jobRequestOf("spatial_join", { inputs: { job_idempotency_key: KEY, dataset: "b" } }, KEY),
    ValidationError,
  );
});
