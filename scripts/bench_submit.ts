/**
 * `deno task bench:submit`: the submit path under a constant arrival rate, this tree beside a reference commit,
 * alternating (A, B, A, B …) so that the machine's drift hits both. Not a test: it prints a table.
 *
 * Each run starts a fresh dev server from a snapshot of its ref (fresh state), publishes the counties, sends two
 * submits per subject to warm it (every subject's Durable Objects are live when the closed loop below visits them),
 * then `scripts/bench/load_submit.ts` (loadtest, open loop) sends `--rate` submits/s for
 * `--seconds` to the runtime's own socket (not wrangler's proxy): one-point `point_in_polygon` payloads,
 * each a fresh key, spread over `--subjects` token subjects so the per-subject rate limit (on, as deployed)
 * is not what is measured. Offshore points by default: their jobs have no partition, so the submit path is
 * what runs. Printed per run: p50/p95/p99, the achieved rate, answers other than 202 and connection errors,
 * the workerd processes' CPU time (user + system, every thread) per answered submit, which also holds the
 * little work of the job each submit starts, the CPU of the runtime's main thread alone per answered submit and
 * its busy share (it runs the Worker, every Durable Object, their alarms and R2: the one thread a submit rate must
 * fit on), the share of the load's wall time it was off the CPU neither running nor runnable (idle, or blocked in a
 * system call: each commit's `fsync`; under a backlog, time no request gets), its CPU per 404 before the submits (the
 * floor under every request), and the load average. Then the median of the pair ratios.
 * The closed loop is also CPU-profiled over the inspector: the isolate's CPU per submit on the request path
 * (the 3 ms target) apart from its job's (scripts/lib/cpu_attribution.ts); sync CPU does not move workerd's
 * clock, so Server-Timing durations cannot show it. The inspector costs the isolate: wrangler's inspector proxy
 * enables the Runtime domain, and V8 then serializes every `console` call to it (~0.2 ms of the Worker's thread and
 * ~0.9 ms of the proxy's a line), which a deployed Worker does not pay. So each run first serves a profiled closed loop as wrangler sets the inspector up,
 * then another with the Runtime domain disabled (the line still written, nothing serialized), and then, restarted on
 * the same state without the inspector, the floor, an unprofiled closed loop and the load. A profile's sample is the
 * thread's time in a call, not its CPU: the access log's console call is sampled for ~0.5–1 ms but costs the thread
 * a few µs without the inspector (scripts/bench/profile_fidelity.ts), so the request path is also printed without
 * that call's samples. The main thread's CPU while one submit (or its replay, or a 404) is in flight alone is measured
 * with neither inspector nor profiler.
 *
 * A loaded machine (other work on its cores) starves the service long before the rate does: then few submits are
 * answered within the run and the CPU per answered submit means little. So each run first sends `--sequential`
 * submits one after another (closed loop: nothing queues) and reports their latency and the CPU they cost, which the
 * machine's load moves far less than it moves latency.
 *
 * @example
 * ```sh
 * deno task bench:submit                                 # worktree vs 77c9092, 2 pairs, 200/s for 30 s
 * deno task bench:submit --ref HEAD --base 77c9092 --pairs 3 --rate 200 --seconds 30
 * ```
 */
