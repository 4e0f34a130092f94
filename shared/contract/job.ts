/** `POST /v1/jobs`: the job request checked at ingress, and the 202 body. */
import { z } from "@hono/zod-openapi";
import { Bbox, DatasetName } from "./common.ts";
import { DEFAULT_CRS, isSupportedCrs, type SupportedCrs, unsupportedCrsMessage } from "./crs.ts";
import { checkFeatureCollection, FeatureCollection } from "./geojson.ts";
import { isLoopbackHost } from "../destination_policy.ts";
import { DEFAULT_SLO_DEADLINE_MS, MAX_SLO_DEADLINE_MS, MAX_URL_LENGTH, PAYLOAD_LIMITS } from "./limits.ts";

/** An operation's name: the registry (`operations/mod.ts`) says which exist. */
export type SpatialOperation = string;

export const PREDICATES = ["intersects", "contains", "within", "dwithin"] as const;
export const Predicate = z.enum(PREDICATES).openapi("Predicate", {
  description: "spatial_join only. `contains`/`within` read as left contains/within right; `dwithin` needs distance_m.",
});
export type Predicate = z.infer<typeof Predicate>;

export const OUTPUT_FORMATS = ["geojson", "flatgeobuf", "geoparquet"] as const;
export const OutputFormat = z.enum(OUTPUT_FORMATS).openapi("OutputFormat");
export type OutputFormat = z.infer<typeof OutputFormat>;

const AttributeNames = z.array(z.string().max(256)).max(64);
export const PropertiesSelection = z
  .strictObject({ left: AttributeNames.optional(), right: AttributeNames.optional() })
  .openapi("PropertiesSelection", {
    description: "Attributes of each side copied into every result row as `left_<name>` / `right_<name>` (always " +
      "prefixed, so a name both sides have stays two columns). Names are those of the dataset manifest's " +
      "`attributes` (or the payload features' `properties`); an unknown name is a 422.",
    example: { left: ["name"], right: ["name", "population"] },
  });
export type PropertiesSelection = z.infer<typeof PropertiesSelection>;

export const InputCrs = z
  .string({ error: (iss) => unsupportedCrsMessage(iss.input) })
  .refine(isSupportedCrs, { error: (iss) => unsupportedCrsMessage(iss.input) })
  .openapi("Crs", {
    description: "An EPSG code, `EPSG:<n>` (any of the 5,434 codes of proj4-list whose datum shift needs no grid " +
      "file); coordinates are normalized to EPSG:4326 at ingress.",
    example: "EPSG:27700",
  });

/** https; plain http only to a loopback host (allowed only with WEBHOOK_ALLOW_LOOPBACK, see destination_policy.ts). */
const CallbackUrl = z
  .url({ protocol: /^https?$/, error: "callback_url must be an absolute https:// URL" })
  .max(MAX_URL_LENGTH)
  .refine((url) => !URL.canParse(url) || url.startsWith("https:") || isLoopbackHost(new URL(url).hostname), {
    error:
      "callback_url must be an absolute https:// URL (http:// only to a loopback host, when the service allows it)",
  });

/**
 * The fields every job request has, whatever its operation (`spatial_operation` is added by the registry, which
 * knows the operations, with each operation's own fields: operations/request.ts).
 */
export const JOB_REQUEST_FIELDS = {
  job_idempotency_key: z.uuid({ version: "v4", error: "job_idempotency_key must be a UUID v4" }),
  input_crs: InputCrs.default(DEFAULT_CRS),
  output_crs: InputCrs.default(DEFAULT_CRS).openapi({
    description: "The CRS of the result's geometries (an EPSG code like `input_crs`); the engine computes in " +
      "EPSG:4326 and converts the result when it is written.",
  }),
  output_format: OutputFormat.default("geojson"),
  geometry_payload: FeatureCollection.optional(),
  left_dataset: DatasetName.optional(),
  dataset: DatasetName,
  bbox: Bbox.optional(),
  slo_deadline_ms: z.int().positive().max(MAX_SLO_DEADLINE_MS).default(DEFAULT_SLO_DEADLINE_MS),
  fallback: z.enum(["bbox", "none"]).optional().openapi({
    description: "A job projected past slo_deadline_ms: `bbox` (the default) runs the bounding-box approximation " +
      "(degraded: true); `none` keeps it exact, and the status document's `slo` reports the overrun.",
  }),
  callback_url: CallbackUrl.optional(),
  repair: z.boolean().default(false),
};

/** The request as far as the common fields go. */
export interface CommonJobRequest {
  geometry_payload?: FeatureCollection;
  left_dataset?: string;
  input_crs: SupportedCrs;
  output_crs?: string;
  output_format?: string;
}

/** Reports one problem at `path`; false once enough are reported to stop looking. */
export type AddIssue = (path: (string | number)[], message: string) => boolean;

/**
 * The checks every request gets: exactly one of `geometry_payload`/`left_dataset`, and the payload checked against
 * `input_crs` (ranges, closed rings, ids). Returns the payload's geometry types, for the operation's own checks
 * (null without a payload, or when its structure already failed).
 */
export function checkCommonRequest(
  req: CommonJobRequest,
  payloadParsed: boolean,
  add: AddIssue,
): string[] | null {
  const hasPayload = req.geometry_payload !== undefined;
  const hasLeft = req.left_dataset !== undefined;
  if (hasPayload && hasLeft) add(["left_dataset"], "give either geometry_payload or left_dataset, not both");
  if (!hasPayload && !hasLeft) add(["geometry_payload"], "one of geometry_payload or left_dataset is required");
  if (req.output_format === "geoparquet" && req.output_crs !== undefined && req.output_crs !== DEFAULT_CRS) {
    add(["output_crs"], "a GeoParquet result is written in OGC:CRS84 (EPSG:4326 lon/lat); use geojson or flatgeobuf");
  }
  // The semantic check walks coordinates the structural schema vouches for: a payload that failed it (an empty
  // ring, a one-number position) has its field errors already and is not walked.
  if (!req.geometry_payload || !payloadParsed) return null;
  const summary = checkFeatureCollection(
    req.geometry_payload,
    req.input_crs,
    PAYLOAD_LIMITS,
    ["geometry_payload"],
    add,
  );
  return [...summary.geometryTypes];
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
