import assert from "node:assert/strict";
import { LOAD_HEADER, type LoadResult, loadRow, stagesLine } from "../../../../scripts/bench/load_table.ts";

const result = (over: Partial<LoadResult> = {}): LoadResult => ({
  kind: "submit",
  url: "http://127.0.0.1:1234",
  rate: 500,
  seconds: 30,
  points: "conus",
  requested: 15000,
  sent: 15000,
  completed: 15000,
  achieved_rps: 499.6,
  statuses: { 202: 15000 },
  expected_status: 202,
  errors: 0,
  latency_ms: { p50: 6, p90: 9, p99: 14, max: 31, mean: 6.4 },
  ...over,
});

Deno.test("load row: a submit meets the target only with p99 under 20 ms, every request answered as expected", () => {
  const row = loadRow(result(), "runtime socket");
  assert.equal(row.length, LOAD_HEADER.length);
  assert.deepEqual(row.slice(0, 6), [
    "POST /v1/jobs (submit)",
    "runtime socket",
    "500",
    "30",
    "15000 / 15000",
    "499.6",
  ]);
  assert.equal(row.at(-1), "met");
});

Deno.test("load row: every miss named (slow p99, other statuses and connection errors, requests left unanswered)", () => {
  const row = loadRow(
    result({
      completed: 736,
      sent: 1234,
      achieved_rps: 24.5,
      statuses: { 202: 514, 503: 220, error: 2 },
      errors: 2,
      latency_ms: { p50: 1969, p90: 4386, p99: 5862, max: 7305, mean: 2209 },
    }),
    "wrangler dev proxy",
  );
  assert.equal(row[4], "736 / 1234");
  assert.equal(row[10], "202×514 503×220 error×2");
  assert.equal(row.at(-1), "not met: p99 293.1× the target, 222 not 202, 498 unanswered at the end");
});

Deno.test("load row: floors are labelled as such and judged against their own expected status", () => {
  const edge = loadRow(result({ kind: "edge", statuses: { 404: 15000 }, expected_status: 404 }), "runtime socket");
  assert.equal(edge[0], "GET /v1/jobs/{malformed id} (edge only, 404)");
  assert.equal(edge.at(-1), "floor (met)");
  const status = loadRow(
    result({ kind: "status", statuses: { 200: 14000, 429: 1000 }, expected_status: 200 }),
    "runtime socket",
  );
  assert.equal(status.at(-1), "floor (not met: 1000 not 200)");
});

Deno.test("stages line: each Server-Timing stage's p50 / p99 in the order reported", () => {
  const line = stagesLine(result({
    stages_ms: { claim: { n: 10, p50: 2, p99: 11 }, total: { n: 10, p50: 13, p99: 37.25 } },
  }));
  assert.equal(line, "claim 2.0 / 11.0, total 13.0 / 37.3");
});
