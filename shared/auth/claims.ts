/** The JWT claims this service requires, as a zod schema. */
import { z } from "@hono/zod-openapi";
import { bboxProblem, Classification } from "../contract/common.ts";

export const Claims = z.looseObject({
  sub: z.string().min(1).max(256),
  domain: z.string().min(1).max(128),
  spatial_scope: z
    .tuple([z.number(), z.number(), z.number(), z.number()])
    .superRefine((b, ctx) => {
      const problem = bboxProblem(b);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  data_classification: Classification,
  exp: z.number(),
  iat: z.number(),
  nbf: z.number().optional(),
  /** Optional roles; `operator` unlocks `/v1/ops/...`. */
  roles: z.array(z.string()).optional(),
});

/** Verified claims of the caller. */
export type Claims = z.infer<typeof Claims>;
