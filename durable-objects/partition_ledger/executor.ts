/**
 * One slice of a partition's share of a job. The partition loads its tiles of
 * both sides (cached across slices while the isolate lives), then tests left
 * features in id order from the checkpoint, until the slice's work budget is
 * spent. Its rows go to one staged part object, written before the ledger
 * checkpoint: a crash between the two redoes the slice into the same key, so
 * output is never duplicated.
 *
 * Pairs are emitted exactly once across partitions by a reference rule: a
 * pair belongs to the smallest H3 tile cell that both features touch (for
 * `dwithin`: that the left feature's distance-expanded bbox touches), and the
 * partition running that tile cell emits it.
 */
import pLimit from "p-limit";
import { authorizeJobSpec, type JobWindow } from "../../shared/auth/job_policy.ts";
import { cellsForBbox } from "../../shared/routing/h3_cover.ts";
import { geodesicArea, reachBoxes } from "../../wasm/geodesic.ts";
import {
  type FlatFeature,
  type Geometry,
  type GeometryCore,
  loadGeometryCore,
  type PreparedGeometry,
} from "../../wasm/mod.ts";
import { workerdWasmModules } from "../../wasm/workerd_modules.js";
import { WindowFilter } from "./window_filter.ts";
import { encodePart, PART_CONTENT_TYPE, partFacts } from "./part_codec.ts";
import type { JobSpec, StagedRow } from "../../shared/job_spec.ts";
import { stagedPartKey } from "../../shared/r2_keys.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import type { TaskRecord } from "./ledger.ts";
import { PermanentJobError } from "./job_failure.ts";
import {
  loadPartitionData,
  type PartitionData,
  PartitionDataCache,
  type Side,
  taskDataKey,
  vertexCount,
} from "./partition_data.ts";

/**
 * Work units a slice may spend before it checkpoints: workerd freezes clocks
 * during computation, so CPU time cannot be read mid-slice; a unit is one
 * vertex visited by an exact test (≈ 0.1 µs here), so the default ≈ 200 ms.
 */
export const DEFAULT_SLICE_WORK = 2_000_000;
/**
 * Rows a slice stops at (the one left feature that passes it finishes): the
 * merge holds one part per partition at a time, so parts stay a few MB.
 */
export const MAX_SLICE_ROWS = 32_768;
/** Work units of one point answered by the bulk point-in-polygon path. */
const BULK_POINT_WORK = 16;

export interface SliceResult {
  next_offset: number;
  part_key: string | null;
  added: number;
  stats: Record<string, number>;
  done: boolean;
}

/**
 * Inputs of the tasks this isolate ran lately. With the slice limit below,
 * the budget keeps the isolate (128 MB on the platform, WASM heap included)
 * clear of its limit however many partitions it hosts.
 */
const inputs = new PartitionDataCache(32 * 2 ** 20);
/**
 * Slices running at once in this isolate. Locally every partition shares one
 * isolate, and a job's partitions all wake together: unbounded, they would
 * all hold their tiles at once. Two overlap one's I/O with the other's work.
 */
const sliceSlots = pLimit(2);

export function runTaskSlice(env: Env, task: TaskRecord, workBudget = DEFAULT_SLICE_WORK): Promise<SliceResult> {
  return sliceSlots(() => runSlice(env, task, workBudget));
}

async function runSlice(env: Env, task: TaskRecord, workBudget: number): Promise<SliceResult> {
  // Defence in depth: the recorded claims must still allow the job before any data is read.
  const decision = authorizeJobSpec(task.spec, task.spec.claims);
  if (!decision.ok) throw new PermanentJobError("Forbidden", decision.reason, 403, "forbidden");
  const core = await loadGeometryCore(workerdWasmModules);
  const key = taskDataKey(task.job_id, task.attempt, task.cell);
  const data = inputs.acquire(key) ?? inputs.insert(await loadInWindow(env, core, task, decision.window));
  try {
    const slice = await computeSlice(env, core, task, data, workBudget);
    if (slice.done) inputs.release(key);
    return slice;
  } finally {
    inputs.unpin(key);
  }
}

