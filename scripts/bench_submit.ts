/**
 * `deno task bench:submit`: the submit path under a constant arrival rate, this tree beside a reference commit,
 * alternating (A, B, A, B …) so that the machine's drift hits both. Not a test: it prints a table.
 *
 * Each run starts a fresh dev server from a snapshot of its ref (fresh state), publishes the counties, sends a
 * few submits to warm it, then `scripts/bench/load_submit.ts` (loadtest, open loop) sends `--rate` submits/s for
 * `--seconds` to the runtime's own socket (not wrangler's proxy): one-point `point_in_polygon` payloads,
 * each a fresh key, spread over `--subjects` token subjects so the per-subject rate limit (on, as deployed)
 * is not what is measured. Offshore points by default: their jobs have no partition, so the submit path is
 * what runs. Printed per run: p50/p95/p99, the achieved rate, answers other than 202 and connection errors,
 * the workerd processes' CPU time (user + system, every thread) per answered submit, which also holds the
 * little work of the job each submit starts, and the load average. Then the median of the pair ratios.
 *
 * @example
 * ```sh
 * deno task bench:submit                                 # worktree vs 77c9092, 2 pairs, 200/s for 30 s
 * deno task bench:submit --ref HEAD --base 77c9092 --pairs 3 --rate 200 --seconds 30
 * ```
 */
import { parseArgs } from "node:util";
import * as data from "./bench/datasets.ts";
import { runtimeUrl, snapshotTree, startBenchService, workerdMemory } from "./bench/service.ts";
import { publishDataset } from "./bench/upload.ts";
import type { LoadResult } from "./bench/load_table.ts";
import { devToken } from "./lib/dev_token.ts";
import { freePort } from "./lib/wrangler_dev.ts";

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
  --points <offshore|conus> offshore: jobs without a partition (the submit path alone); conus: jobs that run`);
  Deno.exit(0);
}

interface Run {
  ref: string;
  commit: string;
  result: LoadResult;
  cpuMsPerSubmit: number;
  loadAverage: string;
}

/** CPU seconds (user + system) of the workerd processes of process group `pgid`. */
function workerdCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const { pid } of workerdMemory(pgid)) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
  }
  return ticks / 100; // USER_HZ
}

const loadAverage = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

async function runOnce(ref: string): Promise<Run> {
  const tree = await snapshotTree(ref);
  const stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-submit-" });
  const service = await startBenchService(freePort(), stateDir, `${stateDir}.log`, tree.dir, freePort());
  const tokenFile = await Deno.makeTempFile({ prefix: "spatial-jobs-bench-submit-tokens-" });
  try {
    const owner = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 3600 });
    const published = await publishDataset({
      url: service.url,
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
    const direct = await runtimeUrl(service.pgid, Number(new URL(service.url).port));
    if (!direct) throw new Error("the runtime's own socket was not found");
    const load = async (rate: string, seconds: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./bench/load_submit.ts", import.meta.url).pathname,
          direct,
          `@${tokenFile}`,
          "submit",
          rate,
          seconds,
          "counties",
          flags.points,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as LoadResult;
    };
    await load("20", "2"); // warm: module, GEOS, the Durable Objects' first storage
    await new Promise((r) => setTimeout(r, 2_000));
    const cpu0 = workerdCpuSeconds(service.pgid);
    const loadAtStart = loadAverage();
    const result = await load(flags.rate, flags.seconds);
    const cpu = workerdCpuSeconds(service.pgid) - cpu0;
    return {
      ref,
      commit: tree.commit.slice(0, 10),
      result,
      cpuMsPerSubmit: (cpu * 1000) / Math.max(1, result.completed),
      loadAverage: `${loadAtStart} → ${loadAverage()}`,
    };
  } finally {
    await service.stop();
    await Deno.remove(tokenFile).catch(() => {});
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(tree.dir, { recursive: true }).catch(() => {});
  }
}

const runs: Run[] = [];
for (let pair = 0; pair < Number(flags.pairs); pair++) {
  for (const ref of [flags.ref, flags.base]) {
    console.error(`pair ${pair + 1}: ${ref}, ${flags.rate}/s for ${flags.seconds} s (load average ${loadAverage()})`);
    runs.push(await runOnce(ref));
    const r = runs.at(-1)!;
    console.error(
      `  p50 ${r.result.latency_ms.p50} ms, p99 ${r.result.latency_ms.p99} ms, ${r.cpuMsPerSubmit.toFixed(2)} ms CPU`,
    );
  }
}

const header = [
  "ref",
  "commit",
  "sent",
  "achieved/s",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "statuses",
  "errors",
  "CPU ms/submit",
  "load average (1, 5, 15 min)",
];
const rows = runs.map((r) => [
  r.ref,
  r.commit,
  String(r.result.sent),
  r.result.achieved_rps.toFixed(1),
  String(r.result.latency_ms.p50),
  String(r.result.latency_ms.p95 ?? "?"),
  String(r.result.latency_ms.p99),
  String(r.result.latency_ms.max),
  Object.entries(r.result.statuses).map(([s, n]) => `${s}×${n}`).join(" "),
  String(r.result.errors + (r.result.sent - r.result.completed)),
  r.cpuMsPerSubmit.toFixed(2),
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
  }, p99 ${ratios((r) => r.result.latency_ms.p99)}, CPU per submit ${ratios((r) => r.cpuMsPerSubmit)}`,
);
for (const r of runs) {
  const stages = Object.entries(r.result.stages_ms ?? {}).map(([n, { p50, p99 }]) => `${n} ${p50} / ${p99}`);
  console.log(`${r.ref} Server-Timing p50 / p99 ms: ${stages.join(", ")}`);
}
