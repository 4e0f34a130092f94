/**
 * One OGC process per spatial operation. A process's inputs are the `/v1` job request's fields as JSON Schema,
 * derived from the request's zod schema, so the two APIs cannot drift apart.
 */
import { z } from "@hono/zod-openapi";
import { JobRequest, SPATIAL_OPERATIONS, type SpatialOperation } from "../../shared/contract/job.ts";
import type { OgcLink, OgcProcess, OgcProcessSummary } from "../../shared/contract/ogc.ts";

/** Request fields that are not process inputs: the process id is the operation, the key travels in a header. */
const NOT_INPUTS = new Set(["spatial_operation", "job_idempotency_key"]);
/** Fields only some operations accept (the request schema rejects them on the others). */
const OPERATION_FIELDS: Record<string, readonly SpatialOperation[]> = {
  predicate: ["spatial_join"],
  distance_m: ["spatial_join"],
};

const TITLES: Record<SpatialOperation, { title: string; description: string }> = {
  polygon_intersection: {
    title: "Polygon intersection",
    description: "The overlay of two polygon layers: one feature per intersecting pair, with its area.",
  },
  point_in_polygon: {
    title: "Point in polygon",
    description: "Every point paired with the polygons that contain it.",
  },
  spatial_join: {
    title: "Spatial join",
    description: "Pairs of features that satisfy a predicate (intersects, contains, within, dwithin).",
  },
};

export const PROCESS_IDS: readonly SpatialOperation[] = SPATIAL_OPERATIONS;

export function isProcessId(id: string): id is SpatialOperation {
  return (PROCESS_IDS as readonly string[]).includes(id);
}

type JsonSchemaObject = { properties: Record<string, Record<string, unknown>>; required?: string[] };
let requestSchema: JsonSchemaObject | undefined;

function requestJsonSchema(): JsonSchemaObject {
  requestSchema ??= z.toJSONSchema(JobRequest, { io: "input", unrepresentable: "any" }) as JsonSchemaObject;
  return requestSchema;
}

export function processSummary(id: SpatialOperation, base: string): OgcProcessSummary {
  const self = `${base}/processes/${id}`;
  return {
    id,
    ...TITLES[id],
    version: "1.0.0",
    jobControlOptions: ["async-execute", "dismiss"],
    outputTransmission: ["value"],
    links: [
      { href: self, rel: "self", type: "application/json", title: "Process description" },
      { href: `${self}?f=html`, rel: "alternate", type: "text/html", title: "This document as HTML" },
      {
        href: `${self}/execution`,
        rel: "http://www.opengis.net/def/rel/ogc/1.0/execute",
        type: "application/json",
        title: "Execute",
      },
    ],
  };
}

export function processDescription(id: SpatialOperation, base: string): OgcProcess {
  const schema = requestJsonSchema();
  const inputs: OgcProcess["inputs"] = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    if (NOT_INPUTS.has(name) || (OPERATION_FIELDS[name] && !OPERATION_FIELDS[name].includes(id))) continue;
    const { description, ...rest } = property as { description?: string };
    inputs[name] = {
      title: name,
      ...(typeof description === "string" ? { description } : {}),
      minOccurs: schema.required?.includes(name) ? 1 : 0,
      maxOccurs: 1,
      schema: rest,
    };
  }
  return {
    ...processSummary(id, base),
    inputs,
    outputs: {
      result: {
        title: "result",
        description: "The job's result: a GeoJSON FeatureCollection, or FlatGeobuf when output_format asks for it.",
        schema: {
          oneOf: [
            { type: "object", contentMediaType: "application/geo+json" },
            { type: "string", contentEncoding: "binary", contentMediaType: "application/flatgeobuf" },
          ],
        },
      },
    },
  };
}

export function processListLinks(base: string): OgcLink[] {
  return [
    { href: `${base}/processes`, rel: "self", type: "application/json", title: "Processes" },
    { href: `${base}/processes?f=html`, rel: "alternate", type: "text/html", title: "This document as HTML" },
  ];
}
