import { deepEqual, equal } from "node:assert/strict";
import { attributeCpu } from "../../../../scripts/lib/cpu_attribution.ts";
import type { CallFrame, CpuProfile } from "../../../../scripts/lib/cpu_profile.ts";

const frame = (functionName: string, url = ""): CallFrame => ({
  functionName,
  url,
  scriptId: "1",
  lineNumber: 0,
  columnNumber: 0,
});

Deno.test("a sample counts for the outermost frame of ours on its stack: the request path, the job's alarms, or neither", () => {
  // (root) → submitJob (src) → validate (shared) ; (root) → alarm (registry) → claim-like name below it ;
  // (root) → advanceJobIn (partition ledger) ; (root) → JSON.parse (native) ; (root) → (garbage collector)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 4, 6, 7, 8] },
      { id: 2, callFrame: frame("submitJob", "src/routes/jobs.ts"), children: [3] },
      { id: 3, callFrame: frame("validateGeometries", "shared/validate.ts") },
      { id: 4, callFrame: frame("alarm", "durable-objects/idempotency_registry/mod.ts"), children: [5] },
      { id: 5, callFrame: frame("claim", "durable-objects/idempotency_registry/mod.ts") },
      { id: 6, callFrame: frame("advanceJobIn", "durable-objects/partition_ledger/home.ts") },
      { id: 7, callFrame: frame("parse") },
      { id: 8, callFrame: frame("(garbage collector)") },
    ],
    startTime: 0,
    endTime: 700,
    samples: [2, 3, 5, 6, 6, 7, 8],
    timeDeltas: [0, 100, 100, 100, 100, 100, 100],
  };
  const { ms, request } = attributeCpu(profile);
  const rounded = Object.fromEntries(Object.entries(ms).map(([owner, v]) => [owner, Math.round(v * 1000)]));
  deepEqual(rounded, { request: 200, job: 300, unattributed: 100, gc: 100, program: 0, idle: 0 }, "µs");
  equal(request.length, 2);
  deepEqual(request.map(([name]) => name).sort(), [
    "submitJob src/routes/jobs.ts:1",
    "validateGeometries shared/validate.ts:1",
  ]);
});

Deno.test("the catalog's pin (called by the home before it starts a job) is the job's; its lookups for a submit are the request's", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 3] },
      { id: 2, callFrame: frame("pin", "durable-objects/dataset_catalog/mod.ts") },
      { id: 3, callFrame: frame("currentUnless", "durable-objects/dataset_catalog/mod.ts") },
    ],
    startTime: 0,
    endTime: 300,
    samples: [2, 2, 3],
    timeDeltas: [0, 100, 100],
  };
  const { ms, request, job } = attributeCpu(profile);
  deepEqual([Math.round(ms.request * 1000), Math.round(ms.job * 1000)], [100, 200], "µs");
  deepEqual(request.map(([name]) => name), ["currentUnless durable-objects/dataset_catalog/mod.ts:1"]);
  deepEqual(job.map(([name]) => name), ["pin durable-objects/dataset_catalog/mod.ts:1"]);
});

Deno.test("samples inside the log sink's console call are counted apart, for the request path and for the job", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 5] },
      { id: 2, callFrame: frame("end", "shared/telemetry/span.ts"), children: [3] },
      { id: 3, callFrame: frame("write", "shared/telemetry/log.ts"), children: [4] },
      { id: 4, callFrame: frame("log") },
      { id: 5, callFrame: frame("traceMiddleware", "src/http/trace.ts"), children: [6] },
      { id: 6, callFrame: frame("write", "shared/telemetry/log.ts"), children: [7] },
      { id: 7, callFrame: frame("log") },
    ],
    startTime: 0,
    endTime: 500,
    samples: [4, 3, 7, 7, 6],
    timeDeltas: [0, 100, 100, 100, 100],
  };
  const { ms, console } = attributeCpu(profile);
  deepEqual([Math.round(ms.request * 1000), Math.round(console.request * 1000)], [300, 200], "µs");
  equal(console.job, 0);
  equal(Math.round(ms.unattributed * 1000), 200);
});
