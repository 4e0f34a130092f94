/**
 * Z1 on two trees in alternating pairs (`deno task bench:zonal-pairs`): a dev server per tree (a snapshot of each
 * ref, fresh state), the CONUS raster and the counties published into both, then the Z1 job (`center`,
 * `left_dataset`, GeoJSON, through the public contract) on base, ref, base, ref … Per run: wall time (submit →
 * COMPLETED → result downloaded), the workerd processes' CPU seconds during it (every thread: the Worker, the
 * Durable Objects and the R2 emulation), and the load average; then the median of the pair ratios with their
 * spread. Rows are checked against the committed rasterio answers. `--profile <dir>` CPU-profiles each run of
 * `--ref` and prints its top functions. Not a test: it prints a table.
 *
 * @example
 * ```sh
 * deno task bench:zonal-pairs --base bb5cbca --pairs 3          # the work tree's files vs bb5cbca
 * deno task bench:zonal-pairs --ref HEAD --base bb5cbca --pairs 1 --profile /tmp/z1prof
 * ```
 */
import { parseArgs } from "node:util";
import { type BenchService, loadAverage, snapshotTree, startBenchService, workerdCpuSeconds } from "./service.ts";
import { watchIsolate } from "./isolate_watch.ts";
import { downloadResult, runJob } from "./jobs_client.ts";
import { ZONAL_DEFAULTS } from "./zonal.ts";
import { devToken } from "../lib/dev_token.ts";
import { freePort } from "../lib/wrangler_dev.ts";
import { bundleResolver, formatSummary, summarizeProfile, withSourcePositions } from "../lib/cpu_profile.ts";
import { compareRow } from "../../test/unit/operations/zonal_fixtures.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    ref: { type: "string", default: "worktree" },
    base: { type: "string", default: "bb5cbca" },
    pairs: { type: "string", default: "3" },
    profile: { type: "string" },
    conus: { type: "string", default: ZONAL_DEFAULTS.conus },
    counties: { type: "string", default: ZONAL_DEFAULTS.counties },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(`Usage: deno task bench:zonal-pairs [options]
  --ref <git ref|worktree>  the tree measured (default worktree: the files as they are)
  --base <git ref>          the tree it is compared with (default bb5cbca)
  --pairs <n>               (base, ref) runs, alternating (default 3)
  --profile <dir>           CPU-profile each --ref run into <dir>
  --conus, --counties       the inputs (defaults as bench:e2e --only Z1)`);
  Deno.exit(0);
}

const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

interface Side {
  label: string;
  commit: string;
  dir: string;
  service: BenchService;
  inspector: string;
}

const token = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 6 * 3600 });
const auth = { authorization: `Bearer ${token}` };
const answers = JSON.parse(
  await Deno.readTextFile(
    new URL("../../test/fixtures/raster/answers/counties_conus.center.rasterio.json", import.meta.url),
  ),
) as { left_id: string }[];

async function start(ref: string, label: string): Promise<Side> {
  const tree = await snapshotTree(ref);
  const stateDir = await Deno.makeTempDir({ prefix: `z1-pairs-${label}-` });
  const inspectorPort = freePort();
  const service = await startBenchService(freePort(), stateDir, `${stateDir}.log`, tree.dir, inspectorPort);
  log(`${label}: ${tree.commit.slice(0, 12)} at ${service.url} (log ${stateDir}.log)`);
  for (
    const [path, type, file] of [
      ["conus?kind=raster&classification=public", "image/tiff", flags.conus],
      ["counties?repair=true&classification=public", "application/geo+json", flags.counties],
    ] as const
  ) {
    const response = await fetch(`${service.url}/v1/datasets/${path}`, {
      method: "PUT",
      headers: { ...auth, "content-type": type },
      body: await Deno.readFile(file),
    });
    if (response.status !== 201) {
      throw new Error(`${label} publish ${path}: ${response.status} ${await response.text()}`);
    }
    await response.body?.cancel();
  }
  return { label, commit: tree.commit, dir: tree.dir, service, inspector: `127.0.0.1:${inspectorPort}` };
}

interface Run {
  seconds: number;
  cpu: number;
  load: string;
  partitions: number;
}

