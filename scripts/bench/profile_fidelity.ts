/**
 * How far a CPU profile over the inspector is from the CPU the isolate's thread spends, and what a log line costs
 * that thread with and without the inspector: a Worker of known work (./profile_fidelity/worker.ts) in the dev server,
 * POSTs one at a time (a bearer token and a small JSON body, like a submit), the runtime's main-thread CPU per request
 * from schedstat. With the inspector, also the
 * profile's samples under the Worker's `fetch` per request (its Runtime domain on, as wrangler sets it up, or off).
 * Not a test: it prints a table.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/profile_fidelity.ts --requests 300 --lines 20
 * ```
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { freePort, startDevServer } from "../lib/wrangler_dev.ts";
import { type CpuProfile, startCpuProfile } from "../lib/cpu_profile.ts";
import { openInspector } from "../lib/inspector_session.ts";
import { listeningWorkerd, loadAverage, mainThreadRunNs, workerdMemory } from "./service.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { requests: { type: "string", default: "300" }, lines: { type: "string", default: "20" } },
});
const N = Number(flags.requests);
const K = Number(flags.lines);
const CONFIG = fileURLToPath(new URL("./profile_fidelity/wrangler.toml", import.meta.url));

type Mode = "no inspector" | "inspector, Runtime on" | "inspector, Runtime off";

/** Main-thread CPU ms per request of the runtime (and of wrangler's proxy), and the profile's ms under `fetch`. */
async function measure(mode: Mode, path: string) {
  const stateDir = await Deno.makeTempDir({ prefix: "profile-fidelity-" });
  const port = freePort();
  const inspectorPort = freePort();
  const server = await startDevServer({
    port,
    stateDir,
    logFile: `${stateDir}.log`,
    config: CONFIG,
    ...(mode === "no inspector" ? {} : { inspectorPort }),
  });
  try {
    // wrangler's proxy answers on the public port; the other workerd process runs the Worker.
    const proxy = listeningWorkerd(server.pid, port)!;
    const runtime = workerdMemory(server.pid).map((p) => p.pid).find((pid) => pid !== proxy)!;
    const hit = async () =>
      await (await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: "Bearer x", "content-type": "application/json" },
        body: "{}",
      })).text();
    for (let i = 0; i < 50; i++) await hit();
    const session = mode === "no inspector" ? null : await openInspector(`127.0.0.1:${inspectorPort}`);
    if (mode === "inspector, Runtime off") await session!.send("Runtime.disable");
    const profiling = session ? await startCpuProfile(session, { samplingIntervalUs: 100 }) : null;
    let runtimeNs = 0;
    const proxyNs0 = mainThreadRunNs(proxy);
    for (let i = 0; i < N; i++) {
      const ns0 = mainThreadRunNs(runtime);
      await hit();
      runtimeNs += mainThreadRunNs(runtime) - ns0;
    }
    const proxyNs = mainThreadRunNs(proxy) - proxyNs0;
    const profile = profiling ? await profiling.stop() : null;
    session?.close();
    return { runtime: runtimeNs / 1e6 / N, proxy: proxyNs / 1e6 / N, sampled: profile ? underFetch(profile) / N : NaN };
  } finally {
    await server.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

/** Milliseconds of samples with a `fetch` on their stack: the Worker's, or wrangler's middleware around it. */
function underFetch(profile: CpuProfile): number {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const deltas = profile.timeDeltas ?? [];
  let us = 0;
  (profile.samples ?? []).forEach((id, i) => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byId.get(at)!.callFrame.functionName === "fetch") {
        us += deltas[i + 1] ?? 0;
        return;
      }
    }
  });
  return us / 1000;
}

console.log(
  `| mode | request | runtime main thread CPU ms/request | wrangler proxy's ms/request | profile: ms under fetch/request | load average |`,
);
console.log("|---|---|---:|---:|---:|---|");
for (const mode of ["no inspector", "inspector, Runtime off", "inspector, Runtime on"] as Mode[]) {
  for (const path of ["/empty", `/log?k=${K}`, `/copy?k=${K}`, "/spin?k=10"]) {
    const m = await measure(mode, path);
    console.log(
      `| ${mode} | ${path} | ${m.runtime.toFixed(3)} | ${m.proxy.toFixed(3)} | ${
        Number.isNaN(m.sampled) ? "–" : m.sampled.toFixed(3)
      } | ${loadAverage()} |`,
    );
  }
}
// wrangler's proxy never answers the inspector's close handshake (scripts/lib/inspector_session.ts).
Deno.exit(0);
