/**
 * CPU-profiles the running local service (wrangler dev / workerd) through its V8 inspector: the Worker and
 * every Durable Object share one isolate locally, so the profile shows the partition executors and GEOS
 * (wasm) too. Writes a `.cpuprofile` (Chrome DevTools → Performance → Load profile) and prints the top
 * functions by self and total time, with bundle positions mapped back to repo paths.
 *
 * @example
 * ```sh
 * deno task dev --inspect                      # the dev server with its inspector on 127.0.0.1:9229
 * deno run -A scripts/profile_cpu.ts --seconds 20 --out /tmp/j2.cpuprofile   # submit a job meanwhile
 * deno run -A scripts/profile_cpu.ts            # until Enter or Ctrl-C
 * deno run -A scripts/profile_cpu.ts --summarize /tmp/j2.cpuprofile --wasm split   # tables of a saved profile
 * ```
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  bundleResolver,
  formatSummary,
  startCpuProfile,
  summarizeProfile,
  withSourcePositions,
} from "./lib/cpu_profile.ts";

const HELP = `Usage: deno run -A scripts/profile_cpu.ts [options]
  --inspector <host:port|ws://…>  the dev server's inspector (deno task dev --inspect; default 127.0.0.1:9229)
  --seconds <n>                  profile this long (default: until Enter or Ctrl-C)
  --interval <µs>                sampling interval (default 100)
  --out <file>                   where the .cpuprofile goes (default cpu-<timestamp>.cpuprofile)
  --top <n>                      rows per table (default 30)
  --project <dir>                the tree wrangler dev runs from, for its bundle's source map (default .)
  --wasm <auto|aggregate|split>  fold wasm functions into one "wasm" row (auto: when more than 10)
  --summarize <file>             only print the tables of a saved .cpuprofile`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    inspector: { type: "string", default: "127.0.0.1:9229" },
    seconds: { type: "string" },
    interval: { type: "string", default: "100" },
    out: { type: "string" },
    top: { type: "string", default: "30" },
    project: { type: "string", default: "." },
    summarize: { type: "string" },
    wasm: { type: "string", default: "auto" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const wasm = flags.wasm;
if (wasm !== "auto" && wasm !== "aggregate" && wasm !== "split") {
  throw new Error(`--wasm ${wasm}: auto|aggregate|split`);
}
const out = flags.out ?? `cpu-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`;

const options = { top: Number(flags.top), wasm } as const;
if (flags.summarize) {
  console.log(formatSummary(summarizeProfile(JSON.parse(await Deno.readTextFile(flags.summarize)), options)));
  Deno.exit(0);
}

const session = await startCpuProfile(flags.inspector, { samplingIntervalUs: Number(flags.interval) });
if (flags.seconds) {
  console.error(`profiling ${flags.inspector} for ${flags.seconds} s`);
  await new Promise((r) => setTimeout(r, Number(flags.seconds) * 1000));
} else {
  console.error(`profiling ${flags.inspector}; press Enter or Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", () => resolve());
    Deno.addSignalListener("SIGTERM", () => resolve());
    // End of input (stdin not a terminal) is no request to stop.
    Deno.stdin.read(new Uint8Array(64)).then((n) => n !== null && resolve(), () => {});
  });
}
// Bundle positions resolved now: wrangler deletes its bundle when it exits.
const profile = withSourcePositions(await session.stop(), bundleResolver(resolve(flags.project)));
await Deno.writeTextFile(out, JSON.stringify(profile));
console.log(formatSummary(summarizeProfile(profile, options)));
console.log(`\nwrote ${out}`);
// Pending stdin reads and signal listeners would keep the process alive.
Deno.exit(0);
