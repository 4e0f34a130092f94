/**
 * `deno task bench`: the geometry core (GEOS via geos-wasm) against turf on the same inputs, in-process.
 *
 * - J1: every us-atlas county (counties-10m, 3,231, made valid) × 100,000 and 1,000,000 seeded random points
 *   in the contiguous-US bbox; point-in-polygon join counting pairs (a point on a boundary counts, as
 *   ST_Intersects). Both sides use the same flatbush index over the points for candidates; the core answers
 *   with `PreparedGeometry.intersectingPoints` on a prepared county (a grid over the county: only points near
 *   its boundary get a `GEOSPreparedIntersectsXY_r` call each, see wasm/ops/point_grid.ts), turf with
 *   `booleanPointInPolygon`. The one-call-per-candidate time is printed in a note for comparison.
 * - J2: the same counties × a 1°×1° grid over lon −125…−66, lat 24…50; intersection pieces of area > 0 with
 *   planar and geodesic areas. Both sides use the same flatbush index over the cells; the core runs prepared
 *   intersects + `GEOSIntersection_r` + GEOSArea + GeographicLib's ellipsoidal area, turf `intersect` + `area`.
 *
 * Inputs (made-valid counties, grid, points, indexes) are built once, outside the timings.
 */
import * as turf from "@turf/turf";
import { seededPoints } from "./lib/seeded_random.ts";
import { type FlatGeometry, type Geometry, loadGeometryCore, SpatialIndex } from "../wasm/mod.ts";
import { denoWasmModules } from "../test/unit/wasm/load_core.ts";
import { degreeGrid, usCounties } from "../test/unit/wasm/counties.ts";

const core = await loadGeometryCore(await denoWasmModules());

type Polygon = { type: "Polygon"; coordinates: number[][][] };
type MultiPolygon = { type: "MultiPolygon"; coordinates: number[][][][] };
type Feature<G extends Polygon | MultiPolygon> = ReturnType<typeof turf.feature<G>>;

function toGeoJSON(flat: FlatGeometry): Polygon | MultiPolygon {
  const rings = (g: FlatGeometry) => {
    const out: number[][][] = [];
    let start = 0;
    for (const end of g.ends ?? [g.xy.length / 2]) {
      const ring: number[][] = [];
      for (let i = start; i < end; i++) ring.push([g.xy[2 * i]!, g.xy[2 * i + 1]!]);
      out.push(ring);
      start = end;
    }
    return out;
  };
  return flat.parts
    ? { type: "MultiPolygon", coordinates: flat.parts.map(rings) }
    : { type: "Polygon", coordinates: rings(flat) };
}

function time<T>(run: () => T): [T, number] {
  const t0 = performance.now();
  const result = run();
  return [result, (performance.now() - t0) / 1000];
}

// Inputs.
// 51610 (Falls Church) collapses to empty when made valid, as in PostGIS: dropped from both sides.
const counties: Geometry[] = usCounties().map((c) => core.makeValid(c.geometry, { id: c.id })).filter((g) => {
  if (g.isEmpty()) g.free();
  return !g.freed;
});
const countyFeatures: Feature<Polygon | MultiPolygon>[] = counties.map((g) =>
  turf.feature(toGeoJSON(g.toFlat()), {}, { id: g.id! })
);
const countyBounds = counties.map((g) => g.bounds());
const grid = degreeGrid();
const cells = grid.map((c) => core.fromFlat(c.geometry, { id: c.id }));
const cellFeatures = grid.map((c) => turf.feature(toGeoJSON(c.geometry) as Polygon, {}, { id: c.id }));
const cellRects = cells.map((c) => c.bounds());
const cellIndex = SpatialIndex.fromBounds(cells.map((c) => c.bounds()));

const rows: string[][] = [];
const disagreements: string[] = [];

/**
 * `gathered`: each county's candidate coordinates are first copied into one array of their own (outside the
 * timings, for both sides), as the executor does with a polygon's candidate point features; otherwise both
 * sides read the candidates where they lie in the 1M-point array (one cache miss per candidate).
 */
function j1(count: number, gathered = false) {
  const allXY = seededPoints(count, 42);
  const index = SpatialIndex.fromPoints(allXY);
  const found = countyBounds.map((b) => index.search(...b));
  const inputs = found.map((ids) => {
    if (!gathered) return { xy: allXY, candidates: ids as ArrayLike<number> };
    const xy = new Float64Array(2 * ids.length);
    ids.forEach((i, k) => (xy[2 * k] = allXY[2 * i]!, xy[2 * k + 1] = allXY[2 * i + 1]!));
    return { xy, candidates: Uint32Array.from(ids, (_, k) => k) as ArrayLike<number> };
  });
  for (const g of counties) g.prepared().free();
  const stats = { tested: 0 };
  const [coreHits, coreSeconds] = time(() =>
    counties.map((g, k) => g.prepared().intersectingPoints(inputs[k]!.xy, inputs[k]!.candidates, { stats }))
  );
  for (const g of counties) g.prepared().free();
  const [, oneByOneSeconds] = time(() =>
    counties.map((g, k) => g.prepared().intersectingPointsOneByOne(inputs[k]!.xy, inputs[k]!.candidates))
  );
  const candidateCount = found.reduce((n, c) => n + c.length, 0);
  const label = `J1 PIP ${count.toLocaleString("en-US")} pts${gathered ? ", gathered" : ""}`;
  disagreements.push(
    `${label}: core tested ${stats.tested.toLocaleString("en-US")} of ${
      candidateCount.toLocaleString("en-US")
    } candidates one by one (grid); one GEOS call per candidate took ${oneByOneSeconds.toFixed(3)} s`,
  );
  const [turfHits, turfSeconds] = time(() =>
    countyFeatures.map((f, k) => {
      const { xy, candidates } = inputs[k]!;
      const hits: number[] = [];
      for (let c = 0; c < candidates.length; c++) {
        const i = candidates[c]!;
        if (turf.booleanPointInPolygon([xy[2 * i]!, xy[2 * i + 1]!], f)) hits.push(i);
      }
      return hits;
    })
  );
  let corePairs = 0, turfPairs = 0, differ = 0;
  for (let k = 0; k < counties.length; k++) {
    const a = new Set(coreHits[k]), b = new Set(turfHits[k]);
    corePairs += a.size;
    turfPairs += b.size;
    for (const i of a) if (!b.has(i)) differ++;
    for (const i of b) if (!a.has(i)) differ++;
  }
  if (differ) disagreements.push(`${label}: ${differ} pairs found by only one side`);
  rows.push([
    label,
    coreSeconds.toFixed(3),
    turfSeconds.toFixed(3),
    (turfSeconds / coreSeconds).toFixed(1),
    `${corePairs} / ${turfPairs} (${differ} differ)`,
  ]);
}

