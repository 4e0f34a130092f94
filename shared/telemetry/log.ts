/**
 * A tiny structured logger: one JSON object per line, always carrying the
 * bound fields (trace_id, span_id), with secret-looking fields and bearer
 * tokens redacted.
 */
import { runtime } from "./runtime.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: Record<string, unknown>): Logger;
}

/** Field names whose values are never written (matched case-insensitively). */
const REDACTED_FIELD = /authorization|token|secret|password|passwd|jwt|cookie|api[_-]?key|jwks|credential/i;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let minimumLevel: LogLevel = "info";

/**
 * Lines below `level` are not written (default `info`; `LOG_LEVEL` in
 * wrangler.toml). Per isolate: the Worker and each Durable Object class set it
 * from their env.
 */
export function setLogLevel(level: string | undefined): void {
  if (level && level in LEVEL_RANK) minimumLevel = level as LogLevel;
}

/** Whether a line at `level` is written (a caller skips building what it would write otherwise). */
export function logLevelEnabled(level: LogLevel): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[minimumLevel];
}

/** Where lines go; tests replace it to capture output. */
export const logSink: { write(line: string, level: LogLevel): void } = {
  write(line, level) {
    if (level === "error") runtime.console.error(line);
    else if (level === "warn") runtime.console.warn(line);
    else runtime.console.log(line);
  },
};

/** A compact JWS/JWT (`eyJ…` header) anywhere in a string value; replaced before writing. */
const JWT_IN_TEXT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === "string") return value.includes("eyJ") ? value.replace(JWT_IN_TEXT, "[redacted]") : value;
  if (depth <= 0 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth - 1));
  return redact(value as Record<string, unknown>, depth - 1);
}

/** Drops the values of secret-looking field names and any bearer token inside strings (4 levels deep). */
function redact(fields: Record<string, unknown>, depth = 4): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = REDACTED_FIELD.test(key) ? "[redacted]" : scrub(value, depth);
  }
  return out;
}

/**
 * Creates a logger bound to `base` (e.g. `{trace_id, span_id}`).
 *
 * @example
 * ```ts
 * createLogger({ trace_id: "t", span_id: "s" }).info("job accepted", { job_id });
 * // {"ts":"…","level":"info","msg":"job accepted","trace_id":"t","span_id":"s","job_id":"…"}
 * ```
 */
export function createLogger(base: Record<string, unknown>): Logger {
  // Redacted when a line is first written: most loggers (one per request and per span) write one line or none.
  let bound: Record<string, unknown> | undefined;
  const emit = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (!logLevelEnabled(level)) return;
    bound ??= redact(base);
    const line = { ts: new Date().toISOString(), level, msg: scrub(msg, 0) as string, ...redact(fields), ...bound };
    let text: string;
    try {
      text = JSON.stringify(line, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    } catch {
      text = JSON.stringify({ ts: line.ts, level, msg, ...bound, log_error: "unserializable fields" });
    }
    logSink.write(text, level);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

/** The logger of a request context (set by the trace middleware), or an unbound one. */
export function getLogger(c: { get(name: never): unknown }): Logger {
  // `get`, not `var`: Hono's `c.var` copies every variable on each read.
  return (c.get("logger" as never) as Logger | undefined) ?? createLogger({ trace_id: "none", span_id: "none" });
}
