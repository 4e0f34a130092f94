/**
 * Counts of what a request makes workerd do (SQL statements, commits, `fsync`s, Durable Object RPCs, HTTP events,
 * Request constructions, header reads and writes …), from Linux uprobes on workerd's own functions and syscall
 * tracepoints, counted by `perf stat` on one workerd process. Unlike CPU time on this drifting machine, a count is the
 * same on every run: an A/B of two trees by counts needs one run a side. Needs root and `perf` (linux-perf); the
 * probes are added to workerd's binary by symbol and removed by {@link removeProbes}.
 */

/** What is counted: a uprobe on a workerd function (by its demangled name's start) or a kernel tracepoint. */
export const RUNTIME_OPERATIONS: { name: string; symbol?: string; event?: string }[] = [
  { name: "http_events", symbol: "workerd::api::ServiceWorkerGlobalScope::request(" },
  { name: "binding_fetches", symbol: "workerd::api::Fetcher::fetch(" },
  {
    name: "rpc_calls",
    symbol: "workerd::api::(anonymous namespace)::callImpl(workerd::jsg::Lock&, workerd::api::JsRpcClientProvider&",
  },
  { name: "alarms", symbol: "workerd::api::ServiceWorkerGlobalScope::runAlarm(" },
  { name: "sql_statements", symbol: "workerd::api::SqlStorage::exec(" },
  { name: "commits", symbol: "workerd::ActorSqlite::commitImpl(" },
  { name: "id_from_name", symbol: "workerd::api::DurableObjectNamespace::idFromName(" },
  { name: "request_constructions", symbol: "workerd::api::Request::constructor(" },
  { name: "header_gets", symbol: "workerd::api::Headers::get(" },
  { name: "header_sets", symbol: "workerd::api::Headers::set(" },
  { name: "fsyncs", event: "syscalls:sys_enter_fsync" },
  { name: "pwrites", event: "syscalls:sys_enter_pwrite64" },
];

const PROBE_GROUP = "spatial_jobs";

/** V8's entry to every collection, minor or major, of one isolate's heap (its `this`). */
const COLLECT_GARBAGE = "v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace";
/** The probes of one recording (garbage collections, runtime objects), removed once it is done. */
const RECORDED_GROUP = "spatial_jobs_rec";

async function output(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${command} ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  return new TextDecoder().decode(out.stdout);
}

/** The workerd binary a process runs. */
export function workerdBinary(pid: number): string {
  return Deno.readLinkSync(`/proc/${pid}/exe`);
}

/** The binary's symbols, a line each: "<16 hex digits> <type> <demangled name>" (workerd's take seconds to list). */
async function symbolTable(binary: string): Promise<string[]> {
  return (await output("nm", ["-C", "--defined-only", binary])).split("\n");
}

/** Each symbol's probe address (perf takes a raw address as a file offset), or undefined where the binary lacks it. */
async function probeAddresses(
  binary: string,
  symbols: string[],
  table?: string[],
): Promise<(bigint | undefined)[]> {
  // The functions' (T, t) only.
  const functions = (table ?? await symbolTable(binary)).filter((l) => /^[0-9a-f]{16} [Tt] /.test(l));
  // The text segment's virtual address less its file offset.
  const segments = await output("readelf", ["-lW", binary]);
  const text = segments.split("\n").find((line) => /^\s*LOAD\s/.test(line) && /\sR E\s/.test(line));
  if (!text) throw new Error(`no executable segment in ${binary}`);
  const [, offset, vaddr] = text.trim().split(/\s+/);
  const delta = BigInt(vaddr!) - BigInt(offset!);
  return symbols.map((symbol) => {
    const line = symbol ? functions.find((l) => l.slice(19).startsWith(symbol)) : undefined;
    return line ? BigInt(`0x${line.slice(0, 16)}`) - delta : undefined;
  });
}

/** The probe address of `symbol` in `binary` as perf takes it ("0x…"); throws where the binary lacks it. */
async function probeAddress(binary: string, symbol: string, table?: string[]): Promise<string> {
  const [address] = await probeAddresses(binary, [symbol], table);
  if (address === undefined) throw new Error(`${symbol} not in ${binary}`);
  return `0x${address.toString(16)}`;
}

/**
 * Adds a uprobe per {@link RUNTIME_OPERATIONS} symbol on `binary` (replacing any of the same name) and returns the
 * `perf` event of every operation. A symbol the binary lacks (another workerd version) is left out, with a warning.
 */
