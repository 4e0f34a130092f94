/**
 * Request tracing: `X-Request-Trace-ID` (echoed when valid, else generated) and
 * W3C Trace Context `traceparent` (continued with a new span id when valid, else
 * started), set on every response. The ids and a bound {@link Logger} are put in
 * the Hono context for logs and for passing on to Durable Objects.
 */
import type { MiddlewareHandler } from "hono";
import { createLogger, type Logger } from "../../shared/telemetry/log.ts";
import { generateSpanId, generateTraceId } from "../../shared/telemetry/ids.ts";
import { type Span, startSpan } from "../../shared/telemetry/span.ts";
import { setResponseHeader } from "./response_headers.ts";

export { generateSpanId, generateTraceId } from "../../shared/telemetry/ids.ts";

const TRACE_ID_HEADER = "X-Request-Trace-ID";
const TRACEPARENT_HEADER = "traceparent";

/** A client trace id is echoed only when it is 16–128 characters of `[A-Za-z0-9._-]`. */
const TRACE_ID_PATTERN = /^[A-Za-z0-9._-]{16,128}$/;

export function isValidTraceId(value: string | null | undefined): value is string {
  return typeof value === "string" && TRACE_ID_PATTERN.test(value);
}

/** A parsed W3C `traceparent` (version-00 fields). */
export interface TraceParent {
  version: string;
  traceId: string;
  parentId: string;
  flags: string;
}

const HEX2 = /^[0-9a-f]{2}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/**
 * Parses a `traceparent` header per W3C Trace Context: lowercase hex only,
 * version `ff` invalid, all-zero trace or parent id invalid, version `00`
 * exactly 55 characters; a higher version may carry more fields after a `-`.
 * Returns `null` when invalid.
 *
 * @example
 * ```ts
 * parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.traceId; // "4bf9…4736"
 * ```
 */
export function parseTraceparent(header: string | null | undefined): TraceParent | null {
  if (typeof header !== "string") return null;
  const value = header.trim();
  if (value.length < 55) return null;
  const version = value.slice(0, 2);
  if (!HEX2.test(version) || version === "ff") return null;
  if (version === "00" && value.length !== 55) return null;
  if (value.length > 55 && value[55] !== "-") return null;
  if (value[2] !== "-" || value[35] !== "-" || value[52] !== "-") return null;
  const traceId = value.slice(3, 35);
  const parentId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!HEX32.test(traceId) || /^0+$/.test(traceId)) return null;
  if (!HEX16.test(parentId) || /^0+$/.test(parentId)) return null;
  if (!HEX2.test(flags)) return null;
  return { version, traceId, parentId, flags };
}

/** The trace state of one request, as stored in the Hono context. */
export interface TraceContext {
  /** The `X-Request-Trace-ID` value: client-supplied if valid, else the W3C trace id. Goes in problems and logs. */
  traceId: string;
  /** The W3C trace id (32 hex), continued from `traceparent` or generated. */
  w3cTraceId: string;
  /** This request's span id (16 hex, always new). */
  spanId: string;
  /** The caller's span id when a valid `traceparent` was received. */
  parentSpanId: string | undefined;
  /** The `traceparent` this service answers with and passes downstream. */
  traceparent: string;
}

/**
 * Derives the trace context of a request from its headers.
 * If the `traceparent` is valid its trace id and flags are kept and a new span id is minted.
 */
export function resolveTrace(headers: Headers): TraceContext {
  const parent = parseTraceparent(headers.get(TRACEPARENT_HEADER));
  const w3cTraceId = parent?.traceId ?? generateTraceId();
  const spanId = generateSpanId();
  const flags = parent ? parent.flags : "01";
  const clientId = headers.get(TRACE_ID_HEADER);
  return {
    traceId: isValidTraceId(clientId) ? clientId : w3cTraceId,
    w3cTraceId,
    spanId,
    parentSpanId: parent?.parentId,
    traceparent: `00-${w3cTraceId}-${spanId}-${flags}`,
  };
}

/** The context variables the trace middleware sets. */
export interface TraceVariables {
  traceId: string;
  w3cTraceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  traceparent: string;
  logger: Logger;
  /** The request's server span: what a handler adds to it is on the request's access-log line. */
  span: Span;
}

/**
 * Middleware (register first): resolves the trace, binds a logger, sets the
 * trace headers on every response and logs the request's server span (the
 * access-log line: method, path, route, status, duration).
 */
export function trace(): MiddlewareHandler<{ Variables: TraceVariables }> {
  return async function traceMiddleware(c, next) {
    const t = resolveTrace(c.req.raw.headers);
    c.set("traceId", t.traceId);
    c.set("w3cTraceId", t.w3cTraceId);
    c.set("spanId", t.spanId);
    c.set("parentSpanId", t.parentSpanId);
    c.set("traceparent", t.traceparent);
    const logger = createLogger({
      trace_id: t.traceId,
      span_id: t.spanId,
      ...(t.traceId !== t.w3cTraceId ? { w3c_trace_id: t.w3cTraceId } : {}),
      ...(t.parentSpanId ? { parent_span_id: t.parentSpanId } : {}),
    });
    c.set("logger", logger);
    // The path as Hono routes on it (the URL's pathname, percent-decoded), parsed as a string: a `URL` would be one
    // more runtime object for the collector to destroy.
    const path = c.req.path;
    // The request's server span: its id is the one answered in `traceparent`; it ends as the access-log line.
    const span = startSpan(`${c.req.method} ${path}`, {
      traceId: t.traceId,
      spanId: t.spanId,
      parentSpanId: t.parentSpanId,
      kind: "server",
      logger,
      attributes: { "http.request.method": c.req.method, "url.path": path },
    });
    c.set("span", span);
    try {
      await next();
    } finally {
      setResponseHeader(c, TRACE_ID_HEADER, t.traceId);
      setResponseHeader(c, TRACEPARENT_HEADER, t.traceparent);
      const status = c.res.status;
      span.setAttribute("http.response.status_code", status);
      const route = c.req.routePath;
      // A request answered by a middleware (401, 413, 429) has no route of its own: keep the path name.
      if (route && !route.includes("*")) {
        span.setAttribute("http.route", route);
        span.updateName(`${c.req.method} ${route}`);
      }
      if (status >= 500) span.setStatus("ERROR");
      span.end();
    }
  };
}
