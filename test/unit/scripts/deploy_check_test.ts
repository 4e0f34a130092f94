import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { formatReport, measureBundle, WORKER_SIZE_LIMITS } from "../../../scripts/deploy_check.ts";

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
