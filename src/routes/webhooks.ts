/** `GET /v1/webhooks/secret`: the caller's webhook signing secret (derived per token subject, never stored). */
import { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_S, tenantSecret } from "../../shared/webhook_signing.ts";
import type { WebhookSecret } from "../app.ts";
import type { Claims } from "../auth/mod.ts";
import { ProblemError } from "../../shared/problem.ts";

export async function webhookSecret(env: Env, claims: Claims): Promise<WebhookSecret> {
  if (!env.WEBHOOK_SIGNING_KEY) {
    throw new ProblemError(503, "Webhook signing is not configured (WEBHOOK_SIGNING_KEY).", {
      type: "webhooks-unavailable",
    });
  }
  return {
    secret: await tenantSecret(env.WEBHOOK_SIGNING_KEY, claims.sub),
    signature_header: SIGNATURE_HEADER,
    scheme: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${raw body}`)>",
    tolerance_seconds: SIGNATURE_TOLERANCE_S,
  };
}