export async function addProbes(binary: string): Promise<{ name: string; event: string }[]> {
  const addresses = await probeAddresses(binary, RUNTIME_OPERATIONS.map((op) => op.symbol ?? ""));
  await removeProbes();
  const events: { name: string; event: string }[] = [];
  for (const [i, op] of RUNTIME_OPERATIONS.entries()) {
    if (op.event) {
      events.push({ name: op.name, event: op.event });
      continue;
    }
    const address = addresses[i];
    if (address === undefined) {
      console.warn(`workerd_probes: ${op.symbol} not in ${binary}; ${op.name} not counted`);
      continue;
    }
    await output("perf", ["probe", "-q", "-x", binary, "-a", `${PROBE_GROUP}:${op.name}=0x${address.toString(16)}`]);
    events.push({ name: op.name, event: `${PROBE_GROUP}:${op.name}` });
  }
  return events;
}

/** Removes every probe {@link addProbes} added. */
export async function removeProbes(): Promise<void> {
  await new Deno.Command("perf", { args: ["probe", "-q", "-d", `${PROBE_GROUP}:*`], stdout: "null", stderr: "null" })
    .output();
}

/** How often each of `events` happened in process `pid` while `work` ran. */
export async function countWhile(
  pid: number,
  events: { name: string; event: string }[],
  work: () => Promise<void>,
): Promise<Record<string, number>> {
  const file = await Deno.makeTempFile({ prefix: "spatial-jobs-perf-stat-" });
  await perfWhile(["stat", "-x", ",", "-o", file, "-p", String(pid), ...events.flatMap((e) => ["-e", e.event])], work);
  const counts: Record<string, number> = {};
  for (const line of (await Deno.readTextFile(file)).split("\n")) {
    const [value, , event] = line.split(",");
    const op = events.find((e) => e.event === event);
    if (op) counts[op.name] = Number(value);
  }
  await Deno.remove(file).catch(() => {});
  return counts;
}

/** One isolate's garbage collections: how many, and their pauses of the thread in ms. */
export interface HeapPauses {
  heap: string;
  count: number;
  totalMs: number;
  p50Ms: number;
  maxMs: number;
  /** How many collected more than the young generation. */
  major: number;
}

/**
 * Every garbage collection of every isolate in process `pid` while `work` runs, by heap (one per isolate: locally
 * miniflare's entry worker, the assets proxy and router, and the Worker with all its Durable Objects), the
 * costliest first. A uprobe and a return probe on V8's `Heap::CollectGarbage`: a collection pauses the thread that
 * runs it, here the one thread every isolate runs on, so every request waiting meanwhile waits that long.
 */
export async function gcPausesWhile(pid: number, work: () => Promise<void>): Promise<HeapPauses[]> {
  const at = await probeAddress(workerdBinary(pid), COLLECT_GARBAGE);
  const script = await recordProbesWhile(
    pid,
    [`gc=${at} heap=%di:x64 space=%si:s32`, `gc=${at}%return`],
    ["gc", "gc__return"],
    "tid,time,event,trace",
    work,
  );
  return heapPauses(script);
}

/** Pairs each collection's entry with its return, per thread: only the outermost one pauses the thread. */
export function heapPauses(script: string): HeapPauses[] {
  const open = new Map<string, { at: number; heap: string; space: number }[]>();
  const byHeap = new Map<string, { ms: number[]; major: number }>();
  for (const line of script.split("\n")) {
    const m = /^\s*(\d+)\s+([\d.]+):\s+\S+:(gc(?:__return)?):(.*)$/.exec(line);
    if (!m) continue;
    const [, tid, time, event, trace] = m;
    const stack = open.get(tid!) ?? open.set(tid!, []).get(tid!)!;
    if (event === "gc") {
      const heap = /heap=(\S+)/.exec(trace!)?.[1] ?? "?";
      stack.push({ at: Number(time), heap, space: Number(/space=(-?\d+)/.exec(trace!)?.[1]) });
      continue;
    }
    const start = stack.pop();
    if (!start || stack.length) continue;
    const entry = byHeap.get(start.heap) ?? byHeap.set(start.heap, { ms: [], major: 0 }).get(start.heap)!;
    entry.ms.push((Number(time) - start.at) * 1000);
    // AllocationSpace 1 is the young generation (a scavenge); any other, a full collection.
    if (start.space !== 1) entry.major++;
  }
  return [...byHeap].map(([heap, { ms, major }]) => {
    const sorted = ms.sort((a, b) => a - b);
    return {
      heap,
      count: sorted.length,
      totalMs: sorted.reduce((a, b) => a + b, 0),
      p50Ms: sorted[Math.floor(sorted.length / 2)]!,
      maxMs: sorted.at(-1)!,
      major,
    };
  }).sort((a, b) => b.totalMs - a.totalMs);
}

/** Runs `perf <args>` (stat or record, attached to a process) while `work` runs. */
async function perfWhile(args: string[], work: () => Promise<void>): Promise<void> {
  const perf = new Deno.Command("perf", { args, stdout: "null", stderr: "null" }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 500)); // perf attached
    await work();
  } finally {
    perf.kill("SIGINT");
    await perf.status;
  }
}

