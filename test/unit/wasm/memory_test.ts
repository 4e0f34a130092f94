import { equal, ok } from "node:assert/strict";
import { loadCoreForTests } from "./load_core.ts";
import { degreeGrid, usCounties } from "./counties.ts";

const core = await loadCoreForTests();

Deno.test("10,000 intersections of the same county and cell stop growing the WASM heap and live allocations", () => {
  const county = usCounties().find((c) => c.id === "06037")!; // Los Angeles: a MultiPolygon crossing cells
  const cell = degreeGrid().find((c) => c.id === "-119_34")!;
  const round = () => {
    using a = core.fromFlat(county.geometry, { id: county.id });
    using b = core.fromFlat(cell.geometry, { id: cell.id });
    ok(a.prepared().intersects(b));
    using piece = a.intersection(b);
    ok(piece.toFlat().xy.length > 0);
    ok(piece.geodesicArea() > 0);
    return piece.area();
  };
  const live = core.liveAllocations;
  for (let i = 0; i < 500; i++) round();
  const warmHeap = core.heapBytes;
  const warmLive = core.liveAllocations;
  const first = round();
  for (let i = 0; i < 10_000; i++) equal(round(), first);
  equal(core.heapBytes, warmHeap, "WASM memory did not grow after warm-up");
  equal(core.liveAllocations, warmLive, "live allocation count did not grow");
  ok(core.liveAllocations <= live + 1, "only the shared scratch buffer may have been created");
});
