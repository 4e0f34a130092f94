/**
 * CPU profiles of the local service through the V8 inspector that `wrangler dev` exposes
 * (`--inspector-port`, default 9229): start/stop a sampling profile over the DevTools protocol, and
 * summarize it into top-functions-by-self/total-time rows. Durable Objects run in the Worker's isolate
 * locally, so one profile covers the Worker and every partition DO.
 */
import { join } from "node:path";
import { type InspectorSession, openInspector } from "./inspector_session.ts";
import { type SourcePosition, sourceResolverFor } from "./source_map.ts";

/** The DevTools `Profiler.Profile` (what a `.cpuprofile` file holds). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 0-based, like `columnNumber`. */
  lineNumber: number;
  columnNumber: number;
}

export interface CpuProfileSession {
  /**
   * Stops sampling and returns the profile. A connection {@link startCpuProfile} opened itself is closed
   * afterwards; a shared {@link InspectorSession} stays open.
   */
  stop(): Promise<CpuProfile>;
}

/**
 * Starts the sampling profiler (`samplingIntervalUs`, default 100 µs) over `inspector` (an open session, or
 * `host:port`/a URL to connect to: see {@link openInspector}) and resolves once it runs.
 */
export async function startCpuProfile(
  inspector: string | InspectorSession,
  options: { samplingIntervalUs?: number } = {},
): Promise<CpuProfileSession> {
  const own = typeof inspector === "string";
  const session = own ? await openInspector(inspector) : inspector;
  const release = () => own && session.close();
  try {
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: options.samplingIntervalUs ?? 100 });
    await session.send("Profiler.start");
  } catch (error) {
    release();
    throw error;
  }
  return {
    async stop() {
      try {
        const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
        await session.send("Profiler.disable").catch(() => {});
        return profile;
      } finally {
        release();
      }
    },
  };
}

export interface ProfileRow {
  functionName: string;
  /** `path:line` (1-based), shortened; `(native)` for V8 builtins and API callbacks; empty for V8's own entries. */
  location: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  /** The profile's wall time, ms: sampled time plus the `(unsampled)` row. */
  totalMs: number;
  samples: number;
  bySelf: ProfileRow[];
  byTotal: ProfileRow[];
  /**
   * `(program)`, `(garbage collector)`, `(idle)`, `(unsampled)`, and the `wasm` aggregate when wasm was
   * folded: always listed, self time only.
   */
  special: ProfileRow[];
  /** Distinct wasm functions that were sampled. */
  wasmFunctions: number;
}

export interface SummarizeOptions {
  top?: number;
  /** "aggregate" folds every wasm function into one `wasm` row; "auto" does so when more than 10 were sampled. */
  wasm?: "auto" | "aggregate" | "split";
  /** Maps a call frame to its original source position (e.g. through the bundle's source map). */
  resolve?: (frame: CallFrame) => SourcePosition | undefined;
  /** A sample counts for at most this many median sampling intervals (default 5); see {@link summarizeProfile}. */
  maxSampleIntervals?: number;
}

const V8_ENTRIES = ["(program)", "(garbage collector)", "(idle)"];
const UNSAMPLED = "(unsampled)";
const WASM_ROW = "wasm";

function isWasm(frame: CallFrame): boolean {
  return frame.url.startsWith("wasm://") || /^(\$|wasm-function\[)/.test(frame.functionName);
}

/**
 * Self and total time per function (name + location); total time counts a function once per sample however
 * deep it recurses. A sample lasts until the next one (as DevTools computes it), but at most
 * `maxSampleIntervals` median intervals: V8 takes no samples while workerd holds no isolate lock (waiting
 * on I/O, storage, other processes), and DevTools would bill that whole gap to the last JS frame before it
 * (typically a `console.log`). The rest of each gap is the `(unsampled)` row.
 */
export function summarizeProfile(profile: CpuProfile, options: SummarizeOptions = {}): ProfileSummary {
  const top = options.top ?? 30;
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const wasmNames = new Set<string>();
  for (const n of profile.nodes) {
    if (isWasm(n.callFrame) && (n.hitCount ?? 0) > 0) wasmNames.add(n.callFrame.functionName);
  }
  const foldWasm = options.wasm === "aggregate" || ((options.wasm ?? "auto") === "auto" && wasmNames.size > 10);

  const rowKey = new Map<number, string>();
  const rows = new Map<string, ProfileRow>();
  for (const n of profile.nodes) {
    const frame = n.callFrame;
    if (frame.functionName === "(root)") continue;
    let row: ProfileRow;
    if (foldWasm && isWasm(frame)) {
      row = { functionName: WASM_ROW, location: `${wasmNames.size} functions`, selfMs: 0, totalMs: 0 };
    } else if (V8_ENTRIES.includes(frame.functionName)) {
      row = { functionName: frame.functionName, location: "", selfMs: 0, totalMs: 0 };
    } else {
      const position = frame.url ? options.resolve?.(frame) : undefined;
      const location = position
        ? `${position.source}:${position.line + 1}`
        : frame.url
        ? `${shortenUrl(frame.url)}:${frame.lineNumber + 1}`
        : "(native)";
      row = { functionName: frame.functionName || "(anonymous)", location, selfMs: 0, totalMs: 0 };
    }
    const key = `${row.functionName}\u0000${row.location}`;
    rowKey.set(n.id, key);
    if (!rows.has(key)) rows.set(key, row);
  }

  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let sampledUs = 0;
  const addSample = (nodeId: number, us: number) => {
    sampledUs += us;
    const selfKey = rowKey.get(nodeId);
    if (selfKey) rows.get(selfKey)!.selfMs += us / 1000;
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
      const key = rowKey.get(id);
      if (key && !seen.has(key)) {
        seen.add(key);
        rows.get(key)!.totalMs += us / 1000;
      }
    }
  };
  if (samples.length) {
    let at = profile.startTime;
    const stamps = samples.map((_, i) => (at += deltas[i] ?? 0));
    const intervals = samples.map((_, i) => Math.max(0, (stamps[i + 1] ?? profile.endTime) - stamps[i]!));
    const sorted = intervals.toSorted((a, b) => a - b);
    const cap = (options.maxSampleIntervals ?? 5) * (sorted[sorted.length >> 1] ?? 0);
    samples.forEach((nodeId, i) => addSample(nodeId, Math.min(intervals[i]!, cap)));
  } else {
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    const perHit = hits ? (profile.endTime - profile.startTime) / hits : 0;
    for (const n of profile.nodes) for (let h = 0; h < (n.hitCount ?? 0); h++) addSample(n.id, perHit);
  }
  const wallUs = Math.max(sampledUs, profile.endTime - profile.startTime);

  const all = [...rows.values()];
  const ranked = all.filter((r) => !V8_ENTRIES.includes(r.functionName));
  const special = V8_ENTRIES.map((name) =>
    all.find((r) => r.functionName === name) ?? { functionName: name, location: "", selfMs: 0, totalMs: 0 }
  );
  const unsampledMs = (wallUs - sampledUs) / 1000;
  special.push({ functionName: UNSAMPLED, location: "no isolate lock", selfMs: unsampledMs, totalMs: unsampledMs });
  const wasmRow = foldWasm ? all.find((r) => r.functionName === WASM_ROW) : undefined;
  if (wasmRow) special.push(wasmRow);
  return {
    totalMs: wallUs / 1000,
    samples: samples.length,
    bySelf: ranked.filter((r) => r.selfMs > 0).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byTotal: ranked.filter((r) => r.totalMs > 0).sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
    special,
    wasmFunctions: wasmNames.size,
  };
}

