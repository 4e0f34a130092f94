/** `POST /v1/jobs`: the job request checked at ingress, and the 202 body. */
import { z } from "@hono/zod-openapi";
import { Bbox, DatasetName } from "./common.ts";
import { DEFAULT_CRS, SUPPORTED_CRS } from "./crs.ts";
import { allPolygonal, allPunctal, checkFeatureCollection, FeatureCollection } from "./geojson.ts";
import { isLoopbackHost } from "../destination_policy.ts";
import {
  DEFAULT_SLO_DEADLINE_MS,
  MAX_DISTANCE_M,
  MAX_REPORTED_ERRORS,
  MAX_SLO_DEADLINE_MS,
  MAX_URL_LENGTH,
  PAYLOAD_LIMITS,
} from "./limits.ts";

export const SPATIAL_OPERATIONS = ["polygon_intersection", "point_in_polygon", "spatial_join"] as const;
export const SpatialOperation = z.enum(SPATIAL_OPERATIONS).openapi("SpatialOperation");
export type SpatialOperation = z.infer<typeof SpatialOperation>;

export const PREDICATES = ["intersects", "contains", "within", "dwithin"] as const;
export const Predicate = z.enum(PREDICATES).openapi("Predicate", {
  description: "spatial_join only. `contains`/`within` read as left contains/within right; `dwithin` needs distance_m.",
});
export type Predicate = z.infer<typeof Predicate>;

export const OUTPUT_FORMATS = ["geojson", "flatgeobuf"] as const;
export const OutputFormat = z.enum(OUTPUT_FORMATS).openapi("OutputFormat");
export type OutputFormat = z.infer<typeof OutputFormat>;

export const InputCrs = z
  .enum(SUPPORTED_CRS, {
    error: (iss) => `unsupported CRS ${JSON.stringify(iss.input)}; supported: ${SUPPORTED_CRS.join(", ")}`,
  })
  .openapi("Crs", { description: "A supported CRS; coordinates are normalized to EPSG:4326 at ingress." });

/** https; plain http only to a loopback host (allowed only with WEBHOOK_ALLOW_LOOPBACK, see destination_policy.ts). */
const CallbackUrl = z
  .url({ protocol: /^https?$/, error: "callback_url must be an absolute https:// URL" })
  .max(MAX_URL_LENGTH)
  .refine((url) => !URL.canParse(url) || url.startsWith("https:") || isLoopbackHost(new URL(url).hostname), {
    error:
      "callback_url must be an absolute https:// URL (http:// only to a loopback host, when the service allows it)",
  });

const JobRequestObject = z.strictObject({
  job_idempotency_key: z.uuid({ version: "v4", error: "job_idempotency_key must be a UUID v4" }),
  spatial_operation: SpatialOperation,
  input_crs: InputCrs.default(DEFAULT_CRS),
  output_format: OutputFormat.default("geojson"),
  geometry_payload: FeatureCollection.optional(),
  left_dataset: DatasetName.optional(),
  dataset: DatasetName,
  predicate: Predicate.optional(),
  distance_m: z.number().positive().max(MAX_DISTANCE_M).optional(),
  bbox: Bbox.optional(),
  slo_deadline_ms: z.int().positive().max(MAX_SLO_DEADLINE_MS).default(DEFAULT_SLO_DEADLINE_MS),
  callback_url: CallbackUrl.optional(),
  repair: z.boolean().default(false),
});

/**
 * The job request. Strict: unknown fields are rejected. Cross-field rules:
 * exactly one of `geometry_payload`/`left_dataset`; `predicate`/`distance_m`
 * only for `spatial_join` (`predicate` defaults to `intersects` there);
 * `distance_m` required (> 0) for `dwithin` and forbidden otherwise;
 * `geometry_payload` checked against `input_crs` (ranges, closed rings, ids) and
 * against the operation on the left side alone (the lead completes it with
 * `checkOperationGeometryTypes` once the dataset's types are known).
 */
export const JobRequest = JobRequestObject.superRefine((req, ctx) => {
  let reported = 0;
  const add = (path: (string | number)[], message: string) => {
    if (reported++ < MAX_REPORTED_ERRORS) ctx.addIssue({ code: "custom", path, message });
    return reported < MAX_REPORTED_ERRORS;
  };
  const hasPayload = req.geometry_payload !== undefined;
  const hasLeft = req.left_dataset !== undefined;
  if (hasPayload && hasLeft) add(["left_dataset"], "give either geometry_payload or left_dataset, not both");
  if (!hasPayload && !hasLeft) add(["geometry_payload"], "one of geometry_payload or left_dataset is required");

  if (req.spatial_operation !== "spatial_join") {
    if (req.predicate !== undefined) add(["predicate"], "predicate applies to spatial_join only");
    if (req.distance_m !== undefined) add(["distance_m"], "distance_m applies to spatial_join with dwithin only");
  } else if ((req.predicate ?? "intersects") === "dwithin") {
    if (req.distance_m === undefined) add(["distance_m"], "distance_m (metres, > 0) is required for dwithin");
  } else if (req.distance_m !== undefined) {
    add(["distance_m"], "distance_m applies to the dwithin predicate only");
  }

  // The semantic check walks coordinates the structural schema vouches for: a payload that failed it (an empty
  // ring, a one-number position) has its field errors already and is not walked.
  const payloadParsed = !ctx.issues.some((issue) => issue.path?.[0] === "geometry_payload");
  if (req.geometry_payload && payloadParsed) {
    const summary = checkFeatureCollection(
      req.geometry_payload,
      req.input_crs,
      PAYLOAD_LIMITS,
      ["geometry_payload"],
      add,
    );
    const types = [...summary.geometryTypes];
    const op = req.spatial_operation;
    // The right side's types are known only once the dataset is looked up
    // (checkOperationGeometryTypes then); here the left side is checked on its own.
    if (op === "polygon_intersection" && !allPolygonal(types)) {
      add(["geometry_payload"], `polygon_intersection needs polygons; geometry_payload has ${types.join(", ")}`);
    }
    if (op === "point_in_polygon" && !allPolygonal(types) && !allPunctal(types)) {
      add(
        ["geometry_payload"],
        `point_in_polygon needs all points on one side and all polygons on the other; geometry_payload has ${
          types.join(", ")
        }`,
      );
    }
  }
}).openapi("JobRequest", {
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
export type JobRequest = z.output<typeof JobRequest>;
export type JobRequestInput = z.input<typeof JobRequest>;

/** Fills the defaults the schema cannot express per operation (`predicate` = `intersects` for spatial_join). */
export function normalizeJobRequest(req: JobRequest): JobRequest {
  return req.spatial_operation === "spatial_join" && req.predicate === undefined
    ? { ...req, predicate: "intersects" }
    : req;
}

export const JOB_STATUSES = ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"] as const;
export const JobStatusValue = z.enum(JOB_STATUSES).openapi("JobStatusValue");
export type JobStatusValue = z.infer<typeof JobStatusValue>;

/** The 202 body (200 on an idempotent replay, with the job's current status). */
export const JobAccepted = z
  .object({
    job_id: z.string(),
    status: JobStatusValue,
    links: z.object({
      self: z.string().openapi({ example: "/v1/jobs/abc" }),
      result: z.string().openapi({ example: "/v1/jobs/abc/result" }),
    }),
  })
  .openapi("JobAccepted");
export type JobAccepted = z.infer<typeof JobAccepted>;
