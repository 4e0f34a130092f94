/**
 * A CPU profile of the local service split between a submit's request path and the work of the job it starts
 * (alarms, and the calls they make). Locally the Worker and every Durable Object share one isolate, so one
 * profile holds both. An async function resumed after an await is the root of its samples' stacks (V8 keeps no
 * async stack there), so a sample is attributed by the outermost frame of ours on its stack: the edge Worker and
 * the objects a submit calls (the catalog, the registry's claim) are the request path; an `alarm`,
 * the registry's handoff to the home, the catalog's pin of a job's versions, the partitions and everything below operations/ started by them are the
 * job's. Samples with no frame of ours (native or library roots) are "unattributed".
 */
import type { CallFrame, CpuProfile } from "./cpu_profile.ts";

export type Owner = "request" | "job" | "unattributed" | "gc" | "program" | "idle";

export interface Attribution {
  ms: Record<Owner, number>;
  /**
   * Of `ms.request` and `ms.job`, the samples inside the log sink's `console` call (below `write` in
   * shared/telemetry/log.ts). A sample is the thread's time in a call, not its CPU: wrangler's inspector makes
   * this call slow (it serializes each line to the inspector) for far less CPU than it is sampled for.
   */
  console: { request: number; job: number };
  /** The request path's functions by self time, ms: `name path:line`. */
  request: [string, number][];
  /** The same for the job's work. */
  job: [string, number][];
}

/** Whose work a frame of ours is (paths as the bundle's source map names them), or undefined for others. */
export function ownerOf(frame: CallFrame): "request" | "job" | undefined {
  const path = frame.url;
  if (frame.functionName === "alarm" || /idempotency_registry\/handoff\.ts$/.test(path)) return "job";
  // The catalog's pin: the home calls it before it starts the job.
  if (frame.functionName === "pin" && /dataset_catalog\//.test(path)) return "job";
  if (/^src\/|durable-objects\/(dataset_catalog|idempotency_registry)\//.test(path)) return "request";
  if (/^(durable-objects|operations)\//.test(path)) return "job";
  return undefined;
}

const SPECIAL: Record<string, Owner> = {
  "(garbage collector)": "gc",
  "(program)": "program",
  "(idle)": "idle",
};

/**
 * Milliseconds per owner of `profile` (its frames already moved to source positions: `withSourcePositions`).
 * A sample lasts until the next one, at most `maxSampleIntervals` median intervals (as in summarizeProfile).
 */
export function attributeCpu(profile: CpuProfile, maxSampleIntervals = 5, top = 15): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const owner = new Map<number, Owner | undefined>();
  const inConsole = new Set<number>();
  const visit = (id: number, inherited: Owner | undefined, belowLogWrite: boolean) => {
    const node = byId.get(id)!;
    const mine = inherited ?? SPECIAL[node.callFrame.functionName] ?? ownerOf(node.callFrame);
    owner.set(id, mine);
    if (belowLogWrite) inConsole.add(id);
    const logWrite = node.callFrame.functionName === "write" && /shared\/telemetry\/log\.ts$/.test(node.callFrame.url);
    for (const child of node.children ?? []) visit(child, mine, belowLogWrite || logWrite);
  };
  const root = profile.nodes.find((n) => n.callFrame.functionName === "(root)") ?? profile.nodes[0]!;
  visit(root.id, undefined, false);

  const ms: Record<Owner, number> = { request: 0, job: 0, unattributed: 0, gc: 0, program: 0, idle: 0 };
  const console = { request: 0, job: 0 };
  const self = { request: new Map<string, number>(), job: new Map<string, number>() };
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  const stamps = samples.map((_, i) => (at += deltas[i] ?? 0));
  const intervals = samples.map((_, i) => Math.max(0, (stamps[i + 1] ?? profile.endTime) - stamps[i]!));
  const cap = maxSampleIntervals * (intervals.toSorted((a, b) => a - b)[intervals.length >> 1] ?? 0);
  samples.forEach((id, i) => {
    const sampleMs = Math.min(intervals[i]!, cap) / 1000;
    const who = owner.get(id) ?? "unattributed";
    ms[who] += sampleMs;
    if (who === "request" || who === "job") {
      if (inConsole.has(id)) console[who] += sampleMs;
      const frame = byId.get(id)!.callFrame;
      const key = `${frame.functionName || "(anonymous)"} ${frame.url || "(native)"}:${frame.lineNumber + 1}`;
      self[who].set(key, (self[who].get(key) ?? 0) + sampleMs);
    }
  });
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { ms, console, request: ranked(self.request), job: ranked(self.job) };
}
