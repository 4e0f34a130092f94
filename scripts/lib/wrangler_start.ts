/**
 * The dev server's process (started by `startDevServer` in ./wrangler_dev.ts, which owns its process group): the
 * service through wrangler's API (`unstable_startWorker`), the same workerd, Durable Objects, SQLite, alarms and R2 on
 * disk as `wrangler dev`, which the CLI builds on. Through the API the DevTools inspector can be left off: with it on,
 * wrangler's inspector proxy enables the Runtime domain on the isolate and every `console` call is serialized to it
 * (~0.2 ms of the Worker's thread and ~0.9 ms of the proxy's a line, against a few µs without: docs/performance.md
 * "Submit latency"), which no deployed Worker pays.
 *
 * Its one argument is {@link DevServerStart} as JSON. It prints `ready <url>` once the worker serves, and disposes of it
 * on SIGINT or SIGTERM.
 */
import type { DevServerStart } from "./wrangler_dev.ts";

/** What is used of wrangler's and miniflare's APIs (`unstable_startWorker`'s input is `StartDevWorkerInput`). */
interface Wrangler {
  unstable_startWorker(input: Record<string, unknown>): Promise<{
    ready: Promise<void>;
    url: Promise<URL>;
    dispose(): Promise<void>;
  }>;
}
interface Miniflare {
  getNodeCompat(compatibilityDate: string | undefined, compatibilityFlags: string[]): { mode: string | null };
}
interface ParsedConfig {
  compatibility_date?: string;
  compatibility_flags?: string[];
}

// Imported by a computed name, untyped: their declarations replace the global `fetch` and `Response` types of every
// script that `deno check scripts/` checks together with this one (`Response.json()` becomes `unknown`).
const load = (name: string) => import(name);
const { unstable_startWorker } = await load("wrangler") as Wrangler;
const { getNodeCompat } = await load("miniflare") as Miniflare;

const options = JSON.parse(Deno.args[0] ?? "") as DevServerStart;
const worker = await unstable_startWorker({
  config: options.config,
  envFiles: [options.envFile],
  bindings: Object.fromEntries(
    Object.entries(options.vars).map(([name, value]) => [name, { type: "plain_text", value }]),
  ),
  sendMetrics: false,
  // As `wrangler dev` sets it: without it the bundle leaves out the `nodejs_compat` polyfills.
  build: {
    nodejsCompatMode: (config: ParsedConfig) =>
      getNodeCompat(config.compatibility_date, config.compatibility_flags ?? []).mode,
  },
  dev: {
    remote: false,
    server: { hostname: options.hostname, port: options.port },
    inspector: options.inspectorPort === null ? false : { hostname: options.hostname, port: options.inspectorPort },
    persist: options.persist,
    testScheduled: true,
    // wrangler's default. "warn" would stop miniflare's line per request, but also drops the Worker's own info lines
    // (our access log) from the output.
    logLevel: "log",
  },
});
await worker.ready;
console.log(`ready ${await worker.url}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await worker.dispose().catch(() => {});
    Deno.exit(0);
  });
}