import { parseArgs } from "node:util";
import * as data from "./bench/datasets.ts";
import {
  type BenchService,
  loadAverage,
  mainThreadCpuSeconds,
  mainThreadRunNs,
  mainThreadSchedNs,
  offCpuShare,
  runtimeOf,
  snapshotTree,
  startBenchService,
  workerdCpuSeconds,
} from "./bench/service.ts";
import { publishDataset } from "./bench/upload.ts";
import { type LoadResult, runLoadSubmit } from "./bench/load_table.ts";
import { onePointSubmit } from "./bench/jobs_client.ts";
import { devToken } from "./lib/dev_token.ts";
import { freePort } from "./lib/wrangler_dev.ts";
import { bundleResolver, startCpuProfile, withSourcePositions } from "./lib/cpu_profile.ts";
import { openInspector } from "./lib/inspector_session.ts";
import { attributeCpu } from "./lib/cpu_attribution.ts";
import { gcPausesWhile, type HeapPauses } from "./lib/workerd_probes.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ref: { type: "string", default: "worktree" },
    base: { type: "string", default: "77c9092" },
    pairs: { type: "string", default: "2" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "30" },
    subjects: { type: "string", default: "100" },
    points: { type: "string", default: "offshore" },
    sequential: { type: "string", default: "100" },
    "load-warm": { type: "string", default: "0" },
    "sequential-subjects": { type: "string", default: "10" },
    paced: { type: "string", default: "100" },
    "paced-gap": { type: "string", default: "150" },
    floor: { type: "string", default: "2000" },
    profile: { type: "string" },
    gc: { type: "boolean", default: false },
    "log-level": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(`Usage: deno task bench:submit [options]
  --ref <git ref|worktree>  the tree measured (default worktree: the files as they are)
  --base <git ref>          the tree it is compared with (default 77c9092, before the short submit path)
  --pairs <n>               (ref, base) runs, alternating (default 2)
  --rate <n>                submits per second (default 200)
  --seconds <n>             load duration per run (default 30)
  --subjects <n>            token subjects the load is spread over (default 100)
  --points <offshore|conus> offshore: jobs without a partition (the submit path alone); conus: jobs that run
  --sequential <n>          submits one after another before the load: CPU per submit where nothing queues (default 100)
  --load-warm <s>           the load's first seconds at --rate, not counted: the percentiles of the steady state after
                            them (default 0: the whole load counts, its cold start included)
  --sequential-subjects <n> the subjects they take turns over (default 10: each subject's objects stay live, as
                            under the load; with 100, each submit also wakes its caller's registry, ~2 ms)
  --paced <n>               submits and as many GET /nope, each alone (--paced-gap ms after the previous answer, so its
                            job's alarms are done): the main thread's CPU while each is in flight, from schedstat, no
                            inspector, no profiler (default 100)
  --floor <n>               GET /nope one after another first: workerd's main-thread CPU per 404, the edge's
                            floor under every request (default 2000)
  --log-level <level>       LOG_LEVEL for both trees (default: their wrangler.toml's, info). In the profiled loops
                            each log line is sampled for 0.5–1 ms (wrangler's inspector proxy receives every line)
  --gc                      also times every garbage collection of each isolate during the load (uprobes on V8's
                            Heap::CollectGarbage: needs root and perf): each pauses the one thread
  --profile <dir>           also writes each run's closed-loop CPU profile there (<n>-<ref>.cpuprofile, DevTools)`);
  Deno.exit(0);
}

interface Run {
  ref: string;
  commit: string;
  /** The closed-loop submits without the inspector: each latency, ms, and the workerd CPU per submit. */
  sequential: { p50: number; p99: number; cpuMs: number; mainMs: number };
  /** The main thread's CPU while one request is in flight, nothing else running: median and mean ms. */
  paced: { submit: InFlight; replay: InFlight; notFound: InFlight };
  /** The closed loop profiled with the Runtime domain on, as wrangler sets the inspector up. */
  inspected: Profiled;
  /** The same with the Runtime domain off: `console` calls are not serialized to the inspector. */
  quiet: Profiled;
  result: LoadResult;
  cpuMsPerSubmit: number;
  /** workerd's main thread (the one that runs the isolate) under the load: CPU ms per answered submit, busy share. */
  mainThread: { msPerSubmit: number; busy: number; offCpu: number };
  /** Its CPU per 404 (`GET /nope` one after another, no credentials). */
  floorMs: number;
  loadAverage: string;
  /** With --gc: each isolate's collections during the load. */
  gc?: HeapPauses[];
}

interface InFlight {
  median: number;
  mean: number;
}

/** A profiled closed loop: the main thread's CPU per submit and the isolate's split from the profile, ms/submit. */
interface Profiled {
  mainMs: number;
  requestCpuMs: number;
  /** Of `requestCpuMs`, the samples inside the access log's `console` call. */
  requestConsoleMs: number;
  jobCpuMs: number;
  otherCpuMs: number;
  requestTop: [string, number][];
  jobTop: [string, number][];
}

