/**
 * `deno task deploy:check`: builds the production bundle the way `wrangler deploy --env production` would
 * (`--dry-run --outdir`, no network, no account), prints each module's gzip-compressed size, the GEOS module's
 * share and the total against the Workers size limits, and exits 1 when the total is over the chosen plan's limit
 * or when the `production` environment of `wrangler.toml` is unsafe (scripts/lib/production_config.ts: a secret in
 * the file, a permissive callback policy, a missing binding, migration, cron or observability setting). The
 * top-level (development) configuration is dry-run too, so neither can break unnoticed.
 *
 *   deno task deploy:check                 # against the Workers Free limit (3 MiB compressed)
 *   deno task deploy:check --plan paid     # against the Workers Paid limit (10 MiB compressed)
 */
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { PROJECT_ROOT, WRANGLER } from "./lib/wrangler_dev.ts";
import { exportedDurableObjectClasses, productionProblems } from "./lib/production_config.ts";

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

/** `wrangler deploy --dry-run` of the top-level configuration, or of `--env <envName>`. */
async function buildBundle(outdir: string, envName?: string): Promise<void> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRANGLER, "deploy", "--dry-run", "--outdir", outdir, ...(envName ? ["--env", envName] : [])],
    cwd: PROJECT_ROOT,
    env: { CI: "true", WRANGLER_SEND_METRICS: "false" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const decoder = new TextDecoder();
    throw new Error(
      `wrangler deploy --dry-run${envName ? ` --env ${envName}` : ""} failed:\n` +
        `${decoder.decode(stdout)}${decoder.decode(stderr)}`,
    );
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { plan: { type: "string", default: "free" } } });
  const plan = values.plan as Plan;
  if (!(plan in WORKER_SIZE_LIMITS)) {
    console.error(`--plan must be one of ${Object.keys(WORKER_SIZE_LIMITS).join(", ")} (got "${values.plan}")`);
    Deno.exit(2);
  }
  const problems = productionProblems(
    await Deno.readTextFile(join(PROJECT_ROOT, "wrangler.toml")),
    exportedDurableObjectClasses(await Deno.readTextFile(join(PROJECT_ROOT, "src/worker.ts"))),
  );
  for (const problem of problems) console.error(`unsafe production configuration: ${problem}`);
  const devOutdir = await Deno.makeTempDir({ prefix: "spatial-jobs-bundle-" });
  const outdir = await Deno.makeTempDir({ prefix: "spatial-jobs-bundle-production-" });
  try {
    await Promise.all([buildBundle(devOutdir), buildBundle(outdir, "production")]);
    const report = await measureBundle(outdir, WORKER_SIZE_LIMITS[plan]);
    console.log(`Production bundle (wrangler deploy --dry-run --env production):\n${formatReport(report, plan)}`);
    if (problems.length === 0) console.log("ok: the production environment passes the static checks");
    if (!report.ok || problems.length) Deno.exit(1);
  } finally {
    await Deno.remove(devOutdir, { recursive: true });
    await Deno.remove(outdir, { recursive: true });
  }
}
