/**
 * The local service for the end-to-end benchmark: the dev server in its own
 * process group (as `startDevServer` does; the inspector only when given its port) with a fresh state directory, plus
 * what the benchmark reads about it: the GEOS cold start (the first `/health`
 * once the server listens; `/health` is the first request that loads the
 * geometry core) and the workerd processes' memory (VmHWM/VmRSS in /proc).
 */
import { devServerArgs, PROJECT_ROOT } from "../lib/wrangler_dev.ts";

export interface BenchService {
  readonly url: string;
  readonly pgid: number;
  /** Milliseconds from spawning wrangler to the first answer on any route. */
  readonly listenMs: number;
  /** Milliseconds of the first `/health` (module + GEOS instantiation), and of a warm one right after. */
  readonly firstHealthMs: number;
  readonly warmHealthMs: number;
  readonly geosVersion: string;
  stop(): Promise<void>;
}

/**
 * A copy of the tree at git `ref` (default HEAD) in a temp dir, with the local
 * node_modules and the extracted WASM linked in and the built static assets copied: the benchmark's dev server runs
 * from it, so edits in the work tree cannot hot-reload workerd mid-run.
 */
export async function snapshotTree(
  ref = "HEAD",
  options: { liftLimits?: boolean } = {},
): Promise<{ dir: string; commit: string }> {
  const dir = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-tree-" });
  const head = new TextDecoder().decode(
    (await new Deno.Command("git", {
      args: ["rev-parse", ref === "worktree" ? "HEAD" : ref],
      cwd: PROJECT_ROOT,
      stdout: "piped",
    })
      .output()).stdout,
  ).trim();
  // "worktree": the files as they are now (tracked and untracked, minus ignored ones), copied once.
  const commit = ref === "worktree" ? `${head}+worktree` : head;
  const copy = ref === "worktree"
    ? `git ls-files -z -c -o --exclude-standard | xargs -0 tar -c --ignore-failed-read | tar -x -C ${dir}`
    : `git archive ${head} | tar -x -C ${dir}`;
  const archive = await new Deno.Command("sh", { args: ["-c", copy], cwd: PROJECT_ROOT }).output();
  if (!archive.success) throw new Error(`Snapshot of ${ref} failed: ${new TextDecoder().decode(archive.stderr)}`);
  await Deno.symlink(`${PROJECT_ROOT}node_modules`, `${dir}/node_modules`);
  await Deno.mkdir(`${dir}/wasm`, { recursive: true });
  await Deno.symlink(`${PROJECT_ROOT}wasm/generated`, `${dir}/wasm/generated`);
  // The map page's assets (`deno task build` writes them; wrangler.toml's [assets] needs the directory), copied: a
  // build in the work tree during a run would otherwise rewrite them under wrangler, which reloads workerd mid-job.
  await Deno.stat(`${PROJECT_ROOT}public`).then(
    async () => {
      const copied = await new Deno.Command("cp", { args: ["-R", `${PROJECT_ROOT}public`, `${dir}/public`] }).output();
      if (!copied.success) throw new Error(`Copying public/ failed: ${new TextDecoder().decode(copied.stderr)}`);
    },
    () => {},
  );
  if (options.liftLimits) {
    // Experiment only, in the copy: dataset bodies up to 1 GiB, 4M features, 40M positions.
    // The limits moved to shared/ in the layering renovation; older refs keep them under src/.
    const file = await Deno.stat(`${dir}/shared/contract/limits.ts`).then(
      () => `${dir}/shared/contract/limits.ts`,
      () => `${dir}/src/contract/limits.ts`,
    );
    const text = (await Deno.readTextFile(file))
      .replace(/MAX_DATASET_BODY_BYTES = [^;]+;/, "MAX_DATASET_BODY_BYTES = 1024 * 1024 * 1024;")
      .replace(/MAX_DATASET_FEATURES = [^;]+;/, "MAX_DATASET_FEATURES = 4_000_000;")
      .replace(/MAX_DATASET_VERTICES = [^;]+;/, "MAX_DATASET_VERTICES = 40_000_000;");
    await Deno.writeTextFile(file, text);
  }
  return { dir, commit };
}

