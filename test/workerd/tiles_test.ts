import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { latLngToCell } from "h3-js";
import { startDevServerOnFreePorts } from "../../scripts/lib/wrangler_dev.ts";

Deno.test("R2TileReader in real workerd: ranged search of a big tile in local R2 equals the whole-object search and reads a fraction of it", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "tiles-fixture-" });
  const server = await startDevServerOnFreePorts({
    stateDir,
    logFile: `${stateDir}.log`,
    config: fileURLToPath(new URL("./fixtures/tiles_worker/wrangler.toml", import.meta.url)),
  });
  const call = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${server.url}${path}`, init);
    const body = await response.json();
    equal(response.status, 200, JSON.stringify(body));
    return body;
  };
  try {
    const key = `tiles/${crypto.randomUUID()}.fgb`;
    const written = await call(`/write?key=${key}&count=40000&seed=21`, { method: "POST" });
    ok(written.bytes > 2 * 1024 * 1024, `a big tile: ${written.bytes} bytes`);

    for (const bbox of ["-100,40,-99.5,40.5", "-90,30,-88,32", "-74.5,40.5,-73.9,41"]) {
      const ranged = await call(`/search?key=${key}&bbox=${bbox}`);
      const whole = await call(`/search?key=${key}&bbox=${bbox}&threshold=1e12`);
      equal(ranged.mode, "ranged");
      equal(whole.mode, "whole");
      equal(whole.stats.bytesRead, written.bytes);
      equal(ranged.size, written.bytes);
      deepEqual(ranged.features, whole.features, `same features for ${bbox}`);
      ok(ranged.ids.length > 0, `${bbox} finds features`);
      ok(
        ranged.stats.bytesRead < written.bytes / 10,
        `${bbox}: ranged read ${ranged.stats.bytesRead} of ${written.bytes} bytes in ${ranged.stats.requests} requests`,
      );
      console.log(
        `${bbox}: ${ranged.ids.length} features; ranged ${ranged.stats.bytesRead} B / ${ranged.stats.requests} requests`,
      );
    }

    const empty = await call(`/search?key=${key}&bbox=10,10,11,11`);
    deepEqual(empty.ids, []);
    const missing = await fetch(`${server.url}/search?key=nope.fgb&bbox=0,0,1,1`);
    equal(missing.status, 500);
    equal((await missing.json()).name, "TileNotFoundError");

    const cover = await call(`/cover?bbox=-74,40,-73,41&res=3`);
    ok(cover.cells.includes(latLngToCell(40.5, -73.5, 3)));
  } finally {
    await server.stop("SIGTERM");
  }
  const log = await Deno.readTextFile(`${stateDir}.log`);
  ok(!/Wasm code generation disallowed|CompileError/.test(log), "no runtime WASM compilation in workerd");
});
