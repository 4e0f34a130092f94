import { equal, match } from "node:assert/strict";
import { PermanentJobError, toJobError } from "../../../../durable-objects/partition_ledger/job_failure.ts";
import { INTERNAL_ERROR_DETAIL } from "../../../../shared/problem.ts";
import { FlatGeobufFormatError, TileNotFoundError } from "../../../../shared/tiles/errors.ts";
import { InvalidGeometryError } from "../../../../wasm/errors.ts";

Deno.test("an unexpected error is retried and its status document says only that it failed, never the message", () => {
  for (const error of [new TypeError("Cannot read properties of undefined (reading 'xy')"), "a thrown string", null]) {
    const jobError = toJobError(error);
    equal(jobError.retryable, true);
    equal(jobError.status, 500);
    equal(jobError.detail, INTERNAL_ERROR_DETAIL);
  }
});

Deno.test("errors about the job's own inputs fail it at once and keep their reason", () => {
  const geometry = toJobError(new InvalidGeometryError("Ring Self-intersection[1 2]", "08005"));
  equal(geometry.retryable, false);
  equal(geometry.status, 422);
  match(geometry.detail, /Self-intersection/);
  equal(toJobError(new FlatGeobufFormatError("Tile header does not decode")).retryable, false);
  const gone = toJobError(new TileNotFoundError("datasets/x/1/tiles/8226.fgb"));
  equal(gone.retryable, false);
  equal(gone.status, 410);
  const permanent = toJobError(
    new PermanentJobError("Forbidden", "the job's window reaches outside", 403, "forbidden"),
  );
  equal(permanent.retryable, false);
  equal(permanent.status, 403);
  equal(permanent.type, "urn:spatial-jobs:problem:forbidden");
});