/** The task's inputs, read through the job's window (a job that reads nothing has no window and no tiles). */
async function loadInWindow(
  env: Env,
  core: GeometryCore,
  task: TaskRecord,
  window: JobWindow | null,
): Promise<PartitionData> {
  using filter = new WindowFilter(core, window ?? []);
  return await loadPartitionData(env.TILES, task.spec, task.attempt, task.cell, filter);
}

async function computeSlice(
  env: Env,
  core: GeometryCore,
  task: TaskRecord,
  data: PartitionData,
  workBudget: number,
): Promise<SliceResult> {
  const spec = task.spec;
  const started = Date.now();
  const stats = { ...task.stats };
  const add = (name: string, n: number) => (stats[name] = (stats[name] ?? 0) + n);
  if (task.next_offset === 0) {
    add("read_ms", data.readMs);
    add("index_ms", data.indexMs);
  }

  const rows: StagedRow[] = [];
  let work = 0;
  let i = task.next_offset;
  for (; i < data.left.size && work < workBudget && rows.length < MAX_SLICE_ROWS; i++) {
    work += processLeft(core, spec, data, i, rows, add);
  }
  const done = i >= data.left.size;
  add("compute_ms", Date.now() - started);

  let partKey: string | null = null;
  if (rows.length) {
    const writeStarted = Date.now();
    partKey = stagedPartKey(spec.job_id, task.attempt, task.cell, task.slices);
    await env.TILES.put(partKey, encodePart(rows), { httpMetadata: { contentType: PART_CONTENT_TYPE } });
    add("write_ms", Date.now() - writeStarted);
  }
  add("pairs", rows.length);
  Object.assign(stats, partFacts(rows, stats));
  stats.geos_heap_bytes = Math.max(stats.geos_heap_bytes ?? 0, core.heapBytes);
  return { next_offset: i, part_key: partKey, added: rows.length, stats, done };
}

