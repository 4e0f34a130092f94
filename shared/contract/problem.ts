/** The RFC 9457 problem document every error answers with. */
import { z } from "@hono/zod-openapi";

export const FieldErrorSchema = z
  .object({
    path: z.string().openapi({ example: "geometry_payload.features[3].geometry.coordinates[0]" }),
    message: z.string(),
  })
  .openapi("FieldError");

export const Problem = z
  .object({
    type: z.string().openapi({ example: "urn:spatial-jobs:problem:validation-error" }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z.array(FieldErrorSchema).optional(),
    trace_id: z.string(),
  })
  .openapi("Problem");
export type Problem = z.infer<typeof Problem>;