export async function startBenchService(
  port: number,
  stateDir: string,
  logFile: string,
  tree: string = PROJECT_ROOT,
  inspectorPort?: number,
  /** Service settings (shared/config.ts) for this run, as wrangler `--var`s. */
  vars?: Record<string, string>,
): Promise<BenchService> {
  const log = await Deno.open(logFile, { write: true, create: true, truncate: true });
  const spawned = performance.now();
  const child = new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      ...devServerArgs({ port, stateDir, config: `${tree}/wrangler.toml`, inspectorPort, vars }),
    ],
    cwd: tree,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { CI: "true", WRANGLER_SEND_METRICS: "false" },
  }).spawn();
  // Explicit writes: piping into FsFile.writable with preventClose writes nothing in Deno 2.9.6.
  const copy = async (stream: ReadableStream<Uint8Array>) => {
    try {
      for await (const chunk of stream) await log.write(chunk);
    } catch {
      // The log was closed.
    }
  };
  copy(child.stdout);
  copy(child.stderr);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      const signal = (sig: Deno.Signal) => {
        try {
          Deno.kill(-child.pid, sig);
        } catch {
          // Already gone.
        }
      };
      signal("SIGTERM");
      // wrangler sometimes ignores SIGTERM; the group is ours alone, so finish it.
      const timer = setTimeout(() => signal("SIGKILL"), 10_000);
      await status;
      clearTimeout(timer);
      signal("SIGKILL");
    }
    try {
      log.close();
    } catch {
      // Closed.
    }
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (exited) throw new Error(`wrangler dev exited before listening; see ${logFile}`);
      if (Date.now() > deadline) throw new Error(`wrangler dev did not listen within 120 s; see ${logFile}`);
      try {
        const r = await fetch(`${url}/__bench_probe`);
        await r.body?.cancel();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const listenMs = performance.now() - spawned;
    const t0 = performance.now();
    const first = await fetch(`${url}/health`);
    const body = await first.json() as { geos_version?: string };
    const firstHealthMs = performance.now() - t0;
    if (!first.ok) throw new Error(`/health answered ${first.status}: ${JSON.stringify(body)}`);
    const t1 = performance.now();
    await (await fetch(`${url}/health`)).body?.cancel();
    const warmHealthMs = performance.now() - t1;
    return {
      url,
      pgid: child.pid,
      listenMs,
      firstHealthMs,
      warmHealthMs,
      geosVersion: body.geos_version ?? "?",
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ProcessMemory {
  pid: number;
  comm: string;
  /** Peak resident set since start or the last {@link resetPeaks}, bytes. */
  hwm: number;
  rss: number;
}

/** CPU seconds (user + system) the workerd processes of process group `pgid` have used so far. */
export function workerdCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const { pid } of workerdMemory(pgid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
    } catch {
      // The process ended while we read it.
    }
  }
  return ticks / 100; // USER_HZ
}

/** The machine's load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them. */
export const loadAverage = (): string => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

