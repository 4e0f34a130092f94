/** `deno task dev`: the service on http://127.0.0.1:8787 with its state in `.wrangler/state`. */
import { PROJECT_ROOT, startDevServer } from "./lib/wrangler_dev.ts";

const port = Number(Deno.env.get("PORT") ?? 8787);
const server = await startDevServer({ port, stateDir: `${PROJECT_ROOT}.wrangler/state` });
console.log(`spatial-jobs is listening on ${server.url} (Ctrl-C to stop)`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.stop();
    Deno.exit(0);
  });
}
