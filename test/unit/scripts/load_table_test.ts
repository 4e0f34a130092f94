import assert from "node:assert/strict";
import { LOAD_HEADER, type LoadResult, loadRow } from "../../../scripts/bench/load_table.ts";

const result = (over: Partial<LoadResult> = {}): LoadResult => ({
  rate: 500,
  seconds: 30,
  points: "conus",
  requested: 15000,
  sent: 15000,
  completed: 15000,
  achieved_rps: 499.6,
  statuses: { 202: 15000 },
  errors: 0,
  timeouts: 0,
  latency_ms: { p50: 6, p90: 9, p99: 14, max: 31, mean: 6.4 },
  ...over,
});

Deno.test("load row: the target met only with p99 under 20 ms, no failure and the asked rate sent", () => {
  const row = loadRow(result());
  assert.equal(row.length, LOAD_HEADER.length);
  assert.deepEqual(row.slice(0, 5), ["500", "30", "conus", "15000 / 15000 (100%)", "499.6"]);
  assert.equal(row.at(-1), "met");
  assert.equal(row.at(-2), "?");
});

Deno.test("load row: every miss named (slow p99, non-2xx answers, errors, a closed loop that fell behind)", () => {
  const row = loadRow(
    result({
      sent: 1234,
      achieved_rps: 24.5,
      statuses: { 202: 514, 503: 220 },
      errors: 2,
      latency_ms: { p50: 1969, p90: 4386, p99: 5862, max: 7305, mean: 2209 },
    }),
    { bytes: 111.8 * 2 ** 20 } as never,
  );
  assert.equal(row[3], "1234 / 15000 (8%)");
  assert.equal(row[9], "202×514 503×220");
  assert.equal(row.at(-2), "111.8");
  assert.equal(row.at(-1), "not met: p99 293.1× the target, 222 failed, sent 8% of asked");
  // Older output without `requested`: asked = rate × seconds.
  assert.equal(loadRow(result({ requested: undefined, sent: 14900 })).at(-1), "met");
});