function j2() {
  const candidates = countyBounds.map((b) => cellIndex.search(...b));
  /** Timed overlay of every county with its candidate cells, the piece made by `overlay`; prepared geometries cold. */
  const timedOverlay = (overlay: (county: Geometry, i: number) => Geometry) => {
    for (const g of counties) g.prepared().free();
    return time(() => {
      const pieces = new Map<string, [number, number]>();
      counties.forEach((g, k) => {
        const prepared = g.prepared();
        for (const i of candidates[k]!) {
          const cell = cells[i]!;
          if (!prepared.intersects(cell)) continue;
          using piece = overlay(g, i);
          const area = piece.area();
          if (area > 0) pieces.set(`${g.id}|${cell.id}`, [area, piece.geodesicArea()]);
        }
      });
      return pieces;
    });
  };
  const [corePieces, coreSeconds] = timedOverlay((g, i) => g.intersection(cells[i]!));
  const [clipPieces, clipSeconds] = timedOverlay((g, i) => g.clipToRect(cellRects[i]!));
  let clipDiffer = 0, clipMaxRel = 0;
  for (const [key, [area]] of corePieces) {
    const clip = clipPieces.get(key);
    if (!clip) clipDiffer++;
    else clipMaxRel = Math.max(clipMaxRel, Math.abs(clip[0] - area) / area);
  }
  clipDiffer += [...clipPieces.keys()].filter((key) => !corePieces.has(key)).length;
  disagreements.push(
    `J2: clipToRect vs intersection: ${clipDiffer} pairs differ, largest relative planar area difference ${
      clipMaxRel.toExponential(2)
    }`,
  );
  const [turfPieces, turfSeconds] = time(() => {
    const pieces = new Map<string, number>();
    countyFeatures.forEach((f, k) => {
      for (const i of candidates[k]!) {
        const piece = turf.intersect(turf.featureCollection([f, cellFeatures[i]!]));
        if (!piece) continue;
        const area = turf.area(piece);
        if (area > 0) pieces.set(`${f.id}|${cellFeatures[i]!.id}`, area);
      }
    });
    return pieces;
  });
  let differ = 0;
  for (const key of corePieces.keys()) if (!turfPieces.has(key)) differ++;
  for (const key of turfPieces.keys()) if (!corePieces.has(key)) differ++;
  const relatives: number[] = [];
  for (const [key, [, m2]] of corePieces) {
    const t = turfPieces.get(key);
    if (t !== undefined && m2 > 1e6) relatives.push(Math.abs(t - m2) / m2);
  }
  relatives.sort((a, b) => a - b);
  const maxRel = relatives.at(-1) ?? 0;
  const medianRel = relatives[relatives.length >> 1] ?? 0;
  const over1pct = relatives.filter((r) => r > 0.01).length;
  if (differ) disagreements.push(`J2: ${differ} pieces found by only one side (slivers: area > 0 on one side only)`);
  disagreements.push(
    `J2: geodesic area core (WGS84 ellipsoid) vs turf (sphere), pieces > 1 km²: median relative difference ${
      medianRel.toExponential(2)
    }, max ${maxRel.toExponential(2)}, ${over1pct} pieces over 1%`,
  );
  rows.push([
    "J2 county × 1° grid, clipToRect",
    clipSeconds.toFixed(3),
    turfSeconds.toFixed(3),
    (turfSeconds / clipSeconds).toFixed(1),
    `${clipPieces.size} / ${turfPieces.size}`,
  ]);
  rows.push([
    "J2 county × 1° grid, intersection",
    coreSeconds.toFixed(3),
    turfSeconds.toFixed(3),
    (turfSeconds / coreSeconds).toFixed(1),
    `${corePieces.size} / ${turfPieces.size} (${differ} differ)`,
  ]);
}

j1(100_000);
j1(1_000_000);
j1(1_000_000, true);
j2();

const header = ["join", "core s", "turf s", "turf/core", "pairs core / turf"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(
  `geometry core (geos-wasm, GEOS 3.13) vs @turf/turf 7.4.0; ${counties.length} counties, ${cells.length} cells`,
);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of rows) console.log(line(row));
for (const note of disagreements) console.log(`note: ${note}`);
for (const g of [...counties, ...cells]) g.free();
console.log(
  `WASM heap ${(core.heapBytes / 2 ** 20).toFixed(1)} MiB, live allocations after freeing ${core.liveAllocations}`,
);
