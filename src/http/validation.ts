/**
 * The one validation hook: zod failures become a {@link ValidationError} with
 * field paths (`geometry_payload.features[3].geometry.coordinates[0]`), never
 * zod's raw output.
 */
import type { Context } from "hono";
import type { ZodError } from "zod";
import { MAX_REPORTED_ERRORS } from "../../shared/contract/limits.ts";
import { type FieldError, ValidationError } from "../../shared/problem.ts";

/** `["a", 3, "b"]` → `a[3].b`; the empty path is `""` (the whole body). */
export function formatPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

interface IssueLike {
  code?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  input?: unknown;
}

/** Flattens zod issues into field errors (unknown keys get one error each), capped at {@link MAX_REPORTED_ERRORS}. */
function issuesToFieldErrors(issues: readonly IssueLike[], prefix = ""): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys" && issue.keys) {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...issue.path, key], prefix), message: "unknown field" });
      }
    } else if (issue.code === "invalid_type" && issue.input === undefined) {
      out.push({ path: formatPath(issue.path, prefix), message: "required field is missing" });
    } else {
      out.push({ path: formatPath(issue.path, prefix), message: issue.message });
    }
  }
  return out;
}

const TARGET_PREFIX: Record<string, string> = { json: "", query: "", param: "", header: "", cookie: "", form: "" };

/** The error a failed parse of `target` becomes: 400 for path parameters, 422 for everything else. */
export function validationErrorFrom(error: ZodError, target: string): ValidationError {
  const all = issuesToFieldErrors(error.issues as unknown as IssueLike[], TARGET_PREFIX[target] ?? "");
  const shown = all.slice(0, MAX_REPORTED_ERRORS);
  const where = target === "json"
    ? "request body"
    : target === "param"
    ? "path"
    : target === "query"
    ? "query string"
    : target;
  const detail = `The ${where} has ${all.length} invalid field${all.length === 1 ? "" : "s"}` +
    (shown.length < all.length ? ` (the first ${shown.length} are listed).` : ".");
  return new ValidationError(detail, shown, target === "param" ? 400 : 422);
}

/**
 * `defaultHook` for OpenAPIHono: throws on failure, so `onError` renders it.
 *
 * @example
 * ```ts
 * new OpenAPIHono({ defaultHook: validationHook });
 * ```
 */
export function validationHook(
  result: { success: true; data: unknown; target: string } | { success: false; error: ZodError; target: string },
  _c: Context,
): void {
  if (!result.success) throw validationErrorFrom(result.error, result.target);
}

/**
 * Collects semantic field errors (the sink a checker reports to) and throws them as one
 * {@link ValidationError} naming `what` ("The dataset has 3 invalid fields.").
 */
export function collectFieldErrors(what: string): {
  sink: (path: readonly PropertyKey[], message: string) => boolean;
  throwIfAny(): void;
} {
  const errors: FieldError[] = [];
  let total = 0;
  return {
    sink(path, message) {
      total++;
      if (errors.length < MAX_REPORTED_ERRORS) errors.push({ path: formatPath(path), message });
      return true;
    },
    throwIfAny() {
      if (total === 0) return;
      throw new ValidationError(
        `${what} has ${total} invalid field${total === 1 ? "" : "s"}` +
          (errors.length < total ? ` (the first ${errors.length} are listed).` : "."),
        errors,
      );
    },
  };
}