/**
 * The request path without its console call's samples (Runtime domain off): the call writes the line in a few
 * tens of µs of the thread's CPU without the inspector (docs/performance.md), but is sampled for far more.
 */
const requestLessConsole = (r: Run) => r.quiet.requestCpuMs - r.quiet.requestConsoleMs;

/** A dev server of the bench, the runtime's own socket and the workerd process that serves it. */
interface Served {
  service: BenchService;
  direct: string;
  runtimePid: number;
}

async function serve(tree: string, port: number, stateDir: string, log: string, inspectorPort?: number) {
  const service = await startBenchService(
    port,
    stateDir,
    log,
    tree,
    inspectorPort,
    flags["log-level"] ? { LOG_LEVEL: flags["log-level"] } : undefined,
  );
  try {
    const { direct, pid } = await runtimeOf(service, port);
    return { service, direct, runtimePid: pid } satisfies Served;
  } catch (error) {
    await service.stop();
    throw error;
  }
}

async function runOnce(ref: string, label: string): Promise<Run> {
  const tree = await snapshotTree(ref);
  const stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-submit-" });
  const port = freePort();
  const inspectorPort = freePort();
  let served = await serve(tree.dir, port, stateDir, `${stateDir}.inspected.log`, inspectorPort);
  const tokenFile = await Deno.makeTempFile({ prefix: "spatial-jobs-bench-submit-tokens-" });
  try {
    const owner = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 3600 });
    const published = await publishDataset({
      url: served.service.url,
      name: "counties",
      body: data.geoJsonBytes(data.counties()),
      contentType: "application/geo+json",
      token: owner,
      repair: true,
    });
    if (!published.ok) throw new Error(`publish answered ${published.status}: ${JSON.stringify(published.body)}`);
    const tokens = await Promise.all(
      Array.from({ length: Number(flags.subjects) }, (_, i) => devToken({ sub: `load-${i}`, domain: "geo" })),
    );
    await Deno.writeTextFile(tokenFile, tokens.join("\n"));
    const load = (rate: string, seconds: string) =>
      runLoadSubmit(served.direct, tokenFile, rate, seconds, "counties", flags.points);
    // Warm: module, GEOS, every subject's Durable Objects (the closed loop visits each); then its jobs end.
    const warm = async () => {
      await load(flags.subjects, "2");
      await new Promise((r) => setTimeout(r, 4_000));
    };
    await warm();
    const inspector = `127.0.0.1:${inspectorPort}`;
    const inspected = await profiledLoop(served, tokens, inspector, tree.dir, `${label}-inspected`, true);
    const quiet = await profiledLoop(served, tokens, inspector, tree.dir, `${label}-quiet`, false);
    await served.service.stop();
    served = await serve(tree.dir, port, stateDir, `${stateDir}.log`);
    await warm();
    const floorMs = await notFoundFloor(served.runtimePid, served.direct);
    const sequential = await closedLoop(served, tokens);
    const keys = Array.from({ length: Number(flags.paced) }, () => crypto.randomUUID());
    const paced = {
      submit: await inFlight(served.runtimePid, (i) => submit(served.direct, tokens[i % tokens.length]!, keys[i])),
      // The same submits again: the whole request path (its claim finds the key), and no job to start.
      replay: await inFlight(served.runtimePid, (i) => submit(served.direct, tokens[i % tokens.length]!, keys[i], 200)),
      notFound: await inFlight(served.runtimePid, async () => {
        const response = await fetch(`${served.direct}/nope`);
        await response.body?.cancel();
        if (response.status !== 404) throw new Error(`GET /nope answered ${response.status}`);
      }),
    };
    if (Number(flags["load-warm"]) > 0) await load(flags.rate, flags["load-warm"]);
    const cpu0 = workerdCpuSeconds(served.service.pgid);
    const main0 = mainThreadCpuSeconds(served.runtimePid);
    const sched0 = mainThreadSchedNs(served.runtimePid);
    const t0 = performance.now();
    const loadAtStart = loadAverage();
    let result!: LoadResult;
    const measured = async () => void (result = await load(flags.rate, flags.seconds));
    let gc: HeapPauses[] | undefined;
    if (flags.gc) gc = await gcPausesWhile(served.runtimePid, measured);
    else await measured();
    const cpu = workerdCpuSeconds(served.service.pgid) - cpu0;
    const main = mainThreadCpuSeconds(served.runtimePid) - main0;
    const sched = mainThreadSchedNs(served.runtimePid);
    const wallNs = (performance.now() - t0) * 1e6;
    return {
      ref,
      commit: tree.commit.slice(0, 10),
      sequential,
      paced,
      inspected,
      quiet,
      result,
      cpuMsPerSubmit: (cpu * 1000) / Math.max(1, result.completed),
      mainThread: {
        msPerSubmit: (main * 1000) / Math.max(1, result.completed),
        busy: main / ((performance.now() - t0) / 1000),
        offCpu: offCpuShare(sched0, sched, wallNs),
      },
      floorMs,
      loadAverage: `${loadAtStart} → ${loadAverage()}`,
      gc,
    };
  } finally {
    await served.service.stop();
    await Deno.remove(tokenFile).catch(() => {});
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(tree.dir, { recursive: true }).catch(() => {});
  }
}

