/**
 * An OGC execute request as a `/v1` job request: the process is the operation, the inputs are the request's fields,
 * the `Idempotency-Key` header is its key and a subscriber URI its `callback_url`. Checked by the same schema as
 * `POST /v1/jobs`, with the problems' paths named as the client wrote them (`inputs.bbox`, `Idempotency-Key`).
 */
import { JobRequest, normalizeJobRequest } from "../../operations/request.ts";
import type { OgcExecute } from "../../shared/contract/ogc.ts";
import { type FieldError, ValidationError } from "../../shared/problem.ts";
import { issuesToFieldErrors } from "../http/validation.ts";
import { MAX_REPORTED_ERRORS } from "../../shared/contract/limits.ts";

const NOT_INPUTS = ["spatial_operation", "job_idempotency_key"];

export function jobRequestOf(
  processId: string,
  execute: OgcExecute,
  idempotencyKey: string | undefined,
): JobRequest {
  const errors: FieldError[] = NOT_INPUTS.filter((name) => name in execute.inputs).map((name) => ({
    path: `inputs.${name}`,
    message: name === "spatial_operation"
      ? "the process is the operation; not an input"
      : "send the idempotency key in the Idempotency-Key header",
  }));
  const uris = [...new Set(Object.values(execute.subscriber ?? {}).filter((uri) => uri !== undefined))];
  if (uris.length > 1) {
    errors.push({ path: "subscriber", message: "this service sends every job event to one URI; give the same URI" });
  }
  if (uris.length && execute.inputs.callback_url !== undefined) {
    errors.push({ path: "subscriber", message: "give either a subscriber or inputs.callback_url, not both" });
  }
  if (errors.length) throw new ValidationError(`The execute request has ${errors.length} invalid fields.`, errors);

  const parsed = JobRequest.safeParse({
    ...execute.inputs,
    spatial_operation: processId,
    job_idempotency_key: idempotencyKey ?? crypto.randomUUID(),
    ...(uris.length ? { callback_url: uris[0] } : {}),
  });
  if (parsed.success) return normalizeJobRequest(parsed.data);
  const all = issuesToFieldErrors(parsed.error.issues as Parameters<typeof issuesToFieldErrors>[0], "inputs").map(
    (e) => ({
      ...e,
      path: e.path.startsWith("inputs.job_idempotency_key")
        ? "Idempotency-Key"
        : e.path.startsWith("inputs.callback_url") && uris.length
        ? "subscriber"
        : e.path,
    }),
  );
  const shown = all.slice(0, MAX_REPORTED_ERRORS);
  throw new ValidationError(
    `The execute request has ${all.length} invalid field${all.length === 1 ? "" : "s"}` +
      (shown.length < all.length ? ` (the first ${shown.length} are listed).` : "."),
    shown,
  );
}
