import { DurableObject } from "cloudflare:workers";
import { loadGeosNamespace } from "../wasm/loader.ts";
import { workerdWasmModules } from "../wasm/workerd_modules.js";

export class PartitionLedger extends DurableObject<Env> {
  ping(): string {
    return "pong";
  }
}

export default {
  async fetch(_req, env) {
    const t0 = Date.now();
    const errors: string[] = [];
    const g = await loadGeosNamespace(workerdWasmModules, { onError: (m) => errors.push(m), onNotice: () => {} });
    return Response.json({ status: "ok", ms: Date.now() - t0, errors, ctx: g._ctx, secret: (env as unknown as Record<string, string>).JWT_SECRET?.length });
  },
} satisfies ExportedHandler<Env>;
