import assert from "node:assert/strict";
import { type CpuProfile, type ProfileRow, summarizeProfile } from "../../../../scripts/lib/cpu_profile.ts";

const frame = (functionName: string, url = "", lineNumber = -1) => ({
  functionName,
  scriptId: url ? "5" : "0",
  url,
  lineNumber,
  columnNumber: 0,
});

// (root) → handle → compute → compute (recursion); (garbage collector); (idle); a wasm function.
// One sample every 100 µs, except a 10 ms gap after the wasm sample (no isolate lock: no samples).
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)"), hitCount: 0, children: [2, 5, 6, 7] },
    { id: 2, callFrame: frame("handle", "worker.js", 9), hitCount: 1, children: [3] },
    { id: 3, callFrame: frame("compute", "worker.js", 19), hitCount: 2, children: [4] },
    { id: 4, callFrame: frame("compute", "worker.js", 19), hitCount: 2 },
    { id: 5, callFrame: frame("(garbage collector)"), hitCount: 1 },
    { id: 6, callFrame: frame("(idle)"), hitCount: 1 },
    { id: 7, callFrame: frame("$func12", "wasm://wasm/abc", 0), hitCount: 1 },
  ],
  startTime: 0,
  endTime: 10_800,
  samples: [3, 4, 4, 2, 5, 6, 7, 3],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100, 10_000],
};

const rounded = (rows: ProfileRow[]) =>
  rows.map((r) => [r.functionName, r.location, +r.selfMs.toFixed(3), +r.totalMs.toFixed(3)]);

Deno.test("CPU profile summary: self and total time per function, recursion counted once, gaps unsampled", () => {
  const summary = summarizeProfile(profile, {
    wasm: "split",
    resolve: (f) => f.url === "worker.js" ? { source: `src/${f.functionName}.ts`, line: 41, column: 2 } : undefined,
  });
  assert.equal(summary.samples, 8);
  assert.equal(+summary.totalMs.toFixed(3), 10.8);
  assert.deepEqual(rounded(summary.bySelf), [
    // 10 ms until the next sample, capped at 5 median intervals.
    ["$func12", "wasm://wasm/abc:1", 0.5, 0.5],
    ["compute", "src/compute.ts:42", 0.4, 0.4],
    ["handle", "src/handle.ts:42", 0.1, 0.5],
  ]);
  // compute is on the stack twice in two samples: 0.4 ms, not 0.6.
  assert.deepEqual(Object.fromEntries(rounded(summary.byTotal).map((r) => [r[0], r[3]])), {
    $func12: 0.5,
    handle: 0.5,
    compute: 0.4,
  });
  assert.deepEqual(rounded(summary.special), [
    ["(program)", "", 0, 0],
    ["(garbage collector)", "", 0.1, 0.1],
    ["(idle)", "", 0.1, 0.1],
    ["(unsampled)", "no isolate lock", 9.6, 9.6],
  ]);
});

Deno.test("CPU profile summary: wasm functions folded into one row on request, and top limits the rows", () => {
  const summary = summarizeProfile(profile, { wasm: "aggregate", top: 2 });
  assert.equal(summary.wasmFunctions, 1);
  assert.deepEqual(rounded(summary.bySelf), [
    ["wasm", "1 functions", 0.5, 0.5],
    ["compute", "worker.js:20", 0.4, 0.4],
  ]);
  assert.deepEqual(rounded(summary.special.slice(-1)), [["wasm", "1 functions", 0.5, 0.5]]);
  // One wasm function is not "many": auto keeps it as its own row.
  assert.equal(summarizeProfile(profile).bySelf[0]!.functionName, "$func12");
});
