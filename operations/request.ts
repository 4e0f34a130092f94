/**
 * `POST /v1/jobs`: the job request, assembled from the common fields
 * (shared/contract/job.ts) and each operation's own (`Operation.request`).
 * Strict: unknown fields are rejected, and a field of another operation is
 * rejected with the operations it belongs to.
 */
import { z } from "@hono/zod-openapi";
import { checkCommonRequest, JOB_REQUEST_FIELDS } from "../shared/contract/job.ts";
import { MAX_REPORTED_ERRORS } from "../shared/contract/limits.ts";
import type { OperationRequest } from "./operation.ts";
import { operationOf, OPERATIONS } from "./mod.ts";

const names = Object.keys(OPERATIONS) as [string, ...string[]];
export const SpatialOperationSchema = z.enum(names).openapi("SpatialOperation");

/** Field name → the operations that accept it. */
const owners = new Map<string, string[]>();
const operationFields: Record<string, z.ZodType> = {};
for (const operation of Object.values(OPERATIONS)) {
  for (const [field, schema] of Object.entries(operation.request.fields)) {
    owners.set(field, [...(owners.get(field) ?? []), operation.name]);
    operationFields[field] ??= schema.optional();
  }
}

export const JobRequest = z
  .strictObject({ ...JOB_REQUEST_FIELDS, spatial_operation: SpatialOperationSchema, ...operationFields })
  .superRefine((req, ctx) => {
    let reported = 0;
    const add = (path: (string | number)[], message: string) => {
      if (reported++ < MAX_REPORTED_ERRORS) ctx.addIssue({ code: "custom", path, message });
      return reported < MAX_REPORTED_ERRORS;
    };
    const operation = operationOf(req.spatial_operation)!;
    for (const [field, accepting] of owners) {
      if ((req as Record<string, unknown>)[field] !== undefined && !accepting.includes(operation.name)) {
        add([field], `${field} applies to ${accepting.join(", ")} only`);
      }
    }
    const payloadParsed = !ctx.issues.some((issue) => issue.path?.[0] === "geometry_payload");
    const payloadTypes = checkCommonRequest(req, payloadParsed, add);
    operation.request.check(req as OperationRequest, add, payloadTypes);
  })
  .openapi("JobRequest", {
    example: {
      job_idempotency_key: "5f0c7c1e-2b1a-4e8f-9a51-1f0c2d3e4b5a",
      spatial_operation: "spatial_join",
      input_crs: "EPSG:4326",
      output_format: "geojson",
      left_dataset: "nyc-parcels",
      dataset: "us-counties",
      predicate: "intersects",
      bbox: [-74.5, 40.1, -73.9, 40.9],
      slo_deadline_ms: 300000,
    },
  });
export type JobRequest = z.output<typeof JobRequest> & OperationRequest;
export type JobRequestInput = z.input<typeof JobRequest>;

/** Fills the defaults an operation derives from other fields (`predicate` = `intersects` for spatial_join). */
export function normalizeJobRequest(req: JobRequest): JobRequest {
  const defaults = operationOf(req.spatial_operation)?.request.defaults;
  return defaults ? defaults(req) as JobRequest : req;
}
