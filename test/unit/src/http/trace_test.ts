import { equal, match, notEqual, ok } from "node:assert/strict";
import { isValidTraceId, parseTraceparent, resolveTrace } from "../../../../src/http/trace.ts";

const VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Deno.test("isValidTraceId accepts 16–128 chars of [A-Za-z0-9._-] only", () => {
  ok(isValidTraceId("abcdef0123456789"));
  ok(isValidTraceId("a".repeat(128)));
  ok(isValidTraceId("req_2024-01-01.abc-XYZ"));
  ok(!isValidTraceId("short"));
  ok(!isValidTraceId("a".repeat(129)));
  ok(!isValidTraceId("has space in it 1234"));
  ok(!isValidTraceId("inject\r\nheader:12345"));
  ok(!isValidTraceId(null));
});

Deno.test("parseTraceparent accepts a valid version-00 header", () => {
  const tp = parseTraceparent(VALID)!;
  equal(tp.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  equal(tp.parentId, "00f067aa0ba902b7");
  equal(tp.flags, "01");
});

Deno.test("parseTraceparent rejects what the W3C spec rejects", () => {
  for (
    const bad of [
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", // no flags
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // v00 must be exactly 55
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // non-hex version
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", // misplaced dash
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
    ]
  ) equal(parseTraceparent(bad), null, bad);
});

Deno.test("parseTraceparent accepts a future version with extra fields after a dash", () => {
  ok(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
  equal(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01future"), null);
});

Deno.test("resolveTrace continues a valid traceparent with a new span id", () => {
  const t = resolveTrace(new Headers({ traceparent: VALID }));
  equal(t.w3cTraceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  equal(t.parentSpanId, "00f067aa0ba902b7");
  notEqual(t.spanId, "00f067aa0ba902b7");
  match(t.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  equal(t.traceId, t.w3cTraceId, "no client trace id: the W3C trace id is used");
});

Deno.test("resolveTrace starts a new trace for an invalid traceparent", () => {
  const t = resolveTrace(new Headers({ traceparent: "garbage" }));
  match(t.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  equal(t.parentSpanId, undefined);
});

Deno.test("resolveTrace echoes a valid X-Request-Trace-ID and replaces an invalid one", () => {
  equal(resolveTrace(new Headers({ "x-request-trace-id": "client-trace-0001" })).traceId, "client-trace-0001");
  const t = resolveTrace(new Headers({ "x-request-trace-id": "bad id" }));
  match(t.traceId, /^[0-9a-f]{32}$/);
});
