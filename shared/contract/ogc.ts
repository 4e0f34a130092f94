/**
 * OGC API – Processes – Part 1: Core (OGC 18-062r2) documents as this service answers them: the landing page,
 * conformance, process list and description, statusInfo, job list, and the execute request it accepts.
 */
import { z } from "@hono/zod-openapi";
import type { JobStatusValue } from "./job.ts";

export const OGC_CONFORMANCE_CLASSES = [
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
  "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/callback",
] as const;

/** The exception types of 18-062r2 §7.x (sent as problem+json `type`). */
export const OGC_EXCEPTION = {
  noSuchProcess: "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-process",
  noSuchJob: "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/no-such-job",
  resultNotReady: "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/result-not-ready",
} as const;

export const OGC_STATUS_CODES = ["accepted", "running", "successful", "failed", "dismissed"] as const;
export type OgcStatusCode = typeof OGC_STATUS_CODES[number];

/** The contract's mapping of job statuses onto OGC status codes. */
export const OGC_STATUS_OF: Record<JobStatusValue, OgcStatusCode> = {
  QUEUED: "accepted",
  IN_PROGRESS: "running",
  COMPLETED: "successful",
  FAILED: "failed",
  DEAD_LETTER: "failed",
  CANCELLED: "dismissed",
};

export const OgcLink = z
  .object({
    href: z.string(),
    rel: z.string().optional(),
    type: z.string().optional(),
    hreflang: z.string().optional(),
    title: z.string().optional(),
  })
  .openapi("OgcLink");
export type OgcLink = z.infer<typeof OgcLink>;

export const OgcLandingPage = z
  .object({ title: z.string(), description: z.string(), links: z.array(OgcLink) })
  .openapi("OgcLandingPage");

export const OgcConformance = z.object({ conformsTo: z.array(z.string()) }).openapi("OgcConformance");

const JsonSchema = z.record(z.string(), z.unknown()).openapi({ description: "A JSON Schema (2020-12)" });

export const OgcProcessSummary = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    version: z.string(),
    jobControlOptions: z.array(z.enum(["sync-execute", "async-execute", "dismiss"])),
    outputTransmission: z.array(z.enum(["value", "reference"])),
    links: z.array(OgcLink),
  })
  .openapi("OgcProcessSummary");
export type OgcProcessSummary = z.infer<typeof OgcProcessSummary>;

export const OgcInputDescription = z.object({
  title: z.string(),
  description: z.string().optional(),
  minOccurs: z.int(),
  maxOccurs: z.int(),
  schema: JsonSchema,
});

export const OgcProcess = OgcProcessSummary.extend({
  inputs: z.record(z.string(), OgcInputDescription),
  outputs: z.record(z.string(), z.object({ title: z.string(), description: z.string(), schema: JsonSchema })),
}).openapi("OgcProcess");
export type OgcProcess = z.infer<typeof OgcProcess>;

export const OgcProcessList = z
  .object({ processes: z.array(OgcProcessSummary), links: z.array(OgcLink) })
  .openapi("OgcProcessList");

export const OgcStatusInfo = z
  .object({
    processID: z.string().optional(),
    type: z.literal("process"),
    jobID: z.string(),
    status: z.enum(OGC_STATUS_CODES),
    message: z.string().optional(),
    created: z.string().optional(),
    updated: z.string().optional(),
    finished: z.string().optional(),
    progress: z.int().min(0).max(100).optional(),
    links: z.array(OgcLink),
  })
  .openapi("OgcStatusInfo");
export type OgcStatusInfo = z.infer<typeof OgcStatusInfo>;

export const OgcJobList = z.object({ jobs: z.array(OgcStatusInfo), links: z.array(OgcLink) }).openapi("OgcJobList");

/**
 * `POST /processes/{processId}/execution`. `inputs` are the `/v1` job request's fields (without
 * `spatial_operation` and `job_idempotency_key`), checked by the same schema; `subscriber` URIs become the job's
 * `callback_url` (this service sends every outcome to one URL).
 */
export const OgcExecute = z
  .object({
    inputs: z.record(z.string(), z.unknown()),
    outputs: z.record(z.string(), z.unknown()).optional(),
    response: z.enum(["raw", "document"]).optional(),
    subscriber: z
      .object({
        successUri: z.string().optional(),
        inProgressUri: z.string().optional(),
        failedUri: z.string().optional(),
      })
      .optional(),
  })
  .openapi("OgcExecute");
export type OgcExecute = z.infer<typeof OgcExecute>;