/** workerd's main-thread CPU per `GET /nope` (a 404 through every middleware), `--floor` of them one after another. */
async function notFoundFloor(pid: number, url: string): Promise<number> {
  const n = Number(flags.floor);
  if (n <= 0) return NaN;
  const cpu0 = mainThreadCpuSeconds(pid);
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${url}/nope`);
    await response.body?.cancel();
    if (response.status !== 404) throw new Error(`GET /nope answered ${response.status}`);
  }
  return ((mainThreadCpuSeconds(pid) - cpu0) * 1000) / n;
}

/**
 * `--sequential` submits, each once the previous one was answered; CPU counted until their jobs ended (all of
 * workerd's threads, and the main thread alone), ms per submit.
 */
async function closedLoop({ service, direct, runtimePid }: Served, tokens: string[]): Promise<Run["sequential"]> {
  const n = Number(flags.sequential);
  const subjects = Math.min(tokens.length, Number(flags["sequential-subjects"]));
  const ms: number[] = [];
  const cpu0 = workerdCpuSeconds(service.pgid);
  const main0 = mainThreadCpuSeconds(runtimePid);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await submit(direct, tokens[i % subjects]!);
    ms.push(performance.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 3_000)); // the jobs' alarms
  ms.sort((a, b) => a - b);
  return {
    p50: ms[Math.floor(n / 2)]!,
    p99: ms[Math.min(n - 1, Math.floor(0.99 * n))]!,
    cpuMs: ((workerdCpuSeconds(service.pgid) - cpu0) * 1000) / n,
    mainMs: ((mainThreadCpuSeconds(runtimePid) - main0) * 1000) / n,
  };
}

/**
 * One offshore one-point submit (a job without a partition) under `key` (default a fresh one); throws unless it
 * answers `expected` (202 for a new key, 200 for a replay).
 */
async function submit(url: string, token: string, key = crypto.randomUUID(), expected = 202): Promise<void> {
  const response = await fetch(`${url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: onePointSubmit("counties", OFFSHORE, key),
  });
  await response.body?.cancel();
  if (response.status !== expected) throw new Error(`submit answered ${response.status}, not ${expected}`);
}

/**
 * The CPU main thread `pid` spends while each of `--paced` requests is in flight, one at a time, `--paced-gap` ms
 * after the previous one was answered (its job's alarms are done by then): the request's own cost to the thread,
 * workerd's handling included, without a profiler's sampling or the inspector.
 */
async function inFlight(pid: number, send: (i: number) => Promise<void>): Promise<InFlight> {
  const n = Number(flags.paced);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise((r) => setTimeout(r, Number(flags["paced-gap"])));
    const ns0 = mainThreadRunNs(pid);
    await send(i);
    ms.push((mainThreadRunNs(pid) - ns0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(n / 2)]!, mean: ms.reduce((a, b) => a + b, 0) / n };
}

