/**
 * Webhook signatures, Stripe style. Each tenant (token `sub`) has its own
 * secret, derived rather than stored: `whsec_` + hex(HMAC-SHA256(key, sub))
 * with the `WEBHOOK_SIGNING_KEY` binding as the key, so rotating the binding
 * rotates every tenant's secret. A caller reads its secret from
 * `GET /v1/webhooks/secret`.
 *
 * Every delivery carries
 * `X-Spatial-Jobs-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
 * where the HMAC key is the secret string's UTF-8 bytes (the whole string,
 * `whsec_` included). A receiver recomputes the HMAC over the raw body it
 * received, compares in constant time, and refuses a `t` more than
 * {@link SIGNATURE_TOLERANCE_S} seconds from its clock (a replayed request
 * carries an old `t`, and changing `t` breaks the signature). Retries are
 * signed afresh, with a new `t`; the `X-Spatial-Jobs-Delivery` id stays the
 * same, so receivers dedupe on it.
 */

export const SIGNATURE_HEADER = "X-Spatial-Jobs-Signature";
/** How far a signature's timestamp may be from the receiver's clock. */
export const SIGNATURE_TOLERANCE_S = 300;

const encoder = new TextEncoder();

async function hmacHex(key: string, message: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The tenant's signing secret, derived from the service key and the token subject. */
export async function tenantSecret(signingKey: string, sub: string): Promise<string> {
  if (!signingKey) throw new TypeError("WEBHOOK_SIGNING_KEY is not configured");
  return `whsec_${await hmacHex(signingKey, `tenant:${sub}`)}`;
}

/** The signature header value for `body` at `unixSeconds`. */
export async function signPayload(secret: string, body: string, unixSeconds: number): Promise<string> {
  return `t=${unixSeconds},v1=${await hmacHex(secret, `${unixSeconds}.${body}`)}`;
}

export type VerifyOutcome = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * Verifies a signature header as a receiver would (exported for tests, and as
 * the reference for receivers in other languages).
 *
 * @example
 * ```ts
 * const outcome = await verifySignature(secret, await request.text(), request.headers.get(SIGNATURE_HEADER));
 * if (!outcome.ok) return new Response(outcome.reason, { status: 400 });
 * ```
 */
export async function verifySignature(
  secret: string,
  body: string,
  header: string | null,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = SIGNATURE_TOLERANCE_S,
): Promise<VerifyOutcome> {
  if (!header) return { ok: false, reason: "no signature header" };
  const fields = header.split(",").map((part) => part.trim().split("=", 2) as [string, string | undefined]);
  const t = Number(fields.find(([k]) => k === "t")?.[1]);
  const signatures = fields.filter(([k, v]) => k === "v1" && v).map(([, v]) => v!);
  if (!Number.isInteger(t) || signatures.length === 0) return { ok: false, reason: "malformed signature header" };
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return { ok: false, reason: "timestamp outside the tolerance" };
  const expected = await hmacHex(secret, `${t}.${body}`);
  return signatures.some((s) => constantTimeEqual(s, expected))
    ? { ok: true, timestamp: t }
    : { ok: false, reason: "signature mismatch" };
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