async function run(side: Side, profile: boolean, index: number): Promise<Run> {
  const watch = profile ? await watchIsolate(side.inspector, { heap: false, profile: true }) : undefined;
  const load = loadAverage();
  const cpu0 = workerdCpuSeconds(side.service.pgid);
  const job = await runJob(side.service.url, token, {
    spatial_operation: "zonal_statistics",
    left_dataset: "counties",
    dataset: "conus",
    output_format: "geojson",
  });
  if (job.final.status !== "COMPLETED") throw new Error(`${side.label} job: ${JSON.stringify(job.final)}`);
  const { bytes, ms } = await downloadResult(side.service.url, token, job.jobId);
  const cpu = workerdCpuSeconds(side.service.pgid) - cpu0;
  const watched = await watch?.stop();
  const rows = JSON.parse(new TextDecoder().decode(bytes)).features.map((f: { properties: unknown }) => f.properties);
  const byId = new Map(rows.map((row: { left_id: string }) => [row.left_id, row]));
  let differences = 0;
  for (const want of answers) {
    const got = byId.get(want.left_id);
    if (got && compareRow(got as never, want as never, true).length) differences++;
  }
  if (differences || rows.length !== answers.length - 1) {
    throw new Error(`${side.label}: ${rows.length} rows, ${differences} differ from rasterio's`);
  }
  if (watched?.profile && flags.profile) {
    const file = `${flags.profile}/z1-${side.label}-${index}.cpuprofile`;
    const resolved = withSourcePositions(watched.profile, bundleResolver(side.dir));
    Deno.writeTextFileSync(file, JSON.stringify(resolved));
    console.log(`\n${file}\n${formatSummary(summarizeProfile(resolved, { top: 20 }), { selfOnly: true })}`);
  }
  return {
    seconds: (job.completeMs + ms) / 1000,
    cpu,
    load,
    partitions: job.final.progress.partitions_total,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (flags.profile) await Deno.mkdir(flags.profile, { recursive: true });
const sides: Side[] = [];
try {
  sides.push(await start(flags.base, "base"), await start(flags.ref, "ref"));
  const [base, ref] = sides as [Side, Side];
  // One warm-up job each: the isolates load the modules and the raster's header.
  await run(base, false, 0);
  await run(ref, false, 0);
  const rows: { base: Run; ref: Run }[] = [];
  for (let i = 1; i <= Number(flags.pairs); i++) {
    const b = await run(base, false, i);
    log(`pair ${i} base: ${b.seconds.toFixed(2)} s, ${b.cpu.toFixed(2)} s CPU, load ${b.load}`);
    const r = await run(ref, !!flags.profile, i);
    log(`pair ${i} ref:  ${r.seconds.toFixed(2)} s, ${r.cpu.toFixed(2)} s CPU, load ${r.load}`);
    rows.push({ base: b, ref: r });
  }
  console.log(`\nZ1 pairs: ref ${ref.commit} vs base ${base.commit}`);
  console.log("| pair | base wall | base CPU | ref wall | ref CPU | wall ref/base | CPU ref/base | load average |");
  console.log("| ---- | --------: | -------: | -------: | ------: | ------------: | -----------: | ------------ |");
  rows.forEach(({ base: b, ref: r }, i) =>
    console.log(
      `| ${i + 1} | ${b.seconds.toFixed(2)} s | ${b.cpu.toFixed(2)} s | ${r.seconds.toFixed(2)} s | ${
        r.cpu.toFixed(2)
      } s | ${(r.seconds / b.seconds).toFixed(2)} | ${(r.cpu / b.cpu).toFixed(2)} | ${b.load} / ${r.load} |`,
    )
  );
  const wall = rows.map(({ base: b, ref: r }) => r.seconds / b.seconds);
  const cpu = rows.map(({ base: b, ref: r }) => r.cpu / b.cpu);
  console.log(
    `wall ref/base median ${median(wall).toFixed(2)} (${Math.min(...wall).toFixed(2)}–${
      Math.max(...wall).toFixed(2)
    }), CPU ref/base median ${median(cpu).toFixed(2)} (${Math.min(...cpu).toFixed(2)}–${
      Math.max(...cpu).toFixed(2)
    }); partitions base ${rows[0]?.base.partitions}, ref ${rows[0]?.ref.partitions}`,
  );
} finally {
  for (const side of sides) await side.service.stop();
}