/**
 * The closed loop CPU-profiled over the inspector, the isolate's CPU split between the request path and the jobs.
 * Without `runtimeDomain` the session first disables the Runtime domain wrangler's inspector proxy enabled (and its
 * Network domain): it stays off for that server's later loops.
 */
async function profiledLoop(
  served: Served,
  tokens: string[],
  inspector: string,
  tree: string,
  label: string,
  runtimeDomain: boolean,
): Promise<Profiled> {
  const session = await openInspector(inspector);
  try {
    if (!runtimeDomain) {
      await session.send("Runtime.disable");
      await session.send("Network.disable");
    }
    const profiling = await startCpuProfile(session, { samplingIntervalUs: 100 });
    const { mainMs } = await closedLoop(served, tokens);
    const profile = withSourcePositions(await profiling.stop(), bundleResolver(tree));
    if (flags.profile) {
      await Deno.mkdir(flags.profile, { recursive: true });
      await Deno.writeTextFile(`${flags.profile}/${label}.cpuprofile`, JSON.stringify(profile));
    }
    const isolate = attributeCpu(profile);
    const n = Number(flags.sequential);
    return {
      mainMs,
      requestCpuMs: isolate.ms.request / n,
      requestConsoleMs: isolate.console.request / n,
      jobCpuMs: isolate.ms.job / n,
      otherCpuMs: (isolate.ms.unattributed + isolate.ms.gc + isolate.ms.program) / n,
      requestTop: isolate.request,
      jobTop: isolate.job,
    };
  } finally {
    session.close();
  }
}
/** Open Pacific: a job without a partition. */
const OFFSHORE = [-135, 5] as const;

const runs: Run[] = [];
for (let pair = 0; pair < Number(flags.pairs); pair++) {
  for (const ref of [flags.ref, flags.base]) {
    console.error(`pair ${pair + 1}: ${ref}, ${flags.rate}/s for ${flags.seconds} s (load average ${loadAverage()})`);
    runs.push(await runOnce(ref, `${runs.length + 1}-${ref.replaceAll("/", "_")}`));
    const r = runs.at(-1)!;
    console.error(
      `  p50 ${r.result.latency_ms.p50} ms, p99 ${r.result.latency_ms.p99} ms, ${r.cpuMsPerSubmit.toFixed(2)} ms CPU`,
    );
  }
}

