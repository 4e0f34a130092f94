/** `GET /v1/webhooks/secret`: the caller's webhook signing secret (derived per token subject, never stored). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_S, tenantSecret } from "../../shared/webhook_signing.ts";
import type { Claims } from "../auth/mod.ts";
import { ProblemError } from "../../shared/problem.ts";
import { type AppEnv, problems, router, security } from "./openapi.ts";
import { config } from "../../shared/config.ts";

export const WebhookSecret = z
  .object({
    secret: z.string().openapi({ example: "whsec_9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }),
    signature_header: z.literal("X-Spatial-Jobs-Signature"),
    scheme: z.string(),
    tolerance_seconds: z.int().positive(),
  })
  .openapi("WebhookSecret");
export type WebhookSecret = z.infer<typeof WebhookSecret>;

async function webhookSecret(env: Env, claims: Claims): Promise<WebhookSecret> {
  const signingKey = config(env).WEBHOOK_SIGNING_KEY;
  if (!signingKey) {
    throw new ProblemError(503, "Webhook signing is not configured (WEBHOOK_SIGNING_KEY).", {
      type: "webhooks-unavailable",
    });
  }
  return {
    secret: await tenantSecret(signingKey, claims.sub),
    signature_header: SIGNATURE_HEADER,
    scheme: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${raw body}`)>",
    tolerance_seconds: SIGNATURE_TOLERANCE_S,
  };
}

const secretRoute = createRoute({
  method: "get",
  operationId: "getWebhookSecret",
  path: "/v1/webhooks/secret",
  tags: ["webhooks"],
  summary: "Your webhook signing secret",
  description: "Callbacks to your callback_url carry `X-Spatial-Jobs-Signature: t=<unix seconds>,v1=<hex>` where " +
    "v1 = HMAC-SHA256(key = this secret's UTF-8 bytes, message = `<t>.<raw body>`). Recompute it over the raw body, " +
    "compare in constant time, and refuse a t more than tolerance_seconds from your clock (replays). Dedupe on " +
    "X-Spatial-Jobs-Delivery: a delivery may arrive more than once. The secret is derived per token subject.",
  security,
  responses: {
    200: { description: "The secret", content: { "application/json": { schema: WebhookSecret } } },
    ...problems(503),
  },
});

/** `/v1/webhooks/*`. */
export function webhookRoutes(): OpenAPIHono<AppEnv> {
  return router().openapi(secretRoute, async (c) => c.json(await webhookSecret(c.env, c.var.claims), 200));
}
