/**
 * What a failure means for the job, decided in one place: a failure retrying
 * cannot fix (bad input found only while running: an invalid geometry, a
 * policy deny, tile bytes that do not decode, an input no longer stored)
 * fails the job at once as FAILED; anything else may pass and is retried.
 */
import { INTERNAL_ERROR_DETAIL } from "../../shared/problem.ts";
import { CoverError } from "../../shared/routing/h3_cover.ts";
import { FlatGeobufFormatError, MissingFeatureIdError, TileNotFoundError } from "../../shared/tiles/errors.ts";
import { GeometryOperationError, InvalidGeometryError } from "../../wasm/errors.ts";
import type { JobError } from "../../shared/job_record.ts";

/** A failure of the job's own inputs or rights: retrying the same job fails the same way. */
export class PermanentJobError extends Error {
  override name = "PermanentJobError";
  constructor(readonly title: string, detail: string, readonly status = 422, readonly problem = "job-input-error") {
    super(detail);
  }
}

/** Classes of the geometry core and tile codec that say the input itself is at fault. */
const INPUT_ERRORS = [
  InvalidGeometryError,
  GeometryOperationError,
  CoverError,
  FlatGeobufFormatError,
  MissingFeatureIdError,
] as const;

/** The job error recorded for `error`, retryable or not. */
export function toJobError(error: unknown): JobError {
  if (error instanceof PermanentJobError) {
    return {
      type: `urn:spatial-jobs:problem:${error.problem}`,
      title: error.title,
      status: error.status,
      detail: error.message,
      retryable: false,
    };
  }
  if (INPUT_ERRORS.some((kind) => error instanceof kind)) {
    const geometry = error instanceof InvalidGeometryError || error instanceof GeometryOperationError;
    return {
      type: `urn:spatial-jobs:problem:${geometry ? "geometry-error" : "job-input-error"}`,
      title: geometry ? "Geometry error" : "Input error",
      status: 422,
      detail: (error as Error).message,
      retryable: false,
    };
  }
  if (error instanceof TileNotFoundError) {
    return {
      type: "urn:spatial-jobs:problem:job-input-gone",
      title: "Input no longer stored",
      status: 410,
      detail: `${error.message}; submit the job again`,
      retryable: false,
    };
  }
  return {
    type: "https://spatial-jobs.dev/problems/internal",
    title: "Internal error",
    status: 500,
    // Ours, not the caller's: the status document says only that it failed; the partition logs the message.
    detail: INTERNAL_ERROR_DETAIL,
    retryable: true,
  };
}
