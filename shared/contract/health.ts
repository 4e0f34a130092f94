import { z } from "@hono/zod-openapi";

export const Health = z
  .object({ status: z.literal("ok"), geos_version: z.string().openapi({ example: "3.13.0" }) })
  .openapi("Health");
export type Health = z.infer<typeof Health>;
