/**
 * Spans after the OpenTelemetry data model (name, trace id, span id, parent
 * span id, kind, start/end time, attributes, status), exported as one JSON log
 * line each when they end — the log is the exporter. A span line is an
 * ordinary log line (`msg: "span"`), so it carries `trace_id` and `span_id`
 * (the span's own id) like every other line.
 */
import { createLogger, type Logger, logLevelEnabled } from "./log.ts";
import { generateSpanId } from "./ids.ts";

export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";
export type SpanStatusCode = "UNSET" | "OK" | "ERROR";
export type AttributeValue = string | number | boolean | string[] | number[];

/** A finished span, as written to the log (times are ISO 8601; `duration_ms` is end − start). */
export interface SpanRecord {
  name: string;
  kind: SpanKind;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  start_time: string;
  end_time: string;
  duration_ms: number;
  attributes: Record<string, AttributeValue>;
  status: { code: SpanStatusCode; message?: string };
}

export interface Span {
  /** The span's name (OTel: low-cardinality, e.g. `POST /v1/jobs`). */
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  /** A logger whose lines carry this span's `trace_id` and `span_id`. */
  readonly logger: Logger;
  setAttribute(key: string, value: AttributeValue): void;
  updateName(name: string): void;
  setStatus(code: SpanStatusCode, message?: string): void;
  /** Ends the span and logs it once (later calls do nothing). */
  end(): void;
}

export interface SpanOptions {
  /** The trace this span belongs to (the request's `trace_id`). */
  traceId: string;
  /** The parent's span id, if any. */
  parentSpanId?: string | undefined;
  /** Use this id instead of a new one (the request span reuses the id it answers in `traceparent`). */
  spanId?: string;
  kind?: SpanKind;
  attributes?: Record<string, AttributeValue>;
  /** Fields every line of the span's logger carries (e.g. `{job_id}`); span ids are added on top. */
  logger?: Logger;
  /** The level of its line unless its status is ERROR (then `warn`); default `info`. */
  level?: "debug" | "info";
  /** Clock (ms since the epoch); tests pass their own. */
  now?: () => number;
}

/**
 * Starts a span. Log inside it with `span.logger`; call `end()` in a `finally`.
 *
 * @example
 * ```ts
 * const span = startSpan("ledger.submit", { traceId: spec.trace_id, parentSpanId, attributes: { job_id } });
 * try { ... } catch (e) { span.setStatus("ERROR", String(e)); throw e; } finally { span.end(); }
 * ```
 */
export function startSpan(initialName: string, options: SpanOptions): Span {
  let name = initialName;
  const now = options.now ?? Date.now;
  const spanId = options.spanId ?? generateSpanId();
  const start = now();
  const attributes: Record<string, AttributeValue> = { ...options.attributes };
  let status: SpanRecord["status"] = { code: "UNSET" };
  let ended = false;
  const ids = {
    trace_id: options.traceId,
    span_id: spanId,
    ...(options.parentSpanId ? { parent_span_id: options.parentSpanId } : {}),
  };
  const logger = options.logger ? options.logger.child(ids) : createLogger(ids);
  return {
    get name() {
      return name;
    },
    traceId: options.traceId,
    spanId,
    parentSpanId: options.parentSpanId,
    logger,
    setAttribute(key, value) {
      attributes[key] = value;
    },
    updateName(next) {
      name = next;
    },
    setStatus(code, message) {
      status = message === undefined ? { code } : { code, message };
    },
    end() {
      if (ended) return;
      ended = true;
      const level = status.code === "ERROR" ? "warn" : options.level ?? "info";
      // Below the log level the record is not built: every request ends a span.
      if (!logLevelEnabled(level)) return;
      const end = Math.max(now(), start);
      // The ids are the logger's own fields.
      const record: Omit<SpanRecord, "trace_id" | "span_id" | "parent_span_id"> = {
        name,
        kind: options.kind ?? "internal",
        start_time: new Date(start).toISOString(),
        end_time: new Date(end).toISOString(),
        duration_ms: end - start,
        attributes,
        status,
      };
      logger[level]("span", record);
    },
  };
}
