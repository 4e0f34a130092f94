import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { formatReport, measureBundle, WORKER_SIZE_LIMITS } from "../../../scripts/deploy_check.ts";
import { exportedDurableObjectClasses, productionProblems } from "../../../scripts/lib/production_config.ts";

/** A bundle directory as wrangler writes it: a script, the GEOS module, a source map and a README. */
async function bundle(geosBytes: Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "worker.js"), "export default {};\n".repeat(1000));
  await Deno.writeFile(join(dir, `${"a".repeat(40)}-geos.wasm`), geosBytes);
  await Deno.writeTextFile(join(dir, "worker.js.map"), "x".repeat(1 << 20));
  await Deno.writeTextFile(join(dir, "README.md"), "not uploaded");
  return dir;
}

Deno.test("deploy check sizes the uploaded modules compressed (not the source map) and names the GEOS share", async () => {
  const dir = await bundle(new Uint8Array(200_000));
  try {
    const report = await measureBundle(dir, WORKER_SIZE_LIMITS.free);
    equal(report.modules.length, 2, "worker.js and the wasm module; the map and README are not uploaded");
    ok(report.ok);
    ok(report.gzipTotal < 10_000, "zeros and a repeated line compress well");
    ok(report.geosGzipBytes > 0 && report.geosGzipBytes < report.gzipTotal);
    ok(formatReport(report, "free").includes("GEOS module:"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deploy check fails a bundle whose compressed size is over the plan's limit", async () => {
  const incompressible = crypto.getRandomValues(new Uint8Array(65_536));
  const dir = await bundle(incompressible);
  try {
    const report = await measureBundle(dir, 32 * 1024);
    equal(report.ok, false);
    ok(formatReport(report, "free").includes("OVER THE LIMIT"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const WRANGLER_TOML = await Deno.readTextFile(new URL("../../../wrangler.toml", import.meta.url));
const DO_CLASSES = exportedDurableObjectClasses(
  await Deno.readTextFile(new URL("../../../src/worker.ts", import.meta.url)),
);

Deno.test("the production environment of wrangler.toml passes the static deploy checks", () => {
  equal(DO_CLASSES.length, 7, "every Durable Object class src/worker.ts exports");
  deepEqual(productionProblems(WRANGLER_TOML, DO_CLASSES), []);
});

Deno.test("deploy check refuses a production environment with a secret or a permissive callback policy", () => {
  const unsafe = WRANGLER_TOML.replace(
    '[env.production.vars]\nLOG_LEVEL = "info"',
    '[env.production.vars]\nLOG_LEVEL = "info"\nJWT_SECRET = "dev-secret"\nRESULT_LINK_KEY = "k"',
  ).replace(
    'WEBHOOK_ALLOW_LOOPBACK = "false"\nWEBHOOK_DNS_RESOLVER = "https://cloudflare-dns.com/dns-query"\nWEBHOOK_MAX',
    'WEBHOOK_ALLOW_LOOPBACK = "true"\nWEBHOOK_DNS_RESOLVER = ""\nWEBHOOK_MAX',
  );
  const problems = productionProblems(unsafe, DO_CLASSES);
  equal(problems.length, 4, problems.join("\n"));
  ok(problems.some((p) => p.includes("JWT_SECRET is a secret")));
  ok(problems.some((p) => p.includes("RESULT_LINK_KEY is a secret")));
  ok(problems.some((p) => p.includes("WEBHOOK_ALLOW_LOOPBACK")));
  ok(problems.some((p) => p.includes("WEBHOOK_DNS_RESOLVER is empty")));
});

Deno.test("deploy check refuses a production environment missing a migration, a binding, traces or the cron", () => {
  const unsafe = WRANGLER_TOML
    .replace('new_sqlite_classes = ["WebhookOutbox"]', "new_sqlite_classes = []")
    .replace('[[env.production.r2_buckets]]\nbinding = "TILES"', '[[env.production.r2_buckets]]\nbinding = "OTHER"')
    .replace("[env.production.observability.traces]\nenabled = true", "[env.production.observability.traces]")
    .replace('[env.production.triggers]\ncrons = ["*/1 * * * *"]', "[env.production.triggers]\ncrons = []");
  deepEqual(productionProblems(unsafe, [...DO_CLASSES, "Unbound"]), [
    "env.production.observability.traces.enabled is not true",
    "env.production has no cron trigger (the stall sweep)",
    "no [[migrations]] entry creates the Durable Object class WebhookOutbox",
    "env.production binds no Durable Object namespace of class Unbound",
    "no [[migrations]] entry creates the Durable Object class Unbound",
    "env.production binds no R2 bucket as TILES",
  ]);
  deepEqual(productionProblems(WRANGLER_TOML, DO_CLASSES, "staging"), ["wrangler.toml has no [env.staging]"]);
});