/**
 * The profile with every call frame `resolve` knows moved to its original source (url = the repo path,
 * line and column there), so the saved file stays readable after wrangler deleted its bundle.
 */
export function withSourcePositions(
  profile: CpuProfile,
  resolve: (frame: CallFrame) => SourcePosition | undefined,
): CpuProfile {
  const nodes = profile.nodes.map((node) => {
    const position = node.callFrame.url ? resolve(node.callFrame) : undefined;
    if (!position) return node;
    return {
      ...node,
      callFrame: { ...node.callFrame, url: position.source, lineNumber: position.line, columnNumber: position.column },
    };
  });
  return { ...profile, nodes };
}

/** A source path without the machine-specific prefix: from the package after `node_modules/`, or the file name. */
export function shortenUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) return path.slice(modules + "/node_modules/".length);
  return path;
}

/** The summary as text: the self-time table, then (unless `selfOnly`) the total-time table. */
export function formatSummary(summary: ProfileSummary, options: { selfOnly?: boolean } = {}): string {
  const pct = (ms: number) => summary.totalMs ? `${(100 * ms / summary.totalMs).toFixed(1)}%` : "-";
  const lines: string[] = [];
  const table = (title: string, rows: ProfileRow[], pick: (r: ProfileRow) => number) => {
    const cells = [
      ["function", "location", "ms", "%"],
      ...rows.map((r) => [r.functionName, r.location, pick(r).toFixed(1), pct(pick(r))]),
      ...summary.special.map((r) => [r.functionName, r.location, r.selfMs.toFixed(1), pct(r.selfMs)]),
    ];
    const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => c[i]!.length)));
    lines.push(title);
    cells.forEach((c, n) => {
      const name = c[0]!.length > 60 ? `${c[0]!.slice(0, 57)}...` : c[0]!;
      lines.push(
        `  ${name.padEnd(Math.min(widths[0]!, 60))}  ${c[1]!.padEnd(widths[1]!)}  ${c[2]!.padStart(widths[2]!)}  ${
          c[3]!.padStart(widths[3]!)
        }`.trimEnd(),
      );
      if (n === 0 || n === rows.length) {
        lines.push(`  ${"-".repeat(Math.min(widths[0]!, 60) + widths[1]! + widths[2]! + widths[3]! + 6)}`);
      }
    });
  };
  lines.push(`CPU profile: ${(summary.totalMs / 1000).toFixed(2)} s wall, ${summary.samples} samples`);
  table("top functions by self time", summary.bySelf, (r) => r.selfMs);
  if (!options.selfOnly) table("top functions by total time", summary.byTotal, (r) => r.totalMs);
  return lines.join("\n");
}

/**
 * Resolves call frames of the bundle `wrangler dev` serves from `projectDir` (newest
 * `.wrangler/tmp/dev-*` directory; the profile names modules relative to it, e.g. `worker.js`) to repo
 * paths through its source map. Use it while wrangler runs: wrangler deletes the bundle when it exits.
 */
export function bundleResolver(projectDir: string): (frame: CallFrame) => SourcePosition | undefined {
  const tmp = join(projectDir, ".wrangler", "tmp");
  let bundleDir: string | undefined;
  try {
    bundleDir = [...Deno.readDirSync(tmp)]
      .filter((e) => e.isDirectory && e.name.startsWith("dev-"))
      .map((e) => ({ path: join(tmp, e.name), mtime: Deno.statSync(join(tmp, e.name)).mtime?.getTime() ?? 0 }))
      .sort((a, b) => b.mtime - a.mtime)[0]?.path;
  } catch {
    // No bundle: locations stay as the profile names them.
  }
  return sourceResolverFor((url) => {
    if (url.startsWith("file://")) return url.slice("file://".length);
    if (!bundleDir || !url || url.includes(":")) return undefined;
    return join(bundleDir, url);
  }, projectDir);
}