/**
 * Adds the uprobes `definitions` (`perf probe -a` on `pid`'s binary, in {@link RECORDED_GROUP}), records `events` of
 * them in `pid` while `work` runs, removes them, and returns `perf script -F fields` of what was recorded.
 */
async function recordProbesWhile(
  pid: number,
  definitions: string[],
  events: string[],
  fields: string,
  work: () => Promise<void>,
): Promise<string> {
  const binary = workerdBinary(pid);
  await removeRecordedProbes();
  for (const definition of definitions) {
    await output("perf", ["probe", "-q", "-x", binary, "-a", `${RECORDED_GROUP}:${definition}`]);
  }
  const file = await Deno.makeTempFile({ prefix: "spatial-jobs-perf-record-" });
  try {
    const recorded = events.flatMap((e) => ["-e", `${RECORDED_GROUP}:${e}`]);
    await perfWhile(["record", "-q", "-o", file, ...recorded, "-p", String(pid)], work);
    return await output("perf", ["script", "-i", file, "-F", fields]);
  } finally {
    await removeRecordedProbes();
    await Deno.remove(file).catch(() => {});
  }
}

async function removeRecordedProbes(): Promise<void> {
  await new Deno.Command("perf", { args: ["probe", "-q", "-d", `${RECORDED_GROUP}:*`], stdout: "null", stderr: "null" })
    .output();
}

const ATTACH_WRAPPER = "workerd::jsg::Wrappable::attachWrapper(v8::Isolate*";

/** The runtime objects (`jsg` wrappers: Request, Headers, a SQL cursor, an RPC promise …) one isolate created. */
export interface WrapperCensus {
  /** The isolate's address. */
  isolate: string;
  total: number;
  /** By C++ class, the most first. */
  byType: [string, number][];
}

/**
 * Every JavaScript wrapper of a runtime object that process `pid` created while `work` ran, by isolate and class: a
 * uprobe on `Wrappable::attachWrapper` reads the isolate and the object's vtable, named from the binary's symbols.
 * Each such object is work for the isolate's young-generation collections (its wrapper is traced, and a dead one is
 * detached and its C++ object destroyed during the pause), so their number sets how long each pause lasts.
 */
export async function wrappersWhile(pid: number, work: () => Promise<void>): Promise<WrapperCensus[]> {
  const binary = workerdBinary(pid);
  const table = await symbolTable(binary);
  const at = await probeAddress(binary, ATTACH_WRAPPER, table);
  const script = await recordProbesWhile(pid, [`wrap=${at} iso=%si:x64 vt=+0(%di):x64`], ["wrap"], "trace", work);
  return wrapperCensus(script, vtableNames(table), loadBase(pid, binary));
}

/** Where the binary's first byte is mapped in `pid`: a vtable pointer less this is its address in the binary. */
function loadBase(pid: number, binary: string): bigint {
  const line = Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").find((l) =>
    l.endsWith(binary) && l.split(/\s+/)[2] === "00000000"
  );
  if (!line) throw new Error(`${binary} not mapped in ${pid}`);
  return BigInt(`0x${line.split("-")[0]}`);
}

/** The vtables of a binary's symbol table, sorted by address: [address, class]. */
function vtableNames(table: string[]): [bigint, string][] {
  return table.flatMap((line) => {
    const at = line.indexOf(" vtable for ");
    return at === 18 ? [[BigInt(`0x${line.slice(0, 16)}`), line.slice(at + 12)] as [bigint, string]] : [];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Counts `perf script -F trace` lines of the wrap probe by isolate and by the class whose vtable holds `vt`. */
export function wrapperCensus(script: string, vtables: [bigint, string][], base: bigint): WrapperCensus[] {
  const byIsolate = new Map<string, Map<string, number>>();
  const classOf = (vt: bigint): string => {
    let lo = 0, hi = vtables.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (vtables[mid]![0] <= vt) (found = mid), (lo = mid + 1);
      else hi = mid - 1;
    }
    return found < 0 ? "?" : vtables[found]![1];
  };
  for (const line of script.split("\n")) {
    const m = /iso=(0x[0-9a-f]+) vt=(0x[0-9a-f]+)/.exec(line);
    if (!m) continue;
    const types = byIsolate.get(m[1]!) ?? byIsolate.set(m[1]!, new Map()).get(m[1]!)!;
    const name = classOf(BigInt(m[2]!) - base);
    types.set(name, (types.get(name) ?? 0) + 1);
  }
  return [...byIsolate].map(([isolate, types]) => ({
    isolate,
    total: [...types.values()].reduce((a, b) => a + b, 0),
    byType: [...types].sort((a, b) => b[1] - a[1]),
  })).sort((a, b) => b.total - a.total);
}
