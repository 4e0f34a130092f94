import { deepEqual, equal, ok } from "node:assert/strict";
import { bandCut, bandLeaseBytes, bandsOf } from "../../../operations/zonal_statistics/bands.ts";
import type { PixelRule, Window } from "../../../operations/zonal_statistics/pixel_grid.ts";

const MiB = 2 ** 20;

/** Every cell of `win` once, in the bands' order. */
function cellsOf(bands: Window[]): Set<string> {
  const seen = new Set<string>();
  for (const b of bands) {
    for (let r = b.r0; r < b.r1; r++) {
      for (let c = b.c0; c < b.c1; c++) {
        const key = `${r},${c}`;
        ok(!seen.has(key), `cell ${key} in two bands`);
        seen.add(key);
      }
    }
  }
  return seen;
}

const blocksSpanned = (w: Window, [bw, bh]: [number, number]) =>
  (Math.floor((w.c1 - 1) / bw) - Math.floor(w.c0 / bw) + 1) * (Math.floor((w.r1 - 1) / bh) - Math.floor(w.r0 / bh) + 1);

for (const rule of ["center", "coverage"] as PixelRule[]) {
  Deno.test(`zonal bands: under ${rule}, every band of a huge window leases at most the band bound, cells once`, () => {
    const block: [number, number] = [256, 256];
    const cut = bandCut(rule, block, "float32", 10 * MiB);
    // A polygon over the whole 0.002° CONUS grid: 383 M cells, 3 GiB of coverage weights whole.
    const win = { c0: 3, r0: 7, c1: 29_500, r1: 13_000 };
    const bands = [...bandsOf(win, cut.maxCells, block[0])];
    ok(bands.length > 300);
    let cells = 0;
    for (const band of bands) {
      ok(bandLeaseBytes(band, rule, cut, blocksSpanned(band, block)) <= 10 * MiB, JSON.stringify(band));
      cells += (band.r1 - band.r0) * (band.c1 - band.c0);
    }
    equal(cells, (win.c1 - win.c0) * (win.r1 - win.r0));
  });
}

Deno.test("zonal bands: a window wider than a band is cut in columns on block boundaries; a narrow one is not", () => {
  const bands = [...bandsOf({ c0: 100, r0: 0, c1: 1_000, r1: 10 }, 600, 256)];
  // 512-column chunks aligned on the grid: [100, 512), [512, 1000); one row of each fits 600 cells.
  deepEqual(bands.slice(0, 2), [{ c0: 100, c1: 512, r0: 0, r1: 1 }, { c0: 100, c1: 512, r0: 1, r1: 2 }]);
  ok(bands.every((b) => (b.c0 === 100 && b.c1 === 512) || (b.c0 === 512 && b.c1 === 1_000)));
  equal(cellsOf(bands).size, 900 * 10);
  deepEqual([...bandsOf({ c0: 5, r0: 0, c1: 65, r1: 25 }, 600, 256)], [
    { c0: 5, c1: 65, r0: 0, r1: 10 },
    { c0: 5, c1: 65, r0: 10, r1: 20 },
    { c0: 5, c1: 65, r0: 20, r1: 25 },
  ]);
});

Deno.test("zonal bands: reads take half the lease, fewer blocks at once when blocks are large", () => {
  equal(bandCut("center", [256, 256], "float32", 10 * MiB).group, 6);
  equal(bandCut("center", [512, 512], "float64", 10 * MiB).group, 1);
  equal(bandCut("center", [256, 256], "uint8", 10 * MiB).group, 8);
});
