/**
 * Checks real responses against the response schemas of the service's own `/openapi.json` (OpenAPI 3.1, whose
 * schemas are JSON Schema 2020-12), with ajv. The document's objects are read as closed: a field a response carries
 * that the document does not name is an error (an object that says `additionalProperties` keeps its own rule), so
 * the document describes what the service answers, not a subset of it.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

// deno-lint-ignore no-explicit-any -- the document is JSON walked generically
type Json = any;

export interface CheckedResponse {
  status: number;
  /** The parsed JSON body (undefined when the response has none or is not JSON). */
  body: Json;
  response: Response;
}

const REF = "#/components/schemas/";
const OPEN_SUFFIX = "__open";

/**
 * `unevaluatedProperties: false` on every object schema that names its fields and does not say how it treats others
 * (a bare `{type: "object"}` stays any object).
 */
function closeObjects(node: Json, inAllOf = false): Json {
  if (Array.isArray(node)) return node.map((n) => closeObjects(n, inAllOf));
  if (node === null || typeof node !== "object") return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "allOf") {
      // Members that add fields to a $ref'd object are read together: the $ref'd object stays open there and the
      // allOf node is closed instead.
      const extends_ = (value as Json[]).some((m) => m.properties);
      out.allOf = (value as Json[]).map((m) =>
        extends_ && typeof m.$ref === "string" ? { $ref: `${m.$ref}${OPEN_SUFFIX}` } : closeObjects(m, extends_)
      );
    } else if (key === "properties" || key === "patternProperties" || key === "$defs") {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, closeObjects(v)]));
    } else out[key] = closeObjects(value);
  }
  const isObject = node.properties !== undefined || node.allOf !== undefined;
  if (isObject && !inAllOf && node.additionalProperties === undefined && node.unevaluatedProperties === undefined) {
    out.unevaluatedProperties = false;
  }
  return out;
}

/** The document's schemas, closed, plus an open copy of each one that an `allOf` extends. */
function closedComponents(schemas: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    out[name] = closeObjects(schema);
    const open = { ...out[name] };
    delete open.unevaluatedProperties;
    out[`${name}${OPEN_SUFFIX}`] = open;
  }
  return out;
}

/** The media type without parameters (`application/json; charset=UTF-8` → `application/json`). */
const mediaType = (contentType: string | null) => (contentType ?? "").split(";")[0]!.trim().toLowerCase();

/**
 * Validates responses against `doc`: {@link ResponseChecker.check} fails on a status the operation does not
 * declare, a media type it does not declare, or a JSON body its schema refuses.
 */
export class ResponseChecker {
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #doc: Json;
  /** `operationId status` of every checked response. */
  readonly checked = new Set<string>();

  constructor(doc: Json) {
    this.#doc = doc;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(this.#ajv);
    this.#ajv.addSchema({ $id: "openapi", components: { schemas: closedComponents(doc.components.schemas) } });
  }

  /** The path template of `path` in the document (`/v1/jobs/job_…` → `/v1/jobs/{job_id}`). */
  template(method: string, path: string): string {
    const pathname = new URL(path, "http://x").pathname;
    const parts = pathname.split("/");
    const found = Object.keys(this.#doc.paths).find((t) => {
      const ts = t.split("/");
      return ts.length === parts.length && ts.every((s, i) => s.startsWith("{") || s === parts[i]) &&
        this.#doc.paths[t][method.toLowerCase()];
    });
    if (!found) throw new Error(`${method} ${pathname}: not in the document`);
    return found;
  }

  /** Reads `response` (its body once) and checks it; throws naming the operation, status and schema errors. */
  async check(method: string, path: string, response: Response): Promise<CheckedResponse> {
    const template = this.template(method, path);
    const operation = this.#doc.paths[template][method.toLowerCase()];
    const where = `${method} ${template} (${operation.operationId}) ${response.status}`;
    const declared = operation.responses[String(response.status)] ?? operation.responses.default;
    if (!declared) {
      throw new Error(`${where}: status not declared; body ${(await response.text()).slice(0, 300)}`);
    }
    this.checked.add(`${operation.operationId} ${response.status}`);
    const text = method === "HEAD" ? "" : await response.text();
    if (text === "") return { status: response.status, body: undefined, response };
    const type = mediaType(response.headers.get("content-type"));
    const content = declared.content ?? {};
    if (!content[type]) {
      throw new Error(`${where}: media type ${type} not declared (declared: ${Object.keys(content).join(", ")})`);
    }
    const schema = content[type].schema;
    const binary = schema?.type === "string" && schema.format === "binary";
    const json = !binary && (type === "application/json" || type.endsWith("+json"));
    const body = json ? JSON.parse(text) : undefined;
    if (json) {
      const validate = this.#validator(template, method, response.status, type, schema);
      if (!validate(body)) {
        throw new Error(
          `${where}: ${this.#ajv.errorsText(validate.errors, { separator: "\n  " })}\n${text.slice(0, 500)}`,
        );
      }
    }
    return { status: response.status, body, response };
  }

  #validator(template: string, method: string, status: number, type: string, schema: Json): ValidateFunction {
    const key = `${method} ${template} ${status} ${type}`;
    let validate = this.#validators.get(key);
    if (!validate) {
      const rooted = JSON.parse(JSON.stringify(closeObjects(schema ?? {})).replaceAll(`"${REF}`, `"openapi${REF}`));
      validate = this.#ajv.compile(rooted);
      this.#validators.set(key, validate);
    }
    return validate;
  }
}