const split = (p: Profiled) => [p.requestCpuMs, p.jobCpuMs, p.otherCpuMs].map((v) => v.toFixed(2)).join(" / ");
const header = [
  "ref",
  "commit",
  "sequential p50 / p99 ms",
  "sequential CPU ms/submit",
  "main thread CPU ms while one request is in flight, median (mean): submit / its replay / 404",
  "main thread CPU ms/submit, closed loop: no inspector / profiled / profiled, Runtime off",
  "isolate CPU ms/submit (profile): request / job / other",
  "the same, Runtime off",
  "request path's console call (profile): Runtime on / off",
  "request path less its console call (Runtime off)",
  "sent",
  "achieved/s",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "statuses",
  "errors",
  "CPU ms/answered submit",
  "main thread CPU ms/answered submit (busy; off the CPU, neither running nor runnable)",
  "main thread CPU ms/404",
  "load average (1, 5, 15 min)",
];
const rows = runs.map((r) => [
  r.ref,
  r.commit,
  `${r.sequential.p50.toFixed(1)} / ${r.sequential.p99.toFixed(1)}`,
  r.sequential.cpuMs.toFixed(2),
  [r.paced.submit, r.paced.replay, r.paced.notFound].map((p) => `${p.median.toFixed(2)} (${p.mean.toFixed(2)})`).join(
    " / ",
  ),
  [r.sequential.mainMs, r.inspected.mainMs, r.quiet.mainMs].map((v) => v.toFixed(2)).join(" / "),
  split(r.inspected),
  split(r.quiet),
  `${r.inspected.requestConsoleMs.toFixed(2)} / ${r.quiet.requestConsoleMs.toFixed(2)}`,
  requestLessConsole(r).toFixed(2),
  String(r.result.sent),
  r.result.achieved_rps.toFixed(1),
  String(r.result.latency_ms.p50),
  String(r.result.latency_ms.p95 ?? "?"),
  String(r.result.latency_ms.p99),
  String(r.result.latency_ms.max),
  Object.entries(r.result.statuses).map(([s, n]) => `${s}×${n}`).join(" "),
  String(r.result.errors + (r.result.sent - r.result.completed)),
  r.cpuMsPerSubmit.toFixed(2),
  `${r.mainThread.msPerSubmit.toFixed(2)} (${(100 * r.mainThread.busy).toFixed(0)}%; ${
    (100 * r.mainThread.offCpu).toFixed(0)
  }%)`,
  r.floorMs.toFixed(2),
  r.loadAverage,
]);
console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const row of rows) console.log(`| ${row.join(" | ")} |`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = (pick: (r: Run) => number) => {
  const values: number[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) values.push(pick(runs[i]!) / pick(runs[i + 1]!));
  return `${median(values).toFixed(2)}× (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
};
console.log(
  `\n${flags.ref} / ${flags.base}, median of ${runs.length / 2} pair ratios (spread): p50 ${
    ratios((r) => r.result.latency_ms.p50)
  }, p99 ${ratios((r) => r.result.latency_ms.p99)}, CPU per submit ${
    ratios((r) => r.cpuMsPerSubmit)
  }; sequential: p50 ${ratios((r) => r.sequential.p50)}, CPU per submit ${
    ratios((r) => r.sequential.cpuMs)
  }, main thread CPU per submit ${ratios((r) => r.sequential.mainMs)}, main thread CPU while a submit is in flight ${
    ratios((r) => r.paced.submit.median)
  }, request path less its console call ${ratios(requestLessConsole)}, request-path isolate CPU per submit (profile) ${
    ratios((r) => r.inspected.requestCpuMs)
  }, job isolate CPU per submit (profile) ${ratios((r) => r.inspected.jobCpuMs)}, main thread CPU per 404 ${
    ratios((r) => r.floorMs)
  }`,
);
const perSubmit = (top: [string, number][]) =>
  top.map(([name, ms]) => `${name} ${(ms / Number(flags.sequential)).toFixed(3)}`).join("; ");
for (const r of runs) {
  console.log(`${r.ref} request path, self ms per submit: ${perSubmit(r.inspected.requestTop)}`);
  console.log(`${r.ref} request path, Runtime off, self ms per submit: ${perSubmit(r.quiet.requestTop)}`);
}
for (const r of runs) console.log(`${r.ref} its job, self ms per submit: ${perSubmit(r.inspected.jobTop)}`);
for (const r of runs) {
  const stages = Object.entries(r.result.stages_ms ?? {}).map(([n, { p50, p99 }]) => `${n} ${p50} / ${p99}`);
  console.log(`${r.ref} Server-Timing p50 / p99 ms: ${stages.join(", ")}`);
}
for (const r of runs) {
  if (!r.gc) continue;
  const heaps = r.gc.map((h, i) =>
    `isolate ${i + 1}: ${h.count} (${h.major} full), ${h.totalMs.toFixed(0)} ms, p50 ${h.p50Ms.toFixed(1)} / max ${
      h.maxMs.toFixed(1)
    } ms`
  );
  console.log(
    `${r.ref} garbage collections during the load, by isolate (count, total pause, p50 / max): ${heaps.join("; ")}`,
  );
}
// Whether the tail is spread over the run (a queue) or in a few seconds (a stall: a wave of alarms, a GC).
for (const r of runs) {
  const seconds = r.result.by_second ?? [];
  const slow = seconds.flatMap((s, i) => s.p99 >= 50 ? [`${i}s ${s.p99}/${s.max}`] : []);
  console.log(
    `${r.ref} seconds of the load (by send time) whose p99 reached 50 ms, p99/max ms: ${slow.length} of ${seconds.length}${
      slow.length ? `: ${slow.join(", ")}` : ""
    }`,
  );
}