/** Tests left feature `i` against its candidates; returns the work spent. */
function processLeft(
  core: GeometryCore,
  spec: JobSpec,
  data: PartitionData,
  i: number,
  rows: StagedRow[],
  add: (name: string, n: number) => void,
): number {
  const { left, right, index } = data;
  const a = left.feature(i);
  const aBounds = left.box(i);
  const dwithin = spec.operation === "spatial_join" && spec.predicate === "dwithin";
  const searchBoxes: Bbox[] = dwithin ? reachBoxes(aBounds, spec.distance_m) : [aBounds];
  // A reach split at ±180° searches both pieces; a feature spanning both comes back once.
  const candidates = searchBoxes.length === 1
    ? index.search(...searchBoxes[0]!)
    : [...new Set(searchBoxes.flatMap((box) => index.search(...box)))];
  add("candidates", candidates.length);
  const ownerCells = !dwithin
    ? left.cells[i]!
    : searchBoxes.length === 1
    ? cellsForBbox(searchBoxes[0]!, spec.resolution)
    : [...new Set(searchBoxes.flatMap((box) => cellsForBbox(box, spec.resolution)))].sort();

  // The single-cell features of a tile share one cells array: the owner rule is decided once per array (and
  // the index hands out neighbours, so mostly the same array as the candidate before).
  const owned = new Map<string[], boolean>();
  let lastCells: string[] | undefined, lastVerdict = false;
  const mine = candidates.filter((j) => {
    const cells = right.cells[j]!;
    if (cells === lastCells) return lastVerdict;
    let verdict = owned.get(cells);
    if (verdict === undefined) {
      const owner = smallestCommon(ownerCells, cells);
      owned.set(cells, verdict = owner !== null && data.ownCells.has(owner));
    }
    lastCells = cells;
    return lastVerdict = verdict;
  });
  if (!mine.length) return 1;
  add("exact_tests", mine.length);
  const aVertices = vertexCount(a);
  if (spec.operation === "point_in_polygon" && !left.allPoints && !spec.approximate) {
    // Polygons on the left: their candidate points are answered in one bulk call (wasm/ops/point_grid.ts), which
    // visits the polygon once and then costs about a grid lookup per point; only the hits need sorting.
    const hits = right.sortById(pointsInLeftPolygon(core, data, i, mine));
    const xy = right.pointXY;
    for (const j of hits) {
      rows.push(
        xy
          ? { l: a.id, r: right.id(j), x: xy[2 * j]!, y: xy[2 * j + 1]! }
          : { l: a.id, r: right.id(j), g: right.geometry(j) },
      );
    }
    return aVertices + BULK_POINT_WORK * mine.length;
  }
  right.sortById(mine);
  if (spec.approximate) return approximatePairs(spec, data, i, mine, rows);
  const aGeometry = geometryOf(core, left, i);
  let work = 0;
  for (const j of mine) {
    const bId = right.id(j);
    work += aVertices + vertexCount(right.feature(j));
    switch (spec.operation) {
      case "polygon_intersection": {
        // Grid cells and tiles are axis-aligned rectangles: GEOSClipByRect gives the same piece, much faster.
        const bRect = rectangleOf(right, j);
        const aRect = bRect ? null : rectangleOf(left, i);
        if (!bRect && !aRect && !preparedOf(core, left, i).intersects(geometryOf(core, right, j))) break;
        using overlap = bRect
          ? aGeometry.clipToRect(bRect)
          : aRect
          ? geometryOf(core, right, j).clipToRect(aRect)
          : aGeometry.intersection(geometryOf(core, right, j));
        // A piece may come back as a collection with lines or points where the boundaries touch: its area is
        // that of its polygons (as PostGIS's ST_Area of the collection), and the polygons are the piece.
        using piece = overlap.polygonalPart();
        const area = piece.area();
        if (!(area > 0)) break;
        rows.push({ l: a.id, r: bId, g: piece.toFlat(), p: { area, area_m2: piece.geodesicArea() } });
        break;
      }
      case "point_in_polygon": {
        // Points on the left (polygons on the left took the bulk path above): pointInPolygon says which.
        const hit = pointInPolygon(core, data, i, j);
        if (hit) rows.push({ l: a.id, r: bId, g: hit.geometry });
        break;
      }
      case "spatial_join": {
        const bGeometry = geometryOf(core, right, j);
        let hit: boolean;
        if (dwithin) hit = core.dwithin(aGeometry, bGeometry, spec.distance_m);
        else {
          const prepared = preparedOf(core, left, i);
          hit = spec.predicate === "contains"
            ? prepared.contains(bGeometry)
            : spec.predicate === "within"
            ? prepared.within(bGeometry)
            : prepared.intersects(bGeometry);
        }
        if (hit) rows.push({ l: a.id, r: bId, g: a.geometry });
        break;
      }
    }
  }
  return work;
}

/**
 * The SLO fallback (slo.ts): every candidate pair whose bboxes meet is a pair;
 * polygon_intersection pieces are the bbox overlaps, with their areas. No
 * GEOS call: the cost is the index search alone.
 */
function approximatePairs(
  spec: JobSpec,
  data: PartitionData,
  i: number,
  candidates: number[],
  rows: StagedRow[],
): number {
  const a = data.left.feature(i);
  const aBox = data.left.box(i);
  for (const j of candidates) {
    const bId = data.right.id(j);
    const bBox = data.right.box(j);
    if (spec.operation === "polygon_intersection") {
      const box: Bbox = [
        Math.max(aBox[0], bBox[0]),
        Math.max(aBox[1], bBox[1]),
        Math.min(aBox[2], bBox[2]),
        Math.min(aBox[3], bBox[3]),
      ];
      const area = (box[2] - box[0]) * (box[3] - box[1]);
      if (!(area > 0)) continue;
      const ring = {
        kind: "Polygon" as const,
        xy: new Float64Array([box[0], box[1], box[2], box[1], box[2], box[3], box[0], box[3], box[0], box[1]]),
      };
      rows.push({ l: a.id, r: bId, g: ring, p: { area, area_m2: geodesicArea(ring) } });
    } else if (spec.operation === "point_in_polygon") {
      rows.push({ l: a.id, r: bId, g: data.left.allPoints ? a.geometry : data.right.geometry(j) });
    } else {
      rows.push({ l: a.id, r: bId, g: a.geometry });
    }
  }
  return candidates.length;
}