/** The workerd processes in process group `pgid`, with their VmHWM and VmRSS. */
export function workerdMemory(pgid: number): ProcessMemory[] {
  const out: ProcessMemory[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== pgid || !comm.includes("workerd")) continue;
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      const kb = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
      out.push({ pid: Number(entry.name), comm, hwm: kb("VmHWM"), rss: kb("VmRSS") });
    } catch {
      // The process ended while we read it.
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** Resets the kernel's peak-RSS counters (VmHWM) of `pids` (`echo 5 > /proc/<pid>/clear_refs`; needs root). */
export function resetPeaks(pids: number[]): boolean {
  let ok = true;
  for (const pid of pids) {
    try {
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * The user Worker's own socket inside `wrangler dev`, behind its proxy: wrangler forwards every request from
 * its public port through a proxy Worker in a second workerd process, and this is where that proxy sends
 * them. Found by probing the loopback ports the group's workerd processes listen on for this service's
 * `/health`; null if none answers (wrangler's layout changed).
 */
export async function runtimeUrl(pgid: number, publicPort: number): Promise<string | null> {
  const inodes = new Set<string>();
  for (const { pid } of workerdMemory(pgid)) {
    try {
      for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).match(/^socket:\[(\d+)\]$/);
        if (target) inodes.add(target[1]!);
      }
    } catch {
      // The process ended while we read it.
    }
  }
  const ports = new Set<number>();
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address is hex "0100007F:PORT"; state 0A is LISTEN; field 9 the socket's inode.
    if (f[3] === "0A" && inodes.has(f[9]!)) ports.add(parseInt(f[1]!.split(":")[1]!, 16));
  }
  ports.delete(publicPort);
  for (const port of ports) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await response.json().catch(() => null) as { geos_version?: string } | null;
      if (response.ok && body?.geos_version) return `http://127.0.0.1:${port}`;
    } catch {
      // Not an HTTP socket of ours (the inspector, the loopback service, …).
    }
  }
  return null;
}

/** The workerd process of group `pgid` that listens on loopback `port` (the runtime's own socket: the isolate's). */
export function listeningWorkerd(pgid: number, port: number): number | null {
  const inodes = new Set<string>();
  for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] === "0A" && parseInt(f[1]?.split(":")[1] ?? "", 16) === port) inodes.add(f[9]!);
  }
  for (const { pid } of workerdMemory(pgid)) {
    try {
      for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
        const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).match(/^socket:\[(\d+)\]$/);
        if (target && inodes.has(target[1]!)) return pid;
      }
    } catch {
      // The process ended while we read it.
    }
  }
  return null;
}

/** The runtime's own socket of a bench service and the workerd process behind it (the one whose thread runs it all). */
export async function runtimeOf(service: BenchService, publicPort: number): Promise<{ direct: string; pid: number }> {
  const direct = await runtimeUrl(service.pgid, publicPort);
  const pid = direct ? listeningWorkerd(service.pgid, Number(new URL(direct).port)) : null;
  if (!direct || !pid) throw new Error("the runtime's own socket was not found");
  return { direct, pid };
}

/**
 * CPU seconds (user + system) of process `pid`'s main thread (the task whose id is the pid's): in workerd the
 * thread that runs the isolate, so the Worker, every Durable Object, their alarms and the R2 emulation.
 */
export function mainThreadCpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14 and 15 of proc(5)), USER_HZ
}

/**
 * Nanoseconds process `pid`'s main thread has run on a CPU (`/proc/<pid>/task/<pid>/schedstat`, first field): the
 * same clock as {@link mainThreadCpuSeconds} at ns resolution, fine enough to measure one request.
 */
export function mainThreadRunNs(pid: number): number {
  return mainThreadSchedNs(pid).run;
}

/**
 * Nanoseconds process `pid`'s main thread has run on a CPU and waited runnable for one (`schedstat`'s first two
 * fields). The rest of the wall time it was off the CPU by its own doing: idle in its event loop, or blocked in a
 * system call (an `fsync` of a Durable Object's commit), which under a backlog is time no request gets.
 */
export function mainThreadSchedNs(pid: number): { run: number; runnable: number } {
  const [run, runnable] = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/schedstat`).split(" ").map(Number);
  return { run: run!, runnable: runnable! };
}

/** The share of `wallNs` between two {@link mainThreadSchedNs} readings that the thread was neither running nor runnable. */
export function offCpuShare(
  before: { run: number; runnable: number },
  after: { run: number; runnable: number },
  wallNs: number,
): number {
  return 1 - (after.run - before.run + after.runnable - before.runnable) / wallNs;
}
