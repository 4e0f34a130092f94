/**
 * The submit path beside its floor: the service at a ref, and the skeleton of the design in
 * scripts/bench/submit_floor/ (the same Durable Object calls and commits a submit needs, with none of the service's
 * own work), alternating (floor, ref, floor, ref …) so that the machine's drift hits both. Not a test: it prints a
 * table.
 *
 * Each run starts a fresh dev server without the inspector, publishes the counties (the service only; the skeleton
 * reads no dataset), warms every subject's objects, measures the main thread's CPU per submit one after another
 * (`--sequential`, closed loop: nothing queues), then sends `--rate` submits/s for `--seconds` to the runtime's own
 * socket (scripts/bench/load_submit.ts, open loop, offshore one-point payloads over `--subjects` token subjects)
 * after `--load-warm` seconds at that rate. Printed per run: p50/p99, 202s, the main thread's CPU per answered
 * submit, its busy share and the share of the wall time it was off the CPU (idle, or blocked in a commit's `fsync`).
 *
 * What the skeleton costs is what the design costs on this runtime: the gap to it is the service's own work.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/submit_floor.ts --ref HEAD --pairs 2 --rate 200 --seconds 20
 * ```
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as data from "./datasets.ts";
import { publishDataset } from "./upload.ts";
import { type LoadResult, runLoadSubmit } from "./load_table.ts";
import { onePointSubmit } from "./jobs_client.ts";
import { loadAverage, mainThreadSchedNs, offCpuShare, runtimeOf, snapshotTree, startBenchService } from "./service.ts";
import { devToken } from "../lib/dev_token.ts";
import { freePort } from "../lib/wrangler_dev.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ref: { type: "string", default: "HEAD" },
    pairs: { type: "string", default: "2" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "20" },
    "load-warm": { type: "string", default: "5" },
    sequential: { type: "string", default: "500" },
    subjects: { type: "string", default: "100" },
  },
});

const FLOOR_DIR = fileURLToPath(new URL("./submit_floor/", import.meta.url));
/** Open Pacific: a job without a partition. */
const OFFSHORE = [-135, 5] as const;

interface Run {
  label: string;
  sequentialMs: number;
  load: LoadResult;
  msPerSubmit: number;
  busy: number;
  offCpu: number;
  loadAverage: string;
}

async function runOnce(label: string, dir: string, publish: boolean): Promise<Run> {
  const state = await Deno.makeTempDir({ prefix: "spatial-jobs-submit-floor-" });
  const port = freePort();
  const service = await startBenchService(port, state, `${state}.log`, dir);
  const tokenFile = `${state}.tokens`;
  try {
    if (publish) {
      const owner = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 3600 });
      const published = await publishDataset({
        url: service.url,
        name: "counties",
        body: data.geoJsonBytes(data.counties()),
        contentType: "application/geo+json",
        token: owner,
        repair: true,
      });
      if (!published.ok) throw new Error(`publish answered ${published.status}`);
    }
    const { direct, pid } = await runtimeOf(service, port);
    const tokens = await Promise.all(
      Array.from({ length: Number(flags.subjects) }, (_, i) => devToken({ sub: `load-${i}`, domain: "geo" })),
    );
    await Deno.writeTextFile(tokenFile, tokens.join("\n"));
    const load = (rate: string, seconds: string) =>
      runLoadSubmit(direct, tokenFile, rate, seconds, "counties", "offshore");
    await load(flags.subjects, "2"); // every subject's objects live
    await new Promise((r) => setTimeout(r, 3_000));

    const n = Number(flags.sequential);
    const run0 = mainThreadSchedNs(pid).run;
    for (let i = 0; i < n; i++) {
      const response = await fetch(`${direct}/v1/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, "content-type": "application/json" },
        body: onePointSubmit("counties", OFFSHORE),
      });
      await response.body?.cancel();
      if (response.status !== 202) throw new Error(`a sequential submit answered ${response.status}`);
    }
    await new Promise((r) => setTimeout(r, 500)); // their jobs end
    const sequentialMs = (mainThreadSchedNs(pid).run - run0) / 1e6 / n;

    if (Number(flags["load-warm"]) > 0) await load(flags.rate, flags["load-warm"]);
    const before = mainThreadSchedNs(pid);
    const t0 = performance.now();
    const loadAtStart = loadAverage();
    const result = await load(flags.rate, flags.seconds);
    const after = mainThreadSchedNs(pid);
    const wallNs = (performance.now() - t0) * 1e6;
    const runNs = after.run - before.run;
    return {
      label,
      sequentialMs,
      load: result,
      msPerSubmit: runNs / 1e6 / Math.max(1, result.completed),
      busy: runNs / wallNs,
      offCpu: offCpuShare(before, after, wallNs),
      loadAverage: `${loadAtStart} → ${loadAverage()}`,
    };
  } finally {
    await service.stop();
    await Deno.remove(tokenFile).catch(() => {});
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
}

const tree = await snapshotTree(flags.ref);
// A copy: wrangler writes its build (.wrangler/) where it runs, and `deno check scripts/` would read it.
const floorDir = await Deno.makeTempDir({ prefix: "spatial-jobs-submit-floor-worker-" });
for (const name of ["worker.ts", "runtime.d.ts", "wrangler.toml"]) {
  await Deno.copyFile(`${FLOOR_DIR}${name}`, `${floorDir}/${name}`);
}
const rows: Run[] = [];
console.log(
  `| run | tree | sequential: main thread ms/submit | ${flags.rate}/s: p50 / p99 ms | 202s of ${
    Number(flags.rate) * Number(flags.seconds)
  } | main thread ms/answered submit | busy | off CPU | load average |`,
);
console.log("|---|---|---:|---|---:|---:|---:|---:|---|");
try {
  for (let pair = 0; pair < Number(flags.pairs); pair++) {
    for (
      const [label, dir, publish] of [["floor", floorDir, false], [tree.commit.slice(0, 10), tree.dir, true]] as const
    ) {
      const r = await runOnce(label, dir, publish);
      rows.push(r);
      const { p50, p99 } = r.load.latency_ms;
      console.log(
        `| ${rows.length} | ${r.label} | ${r.sequentialMs.toFixed(2)} | ${p50.toFixed(0)} / ${p99.toFixed(0)} | ${
          r.load.statuses["202"] ?? 0
        } | ${r.msPerSubmit.toFixed(2)} | ${(100 * r.busy).toFixed(0)}% | ${
          (100 * r.offCpu).toFixed(0)
        }% | ${r.loadAverage} |`,
      );
    }
  }
} finally {
  await Deno.remove(tree.dir, { recursive: true }).catch(() => {});
  await Deno.remove(floorDir, { recursive: true }).catch(() => {});
}
const pairs = rows.flatMap((r, i) => i % 2 === 1 ? [[rows[i - 1]!, r] as const] : []);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = (pick: (r: Run) => number) => {
  const xs = pairs.map(([floor, service]) => pick(service) / pick(floor));
  return `${median(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
};
console.log(
  `\nThe service over its floor, median of the pairs (spread): sequential ${ratio((r) => r.sequentialMs)}, ` +
    `main thread per answered submit ${ratio((r) => r.msPerSubmit)}, p99 ${ratio((r) => r.load.latency_ms.p99)}.`,
);
