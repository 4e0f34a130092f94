/**
 * Gateway translation: once the edge has authenticated a request, the headers
 * that carry credentials or identify the client's network location are
 * dropped from it, so no handler can pass them on to a Durable Object, a log
 * line, a stored job record or a webhook. What flows downstream is the
 * verified claims and the trace context, never the raw headers.
 */
import type { MiddlewareHandler } from "hono";

/**
 * Request headers that never leave the edge (lowercase). Credentials:
 * `authorization`, `proxy-authorization`, `cookie`, API-key headers; the
 * client's address: Cloudflare's, the de-facto proxy headers and RFC 7239
 * `forwarded`.
 */
const SENSITIVE_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "x-api-key",
  "x-auth-token",
  "x-amz-security-token",
  "cf-connecting-ip",
  "cf-connecting-ipv6",
  "cf-pseudo-ipv4",
  "true-client-ip",
  "x-forwarded-for",
  "x-real-ip",
  "x-client-ip",
  "x-cluster-client-ip",
  "forwarded",
];

const SENSITIVE = new Set(SENSITIVE_HEADERS);

/**
 * The headers of `headers` that are not in {@link SENSITIVE_HEADERS}, or null when none of them is (one pass:
 * every request goes through it).
 */
export function withoutSensitiveHeaders(headers: Headers): [string, string][] | null {
  const kept: [string, string][] = [];
  let dirty = false;
  // Headers iterate with lowercase names.
  headers.forEach((value, name) => {
    if (SENSITIVE.has(name)) dirty = true;
    else kept.push([name, value]);
  });
  return dirty ? kept : null;
}

/**
 * Middleware (register after bearer auth): replaces the request by one
 * without {@link SENSITIVE_HEADERS}; the body stream is handed over unread.
 * A request without any is kept as it is.
 */
export function gateway(): MiddlewareHandler {
  return async function gatewayMiddleware(c, next) {
    const kept = withoutSensitiveHeaders(c.req.raw.headers);
    if (kept) c.req.raw = new Request(c.req.raw, { headers: kept });
    await next();
  };
}
