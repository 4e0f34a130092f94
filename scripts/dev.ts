/**
 * `deno task dev`: the service on http://127.0.0.1:8787 (`PORT`) with its state in `.wrangler/state`.
 * `deno task dev --inspect` opens the DevTools inspector on 127.0.0.1:9229 (`--inspector-port N` on another port):
 * attached, every log line is serialized to wrangler's inspector proxy (~1 ms of CPU a line), so it is off otherwise.
 */
import { parseArgs } from "node:util";
import { PROJECT_ROOT, startDevServer } from "./lib/wrangler_dev.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { inspect: { type: "boolean", default: false }, "inspector-port": { type: "string" } },
});
const inspectorPort = flags["inspector-port"] ? Number(flags["inspector-port"]) : flags.inspect ? 9229 : undefined;
const port = Number(Deno.env.get("PORT") ?? 8787);
const server = await startDevServer({
  port,
  stateDir: `${PROJECT_ROOT}.wrangler/state`,
  ...(inspectorPort ? { inspectorPort } : {}),
});
console.log(`spatial-jobs is listening on ${server.url} (Ctrl-C to stop)`);
if (inspectorPort) console.log(`DevTools inspector: 127.0.0.1:${inspectorPort}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.stop();
    Deno.exit(0);
  });
}
