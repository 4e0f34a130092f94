/**
 * The OGC API – Processes – Part 1: Core 1.0 response schemas (OGC 18-062r2, openapi/schemas/*.yaml at
 * schemas.opengis.net/ogcapi/processes/part1/1.0), transcribed as JSON Schema: link, landingPage, confClasses,
 * descriptionType, processSummary, processList, process (with inputDescription and outputDescription), statusInfo,
 * jobList and exception.
 */
import Ajv from "ajv";
import addFormats from "ajv-formats";

const link = {
  type: "object",
  required: ["href"],
  properties: {
    href: { type: "string" },
    rel: { type: "string" },
    type: { type: "string" },
    hreflang: { type: "string" },
    title: { type: "string" },
  },
};
const links = { type: "array", items: { $ref: "link" } };

const metadata = {
  type: "object",
  properties: { title: { type: "string" }, role: { type: "string" }, href: { type: "string" } },
};

const descriptionType = {
  type: "object",
  properties: {
    title: { type: "string" },
    description: { type: "string" },
    keywords: { type: "array", items: { type: "string" } },
    metadata: { type: "array", items: metadata },
    additionalParameters: { type: "object" },
  },
};

const processSummary = {
  allOf: [
    { $ref: "descriptionType" },
    {
      type: "object",
      required: ["id", "version"],
      properties: {
        id: { type: "string" },
        version: { type: "string" },
        jobControlOptions: { type: "array", items: { enum: ["sync-execute", "async-execute", "dismiss"] } },
        outputTransmission: { type: "array", items: { enum: ["value", "reference"] } },
        links,
      },
    },
  ],
};

const inputDescription = {
  allOf: [
    { $ref: "descriptionType" },
    {
      type: "object",
      required: ["schema"],
      properties: {
        minOccurs: { type: "integer", default: 1 },
        maxOccurs: { oneOf: [{ type: "integer", default: 1 }, { type: "string", enum: ["unbounded"] }] },
        schema: { type: "object" },
      },
    },
  ],
};

const outputDescription = {
  allOf: [{ $ref: "descriptionType" }, {
    type: "object",
    required: ["schema"],
    properties: { schema: { type: "object" } },
  }],
};

const statusInfo = {
  type: "object",
  required: ["jobID", "status", "type"],
  properties: {
    processID: { type: "string" },
    type: { type: "string", enum: ["process"] },
    jobID: { type: "string" },
    status: { type: "string", enum: ["accepted", "running", "successful", "failed", "dismissed"] },
    message: { type: "string" },
    created: { type: "string", format: "date-time" },
    started: { type: "string", format: "date-time" },
    finished: { type: "string", format: "date-time" },
    updated: { type: "string", format: "date-time" },
    progress: { type: "integer", minimum: 0, maximum: 100 },
    links,
  },
};

export const SCHEMAS = {
  landingPage: {
    type: "object",
    required: ["links"],
    properties: { title: { type: "string" }, description: { type: "string" }, links },
  },
  confClasses: {
    type: "object",
    required: ["conformsTo"],
    properties: { conformsTo: { type: "array", items: { type: "string" } } },
  },
  processList: {
    type: "object",
    required: ["processes", "links"],
    properties: { processes: { type: "array", items: { $ref: "processSummary" } }, links },
  },
  process: {
    allOf: [
      { $ref: "processSummary" },
      {
        type: "object",
        properties: {
          inputs: { type: "object", additionalProperties: { $ref: "inputDescription" } },
          outputs: { type: "object", additionalProperties: { $ref: "outputDescription" } },
        },
      },
    ],
  },
  statusInfo: { $ref: "statusInfo" },
  jobList: {
    type: "object",
    required: ["jobs", "links"],
    properties: { jobs: { type: "array", items: { $ref: "statusInfo" } }, links },
  },
  exception: {
    type: "object",
    required: ["type"],
    properties: {
      type: { type: "string" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      instance: { type: "string" },
    },
    additionalProperties: true,
  },
} as const;

// deno-lint-ignore no-explicit-any -- ajv's CJS default export under Deno
const ajv = new (Ajv as any)({ strict: false, allErrors: true });
// deno-lint-ignore no-explicit-any
(addFormats as any)(ajv);
for (
  const [id, schema] of Object.entries({
    link,
    descriptionType,
    processSummary,
    inputDescription,
    outputDescription,
    statusInfo,
  })
) ajv.addSchema(schema, id);

/** Throws with ajv's errors unless `document` validates against the standard's schema `name`. */
export function assertOgc(name: keyof typeof SCHEMAS, document: unknown): void {
  const validate = ajv.compile(SCHEMAS[name]);
  if (!validate(document)) {
    throw new Error(
      `not a valid ${name}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(document).slice(0, 800)}`,
    );
  }
}
