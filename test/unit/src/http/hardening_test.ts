/** Pure pieces of the edge hardening: token bucket, sensitive headers, spans, log scrubbing. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { takeToken } from "../../../../durable-objects/idempotency_registry/token_bucket.ts";
import { withoutSensitiveHeaders } from "../../../../src/http/gateway.ts";
import { startSpan } from "../../../../shared/telemetry/span.ts";
import { createLogger, setLogLevel } from "../../../../shared/telemetry/log.ts";
import { captureLogs } from "../auth/test_tokens.ts";

Deno.test("token bucket admits a full burst, then refuses with the wait until the next token", () => {
  let state;
  for (let i = 0; i < 40; i++) {
    const r = takeToken(state, 1_000, 20, 40);
    ok(r.outcome.ok, `request ${i} admitted`);
    state = r.state;
  }
  const refused = takeToken(state, 1_000, 20, 40);
  equal(refused.outcome.ok, false);
  ok(Math.abs(refused.outcome.retry_after_s - 0.05) < 1e-9, `${refused.outcome.retry_after_s}`);
  const later = takeToken(refused.state, 1_050, 20, 40);
  equal(later.outcome.ok, true, "one token refilled after 50 ms at 20/s");
  equal(takeToken(later.state, 1_000_000, 20, 40).outcome.remaining, 39, "never refills above the burst");
});

Deno.test("gateway strips credentials and client-IP headers in any case, keeps the rest", () => {
  const h = new Headers({
    Authorization: "Bearer x",
    Cookie: "a=b",
    "CF-Connecting-IP": "1.2.3.4",
    "X-Forwarded-For": "1.2.3.4",
    "X-Real-IP": "1.2.3.4",
    Forwarded: "for=1.2.3.4",
    "Content-Type": "application/json",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  });
  deepEqual(withoutSensitiveHeaders(h)?.map(([name]) => name).sort(), ["content-type", "traceparent"]);
  deepEqual(withoutSensitiveHeaders(new Headers({ "PROXY-AUTHORIZATION": "x" })), []);
  equal(withoutSensitiveHeaders(new Headers({ "x-request-trace-id": "t" })), null, "nothing to strip: no copy");
});

Deno.test("a span logs one JSON line with OTel fields, its own span_id and the parent's id", () => {
  const logs = captureLogs();
  try {
    let t = 1_000;
    const span = startSpan("ledger.submit", {
      traceId: "trace-1",
      parentSpanId: "00f067aa0ba902b7",
      attributes: { job_id: "job_1" },
      now: () => t,
    });
    t = 1_250;
    span.setStatus("ERROR", "boom");
    span.end();
    span.end();
    equal(logs.lines.length, 1, "ended once");
    const line = JSON.parse(logs.lines[0]!);
    equal(line.msg, "span");
    equal(line.name, "ledger.submit");
    equal(line.trace_id, "trace-1");
    equal(line.span_id, span.spanId);
    ok(/^[0-9a-f]{16}$/.test(line.span_id));
    equal(line.parent_span_id, "00f067aa0ba902b7");
    equal(line.duration_ms, 250);
    equal(line.start_time, new Date(1_000).toISOString());
    deepEqual(line.status, { code: "ERROR", message: "boom" });
    deepEqual(line.attributes, { job_id: "job_1" });
  } finally {
    logs.restore();
  }
});

Deno.test("log lines never carry a bearer token, even inside messages or nested values", () => {
  const logs = captureLogs();
  try {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    createLogger({ trace_id: "t", span_id: "s" }).warn(`rejected Bearer ${jwt}`, {
      detail: { header: `Bearer ${jwt}`, list: [jwt] },
      authorization: "anything",
    });
    ok(!logs.lines[0]!.includes(jwt), logs.lines[0]);
    ok(!logs.lines[0]!.includes("anything"));
  } finally {
    logs.restore();
  }
});

Deno.test("a span's line follows the log level: a debug span is silent at info, any span warns when it failed", () => {
  const logs = captureLogs();
  try {
    const names = () => logs.lines.map((l) => `${JSON.parse(l).level} ${JSON.parse(l).name}`);
    startSpan("quiet", { traceId: "t", level: "debug" }).end();
    const failed = startSpan("quiet failed", { traceId: "t", level: "debug" });
    failed.setStatus("ERROR", "refused");
    failed.end();
    startSpan("plain", { traceId: "t" }).end();
    deepEqual(names(), ["warn quiet failed", "info plain"]);
    setLogLevel("warn");
    startSpan("below the level", { traceId: "t" }).end();
    setLogLevel("debug");
    startSpan("quiet at debug", { traceId: "t", level: "debug" }).end();
    deepEqual(names(), ["warn quiet failed", "info plain", "debug quiet at debug"]);
  } finally {
    setLogLevel("info");
    logs.restore();
  }
});