/** The point feature of the pair when the point lies in (or on) the polygon, else null. */
function pointInPolygon(core: GeometryCore, data: PartitionData, i: number, j: number): FlatFeature | null {
  const { left, right } = data;
  const [polygons, p, points, q] = left.allPoints ? [right, j, left, i] : [left, i, right, j];
  const point = points.feature(q);
  const prepared = preparedOf(core, polygons, p);
  if (point.geometry.kind === "Point") {
    return prepared.intersectsXY(point.geometry.xy[0]!, point.geometry.xy[1]!) ? point : null;
  }
  return prepared.intersects(geometryOf(core, points, q)) ? point : null;
}

/**
 * The right features of `candidates` (in their order) that lie in (or on) left polygon `i`: Point features in one
 * bulk call.
 */
function pointsInLeftPolygon(core: GeometryCore, data: PartitionData, i: number, candidates: number[]): number[] {
  if (data.right.pointXY) return preparedOf(core, data.left, i).intersectingPoints(data.right.pointXY, candidates);
  const right = data.right;
  const points = candidates.filter((j) => right.geometry(j).kind === "Point");
  const xy = new Float64Array(2 * points.length);
  const order = new Uint32Array(points.length);
  for (let k = 0; k < points.length; k++) {
    const g = right.geometry(points[k]!).xy;
    xy[2 * k] = g[0]!;
    xy[2 * k + 1] = g[1]!;
    order[k] = k;
  }
  const hits = new Set<number>();
  for (const k of preparedOf(core, data.left, i).intersectingPoints(xy, order)) hits.add(points[k]!);
  for (const j of candidates) {
    if (right.geometry(j).kind !== "Point" && pointInPolygon(core, data, i, j)) hits.add(j);
  }
  return candidates.filter((j) => hits.has(j));
}

/** The bbox of a feature that is exactly an axis-aligned rectangle (one closed 5-point ring), else null. */
function rectangleOf(side: Side, i: number): Bbox | null {
  if (side.rectangles[i] !== undefined) return side.rectangles[i];
  const g = side.geometry(i);
  let rect: Bbox | null = null;
  if (g.kind === "Polygon" && !g.ends && g.xy.length === 10) {
    const [minX, minY, maxX, maxY] = side.box(i);
    const xy = g.xy;
    let onCorners = minX < maxX && minY < maxY;
    for (let k = 0; k < 10 && onCorners; k += 2) {
      onCorners = (xy[k] === minX || xy[k] === maxX) && (xy[k + 1] === minY || xy[k + 1] === maxY);
    }
    const edgesAligned = onCorners && [0, 2, 4, 6].every((k) => xy[k] === xy[k + 2] || xy[k + 1] === xy[k + 3]);
    if (edgesAligned) rect = [minX, minY, maxX, maxY];
  }
  return side.rectangles[i] = rect;
}

function smallestCommon(a: string[], b: string[]): string | null {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) return a[i]!;
    if (a[i]! < b[j]!) i++;
    else j++;
  }
  return null;
}

function geometryOf(core: GeometryCore, side: Side, i: number): Geometry {
  return side.geometries[i] ??= core.fromFeature(side.feature(i));
}

function preparedOf(core: GeometryCore, side: Side, i: number): PreparedGeometry {
  return side.prepared[i] ??= geometryOf(core, side, i).prepared();
}

/** Frees what a cancelled job holds in this isolate. */
export function releaseJob(jobId: string): void {
  inputs.releaseJob(jobId);
}
