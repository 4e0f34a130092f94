import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { TopologyError } from "../../../wasm/mod.ts";
import { loadCoreForTests } from "./load_core.ts";
import { degreeGrid, usCounties } from "./counties.ts";

const core = await loadCoreForTests();
const counties = usCounties();
const byId = new Map(counties.map((c) => [c.id, c]));
const cells = new Map(degreeGrid().map((c) => [c.id, c]));

Deno.test("us-atlas counties-10m has 3,231 counties of which 40 are invalid, with GEOS reasons", () => {
  equal(counties.length, 3231);
  const reasons: Record<string, number> = {};
  for (const county of counties) {
    const { valid, reason } = core.validate(county.geometry, { id: county.id });
    if (!valid) {
      const kind = reason.replace(/\[.*$/, "");
      reasons[kind] = (reasons[kind] ?? 0) + 1;
    }
  }
  deepEqual(reasons, {
    "Too few points in geometry component": 19,
    "Ring Self-intersection": 7,
    "Self-intersection": 14,
  });
});

Deno.test("intersecting invalid county 51620 with cell -77_36 raises TopologyError naming both features", () => {
  const county = byId.get("51620")!, cell = cells.get("-77_36")!;
  using a = core.fromFlat(county.geometry, { id: county.id });
  using b = core.fromFlat(cell.geometry, { id: cell.id });
  const live = core.liveAllocations;
  throws(() => a.intersection(b), (error: unknown) => {
    ok(error instanceof TopologyError);
    deepEqual(error.featureIds, ["51620", "-77_36"]);
    equal(error.operation, "intersection");
    ok(/side location conflict/.test(error.reason), error.reason);
    ok(/"51620"/.test(error.message));
    return true;
  });
  equal(core.liveAllocations, live);
});

Deno.test("makeValid repairs every invalid county into a valid polygonal geometry (51610 collapses to empty, as in PostGIS)", () => {
  for (const county of counties) {
    if (core.validate(county.geometry).valid) continue;
    using repaired = core.makeValid(county.geometry, { id: county.id });
    ok(repaired.isValid(), `${county.id} is valid after makeValid`);
    const kind = repaired.toFlat().kind;
    ok(kind === "Polygon" || kind === "MultiPolygon", `${county.id}: ${kind}`);
    equal(repaired.isEmpty(), county.id === "51610", `${county.id} emptiness`);
  }
});

Deno.test("after makeValid, the pairs that raised TopologyError intersect with a positive area", () => {
  for (const [countyId, cellId] of [["51620", "-77_36"], ["51093", "-77_36"], ["22067", "-92_32"]] as const) {
    using a = core.makeValid(byId.get(countyId)!.geometry, { id: countyId });
    using b = core.fromFlat(cells.get(cellId)!.geometry, { id: cellId });
    using piece = a.intersection(b);
    ok(piece.area() > 0, `${countyId} × ${cellId}`);
  }
});
