/**
 * The vector overlays' slice: a partition loads its tiles of both sides
 * (cached across slices while the isolate lives), then takes left features in
 * id order from the checkpoint, finds each one's right candidates in the
 * index, keeps the pairs this partition owns, and hands them to the
 * operation's {@link PairRule}, until the slice's work budget is spent.
 *
 * Pairs are emitted exactly once across partitions by a reference rule: a
 * pair belongs to the smallest H3 tile cell that both features touch (for a
 * reach, as `dwithin`'s: that the left feature's distance-expanded bbox
 * touches), and the partition running that tile cell emits it.
 */
import { cellsForBbox } from "../../shared/routing/h3_cover.ts";
import { reachBoxes } from "../../wasm/geodesic.ts";
import type { Geometry, GeometryCore, PreparedGeometry } from "../../wasm/mod.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import type { AttributeColumn } from "../../shared/attributes.ts";
import type { JobSpec, StagedRow } from "../../shared/job_spec.ts";
import type { SliceContext, SliceOutput } from "../operation.ts";
import { WindowFilter } from "./window_filter.ts";
import {
  loadPartitionData,
  type PartitionData,
  PartitionDataCache,
  type Side,
  taskDataKey,
  vertexCount,
} from "./partition_data.ts";
import { reachMetres } from "./plan.ts";

/** What one vector operation does with a left feature and the right candidates its partition owns. */
export interface PairRule {
  /**
   * Emits the rows of left feature `i` with the owned candidates `mine` (in index order), sorted by right id;
   * returns the work spent (a unit is one vertex visited by an exact test, ≈ 0.1 µs).
   */
  exact(pairs: PairContext, i: number, mine: number[], rows: StagedRow[]): number;
  /** The SLO fallback's rows: the candidates whose bboxes meet stand in for exact pairs (`mine` sorted by right id). */
  approximate(pairs: PairContext, i: number, mine: number[], rows: StagedRow[]): number;
}

export interface PairContext {
  core: GeometryCore;
  spec: JobSpec;
  data: PartitionData;
  /** Adds to a stats counter of the task. */
  add(name: string, n: number): void;
}

/**
 * Inputs of the tasks this isolate ran lately. With the slice limit, the
 * budget keeps the isolate (128 MB on the platform, WASM heap included)
 * clear of its limit however many partitions it hosts.
 */
const inputs = new PartitionDataCache(32 * 2 ** 20);

export async function runOverlaySlice(rule: PairRule, context: SliceContext): Promise<SliceOutput> {
  const { task } = context;
  const core = await context.geometryCore();
  const key = taskDataKey(task.job_id, task.attempt, task.cell);
  let data = inputs.acquire(key);
  if (!data) {
    // The window bounds what is read: a job that reads nothing has no window and no tiles.
    using filter = new WindowFilter(core, context.window ?? []);
    data = inputs.insert(await loadPartitionData(context.bucket, task.spec, task.attempt, task.cell, filter));
  }
  try {
    const slice = computeSlice(rule, core, context, data);
    if (slice.done) inputs.release(key);
    return slice;
  } finally {
    inputs.unpin(key);
  }
}

/** Frees what a cancelled job holds in this isolate. */
export function releaseOverlayJob(jobId: string): void {
  inputs.releaseJob(jobId);
}

function computeSlice(rule: PairRule, core: GeometryCore, context: SliceContext, data: PartitionData): SliceOutput {
  const { task, workBudget, maxRows } = context;
  const stats: Record<string, number> = {};
  const add = (name: string, n: number) => (stats[name] = (stats[name] ?? 0) + n);
  if (task.next_offset === 0) {
    add("read_ms", data.readMs);
    add("index_ms", data.indexMs);
  }
  const pairs: PairContext = { core, spec: task.spec, data, add };
  const reach = reachMetres(task.spec);
  const rows: StagedRow[] = [];
  let work = 0;
  let i = task.next_offset;
  const attributes = task.spec.properties ?? [];
  for (; i < data.left.size && work < workBudget && rows.length < maxRows; i++) {
    const mine = ownedCandidates(pairs, reach, i);
    const from = rows.length;
    work += mine.length ? (task.spec.approximate ? rule.approximate : rule.exact)(pairs, i, mine, rows) : 1;
    if (attributes.length) copyAttributes(attributes, data, i, rows, from);
  }
  stats.work = work;
  stats.geos_heap_bytes = core.heapBytes;
  return { next_offset: i, rows, stats, done: i >= data.left.size };
}

/** Gives rows `from`… of left feature `i` the values of the copied attributes (null where a feature has none). */
function copyAttributes(
  attributes: readonly AttributeColumn[],
  data: PartitionData,
  i: number,
  rows: StagedRow[],
  from: number,
): void {
  const leftProperties = data.left.properties(i);
  for (let k = from; k < rows.length; k++) {
    const row = rows[k]!;
    const rightProperties = data.right.properties(data.right.indexOfId(row.r));
    row.a = attributes.map(({ side, name }) => (side === "left" ? leftProperties : rightProperties)[name] ?? null);
  }
}

/** The right candidates of left feature `i` whose pair this partition owns, in index order. */
function ownedCandidates(pairs: PairContext, reach: number, i: number): number[] {
  const { data, spec, add } = pairs;
  const { left, right, index } = data;
  const aBounds = left.box(i);
  const searchBoxes: Bbox[] = reach > 0 ? reachBoxes(aBounds, reach) : [aBounds];
  // A reach split at ±180° searches both pieces; a feature spanning both comes back once.
  const candidates = searchBoxes.length === 1
    ? index.search(...searchBoxes[0]!)
    : [...new Set(searchBoxes.flatMap((box) => index.search(...box)))];
  add("candidates", candidates.length);
  const ownerCells = reach === 0
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
  if (mine.length) add("exact_tests", mine.length);
  return mine;
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

/**
 * Calls `pair(j)` for each owned candidate `j` of left feature `i`, in right-id order (so rows come sorted);
 * returns the work: the vertices of both features of every pair tested.
 */
export function forEachPair(pairs: PairContext, i: number, mine: number[], pair: (j: number) => void): number {
  const { left, right } = pairs.data;
  const aVertices = vertexCount(left.feature(i));
  right.sortById(mine);
  let work = 0;
  for (const j of mine) {
    work += aVertices + vertexCount(right.feature(j));
    pair(j);
  }
  return work;
}

/** The GEOS geometry of feature `i` of a side, built once per task. */
export function geometryOf(core: GeometryCore, side: Side, i: number): Geometry {
  return side.geometries[i] ??= core.fromFeature(side.feature(i));
}

/** The prepared GEOS geometry of feature `i` of a side, built once per task. */
export function preparedOf(core: GeometryCore, side: Side, i: number): PreparedGeometry {
  return side.prepared[i] ??= geometryOf(core, side, i).prepared();
}
