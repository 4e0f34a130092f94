/** Small schemas shared by requests, documents and claims. */
import { z } from "@hono/zod-openapi";
import type { Bbox as BboxTuple } from "../../wasm/flat_geometry.ts";
import { MAX_DATASET_NAME_LENGTH, MAX_JOB_ID_LENGTH } from "./limits.ts";

/** `public` < `internal` < `confidential` < `restricted`. */
export const CLASSIFICATIONS = ["public", "internal", "confidential", "restricted"] as const;
export const Classification = z.enum(CLASSIFICATIONS).openapi("Classification", {
  description: "Data classification tier, ordered public < internal < confidential < restricted.",
});
export type Classification = z.infer<typeof Classification>;

/** The rank of a tier (public = 0 … restricted = 3). */
export function classificationRank(tier: Classification): number {
  return CLASSIFICATIONS.indexOf(tier);
}

/** A bbox `[minLon, minLat, maxLon, maxLat]` is valid when finite, in range, and min < max on both axes. */
export function bboxProblem(b: readonly number[]): string | null {
  if (b.length !== 4 || !b.every(Number.isFinite)) return "bbox must be 4 finite numbers";
  const [x0, y0, x1, y1] = b as Bbox;
  if (x0 < -180 || x1 > 180 || y0 < -90 || y1 > 90) {
    return "bbox must lie within longitude −180..180 and latitude −90..90";
  }
  if (!(x0 < x1) || !(y0 < y1)) return "bbox must have minLon < maxLon and minLat < maxLat";
  return null;
}

/** `[minLon, minLat, maxLon, maxLat]` in EPSG:4326 degrees (whatever the request's `input_crs`). */
export const Bbox = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .superRefine((b, ctx) => {
    const problem = bboxProblem(b);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi("Bbox", {
    description: "[minLon, minLat, maxLon, maxLat] in EPSG:4326 degrees; min < max; within ±180/±90.",
    example: [-74.5, 40.1, -73.9, 40.9],
  });
export type Bbox = BboxTuple;

const DATASET_NAME_PATTERN = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_DATASET_NAME_LENGTH - 1}}$`);
export const DatasetName = z
  .string()
  .regex(
    DATASET_NAME_PATTERN,
    `dataset names are 1–${MAX_DATASET_NAME_LENGTH} characters of [A-Za-z0-9._-], starting with a letter or digit`,
  )
  .openapi("DatasetName", { example: "us-counties" });

const JOB_ID_PATTERN = new RegExp(`^[A-Za-z0-9._~:-]{1,${MAX_JOB_ID_LENGTH}}$`);
export const JobId = z
  .string()
  .regex(JOB_ID_PATTERN, `job ids are 1–${MAX_JOB_ID_LENGTH} characters of [A-Za-z0-9._~:-]`)
  .openapi("JobId");

/** `?limit=` of a paged list: 1–100, default 20. */
export const PageLimit = z.coerce
  .number({ error: "limit must be an integer" })
  .int("limit must be an integer")
  .min(1)
  .max(100)
  .default(20)
  .openapi({ param: { name: "limit", in: "query" }, type: "integer", description: "1–100, default 20." });

export const Timestamp = z.string().openapi({ format: "date-time", example: "2025-01-01T12:00:00.000Z" });
