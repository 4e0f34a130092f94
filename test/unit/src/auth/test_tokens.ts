/** Test helpers: sign tokens with jose and silence the JSON logger. */
import { SignJWT } from "jose";
import { logSink } from "../../../../shared/telemetry/log.ts";

export const TEST_SECRET = "dev-secret";
export const TEST_ENV = { JWT_SECRET: TEST_SECRET };

export const BASE_CLAIMS = {
  sub: "user-1",
  domain: "transport",
  spatial_scope: [-180, -90, 180, 90],
  data_classification: "internal",
};

/** Signs an HS256 token; `iat`/`exp` default to now/now+10 min; pass `omit` to drop claims. */
export async function signToken(
  overrides: Record<string, unknown> = {},
  opts: { secret?: string; omit?: string[]; iat?: number; exp?: number; nbf?: number; aud?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    ...BASE_CLAIMS,
    iat: opts.iat ?? now,
    exp: opts.exp ?? now + 600,
    ...overrides,
  };
  if (opts.nbf !== undefined) payload.nbf = opts.nbf;
  if (opts.aud !== undefined) payload.aud = opts.aud;
  for (const k of opts.omit ?? []) delete payload[k];
  return await new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(opts.secret ?? TEST_SECRET));
}

/** Captures log lines instead of printing them; returns the captured lines. */
export function captureLogs(): { lines: string[]; restore(): void } {
  const original = logSink.write;
  const lines: string[] = [];
  logSink.write = (line) => void lines.push(line);
  return { lines, restore: () => void (logSink.write = original) };
}
