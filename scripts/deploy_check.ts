/**
 * `deno task deploy:check`: builds the production bundle the way `wrangler deploy` would (`--dry-run --outdir`, no
 * network, no account), prints each module's gzip-compressed size, the GEOS module's share and the total against
 * the Workers size limits, and exits 1 when the total is over the chosen plan's limit.
 *
 *   deno task deploy:check                 # against the Workers Free limit (3 MiB compressed)
 *   deno task deploy:check --plan paid     # against the Workers Paid limit (10 MiB compressed)
 */
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { PROJECT_ROOT, WRANGLER } from "./lib/wrangler_dev.ts";

/** Workers' limit on a Worker's compressed size, by plan (developers.cloudflare.com/workers/platform/limits). */
export const WORKER_SIZE_LIMITS = { free: 3 * 2 ** 20, paid: 10 * 2 ** 20 } as const;
export type Plan = keyof typeof WORKER_SIZE_LIMITS;

export interface BundleModule {
  name: string;
  bytes: number;
  gzipBytes: number;
}

export interface BundleReport {
  modules: BundleModule[];
  gzipTotal: number;
  /** The GEOS WebAssembly module's compressed bytes. */
  geosGzipBytes: number;
  limit: number;
  ok: boolean;
}

/** Sizes the modules wrangler wrote to `outdir` (source maps and its README are not uploaded). */
export async function measureBundle(outdir: string, limit: number): Promise<BundleReport> {
  const modules: BundleModule[] = [];
  for await (const entry of Deno.readDir(outdir)) {
    if (!entry.isFile || entry.name.endsWith(".map") || entry.name === "README.md") continue;
    const bytes = await Deno.readFile(join(outdir, entry.name));
    modules.push({ name: entry.name, bytes: bytes.length, gzipBytes: gzipSync(bytes).length });
  }
  modules.sort((a, b) => b.gzipBytes - a.gzipBytes);
  const gzipTotal = modules.reduce((sum, m) => sum + m.gzipBytes, 0);
  const geosGzipBytes = modules.filter((m) => m.name.endsWith("geos.wasm")).reduce((sum, m) => sum + m.gzipBytes, 0);
  return { modules, gzipTotal, geosGzipBytes, limit, ok: gzipTotal <= limit };
}

/** The report as printed: one line a module, the GEOS share, the total against the limit. */
export function formatReport(report: BundleReport, plan: Plan): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const lines = report.modules.map((m) =>
    `  ${m.name.replace(/^[0-9a-f]{40}-/, "").padEnd(24)} ${kib(m.bytes).padStart(12)} → gzip ${kib(m.gzipBytes)}`
  );
  const share = report.gzipTotal ? (100 * report.geosGzipBytes / report.gzipTotal).toFixed(0) : "0";
  lines.push(`  GEOS module: ${kib(report.geosGzipBytes)} compressed, ${share}% of the bundle`);
  lines.push(
    `${report.ok ? "ok" : "OVER THE LIMIT"}: ${kib(report.gzipTotal)} compressed of the ${plan} plan's ` +
      `${kib(report.limit)} (${(100 * report.gzipTotal / report.limit).toFixed(0)}%)`,
  );
  return lines.join("\n");
}

async function buildBundle(outdir: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRANGLER, "deploy", "--dry-run", "--outdir", outdir],
    cwd: PROJECT_ROOT,
    env: { CI: "true", WRANGLER_SEND_METRICS: "false" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const decoder = new TextDecoder();
    throw new Error(`wrangler deploy --dry-run failed:\n${decoder.decode(stdout)}${decoder.decode(stderr)}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { plan: { type: "string", default: "free" } } });
  const plan = values.plan as Plan;
  if (!(plan in WORKER_SIZE_LIMITS)) {
    console.error(`--plan must be one of ${Object.keys(WORKER_SIZE_LIMITS).join(", ")} (got "${values.plan}")`);
    Deno.exit(2);
  }
  const outdir = await Deno.makeTempDir({ prefix: "spatial-jobs-bundle-" });
  try {
    await buildBundle(outdir);
    const report = await measureBundle(outdir, WORKER_SIZE_LIMITS[plan]);
    console.log(`Production bundle (wrangler deploy --dry-run):\n${formatReport(report, plan)}`);
    if (!report.ok) Deno.exit(1);
  } finally {
    await Deno.remove(outdir, { recursive: true });
  }
}
