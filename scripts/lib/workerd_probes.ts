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

async function output(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${command} ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  return new TextDecoder().decode(out.stdout);
}

/** The workerd binary a process runs. */
export function workerdBinary(pid: number): string {
  return Deno.readLinkSync(`/proc/${pid}/exe`);
}

/**
 * Adds a uprobe per {@link RUNTIME_OPERATIONS} symbol on `binary` (replacing any of the same name) and returns the
 * `perf` event of every operation. A symbol the binary lacks (another workerd version) is left out, with a warning.
 */
export async function addProbes(binary: string): Promise<{ name: string; event: string }[]> {
  // "<16 hex digits> <type> <demangled name>", the functions' (T, t) only.
  const functions = (await output("nm", ["-C", "--defined-only", binary])).split("\n").filter((l) =>
    /^[0-9a-f]{16} [Tt] /.test(l)
  );
  // perf takes a raw probe address as a file offset: the text segment's virtual address less its offset.
  const segments = await output("readelf", ["-lW", binary]);
  const text = segments.split("\n").find((line) => /^\s*LOAD\s/.test(line) && /\sR E\s/.test(line));
  if (!text) throw new Error(`no executable segment in ${binary}`);
  const [, offset, vaddr] = text.trim().split(/\s+/);
  const delta = BigInt(vaddr!) - BigInt(offset!);
  await removeProbes();
  const events: { name: string; event: string }[] = [];
  for (const op of RUNTIME_OPERATIONS) {
    if (op.event) {
      events.push({ name: op.name, event: op.event });
      continue;
    }
    const line = functions.find((l) => l.slice(19).startsWith(op.symbol!));
    if (!line) {
      console.warn(`workerd_probes: ${op.symbol} not in ${binary}; ${op.name} not counted`);
      continue;
    }
    const address = BigInt(`0x${line.slice(0, 16)}`) - delta;
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
  const perf = new Deno.Command("perf", {
    args: ["stat", "-x", ",", "-o", file, "-p", String(pid), ...events.flatMap((e) => ["-e", e.event])],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 500)); // perf attached
    await work();
  } finally {
    perf.kill("SIGINT");
    await perf.status;
  }
  const counts: Record<string, number> = {};
  for (const line of (await Deno.readTextFile(file)).split("\n")) {
    const [value, , event] = line.split(",");
    const op = events.find((e) => e.event === event);
    if (op) counts[op.name] = Number(value);
  }
  await Deno.remove(file).catch(() => {});
  return counts;
}
