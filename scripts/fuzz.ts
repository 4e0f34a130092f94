/**
 * Long fuzz runs: starts a dev server on a fresh state directory and runs the
 * structure-aware fuzzer (scripts/lib/fuzz_cases.ts) against it.
 *
 *   deno task fuzz --cases 50000 [--seed 7] [--concurrency 12]
 *
 * Prints the tally and every finding; exits 1 when there is one.
 */
import { parseArgs } from "node:util";
import { fetchThroughDevProxy, startDevServerOnFreePorts } from "./lib/wrangler_dev.ts";
import { formatTally, runFuzz } from "./lib/fuzz_run.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { cases: { type: "string" }, seed: { type: "string" }, concurrency: { type: "string" } },
});
const cases = Number(args.cases ?? 5_000);
const seed = Number(args.seed ?? Date.now() % 2 ** 31);
const concurrency = Number(args.concurrency ?? 12);

const stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-fuzz-" });
const server = await startDevServerOnFreePorts({
  stateDir,
  logFile: `${stateDir}.log`,
  vars: { SUBMIT_RATE_PER_SECOND: "1000000", SUBMIT_RATE_BURST: "1000000" },
});
console.log(`fuzz: ${cases} cases, seed ${seed}, concurrency ${concurrency}, state in ${stateDir}`);
try {
  const report = await runFuzz(
    { stateDir, fetch: (path, init) => fetchThroughDevProxy(`${server.url}${path}`, init) },
    { cases, seed, concurrency, log: console.log },
  );
  console.log(
    `fuzz seed ${seed}: ${report.cases} cases in ${report.seconds.toFixed(1)} s, ` +
      `${report.acceptedDatasets} datasets and ${report.acceptedJobs} jobs accepted, ${report.findings.length} findings`,
  );
  for (const line of formatTally(report)) console.log(line);
  if (report.findings.length) Deno.exitCode = 1;
} finally {
  await server.stop("SIGTERM");
}
