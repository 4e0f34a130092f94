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

/** True for a header name in {@link SENSITIVE_HEADERS} (any case). */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE.has(name.toLowerCase());
}

/** A copy of `headers` without the sensitive ones. */
export function stripSensitiveHeaders(headers: Headers): Headers {
  const out = new Headers();
  headers.forEach((value, name) => {
    if (!isSensitiveHeader(name)) out.append(name, value);
  });
  return out;
}

/**
 * Middleware (register after bearer auth): replaces the request by one
 * without {@link SENSITIVE_HEADERS}; the body stream is handed over unread.
 */
export function gateway(): MiddlewareHandler {
  return async function gatewayMiddleware(c, next) {
    const raw = c.req.raw;
    let dirty = false;
    raw.headers.forEach((_v, name) => {
      if (isSensitiveHeader(name)) dirty = true;
    });
    if (dirty) c.req.raw = new Request(raw, { headers: stripSensitiveHeaders(raw.headers) });
    await next();
  };
}
