/** h3-js's heap as the Worker loads it (shared/h3_heap.ts): 16 MiB instead of 32, the same answers. */
import { deepEqual, equal, ok } from "node:assert/strict";

interface Loaded {
  external: number;
  prototypeClean: boolean;
  cell: string;
  /** A call that needs more than 16 MiB of heap: the heap grows instead of failing. */
  cells: number;
}

/** What a fresh Deno holds and answers after `load` (h3-js's heap is one ArrayBuffer: `external` bytes). */
async function loaded(load: string): Promise<Loaded> {
  const code = `${load}; import * as h3 from "h3-js";
    const external = Deno.memoryUsage().external;
    console.log(JSON.stringify({
      external,
      prototypeClean: !("TOTAL_MEMORY" in {}),
      cell: h3.latLngToCell(49.61, 6.13, 9),
      cells: h3.polygonToCells([[[-10, -10], [-10, 10], [10, 10], [10, -10]]], 6).length,
    }))`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    cwd: new URL("../../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  equal(out.code, 0);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("h3-js loaded through shared/h3_heap.ts holds 16 MiB less heap, answers the same and leaves Object.prototype as it was", async () => {
  const alone = await loaded(`import "h3-js"`);
  const sized = await loaded(`import "./shared/h3_heap.ts"`);
  const saved = (alone.external - sized.external) / 2 ** 20;
  ok(saved > 15 && saved < 17, `saved ${saved.toFixed(1)} MiB`);
  deepEqual([sized.cell, sized.cells], [alone.cell, alone.cells]);
  ok(sized.cells > 150_000, `${sized.cells} cells`);
  ok(sized.prototypeClean);
});
