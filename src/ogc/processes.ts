/**
 * One OGC process per operation of the registry (operations/mod.ts): an operation added there is a process here.
 * A process's inputs are the `/v1` job request's fields for that operation as JSON Schema, derived from the same zod
 * schemas (the common fields and the operation's own), so the two APIs cannot drift apart.
 */
import { z } from "@hono/zod-openapi";
import { JOB_REQUEST_FIELDS } from "../../shared/contract/job.ts";
import type { OgcLink, OgcProcess, OgcProcessSummary } from "../../shared/contract/ogc.ts";
import { type Operation, operationOf, OPERATIONS } from "../../operations/mod.ts";

/** Request fields that are not process inputs: the process id is the operation, the key travels in a header. */
const NOT_INPUTS = new Set(["job_idempotency_key"]);

export function processIds(): string[] {
  return Object.keys(OPERATIONS);
}

export function isProcessId(id: string): boolean {
  return operationOf(id) !== undefined;
}

type JsonSchemaObject = { properties: Record<string, Record<string, unknown>>; required?: string[] };
const inputSchemas = new Map<string, JsonSchemaObject>();

function inputSchema(operation: Operation): JsonSchemaObject {
  let schema = inputSchemas.get(operation.name);
  if (!schema) {
    const fields = z.object({ ...JOB_REQUEST_FIELDS, ...operation.request.fields });
    schema = z.toJSONSchema(fields, { io: "input", unrepresentable: "any" }) as JsonSchemaObject;
    inputSchemas.set(operation.name, schema);
  }
  return schema;
}

export function processSummary(id: string, base: string): OgcProcessSummary {
  const operation = operationOf(id)!;
  const self = `${base}/processes/${id}`;
  return {
    id,
    title: operation.summary?.title ?? id,
    description: operation.summary?.description ?? `The ${id} operation (${operation.datasetKind} dataset).`,
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

export function processDescription(id: string, base: string): OgcProcess {
  const schema = inputSchema(operationOf(id)!);
  const inputs: OgcProcess["inputs"] = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    if (NOT_INPUTS.has(name)) continue;
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
