/**
 * A partition's inputs for one task: the features of both sides read from
 * their tiles, the right side's index, and the GEOS geometries built from
 * them on demand. Kept across the task's slices in an isolate-wide cache:
 * locally (and often deployed) many partition objects share one isolate, and
 * a single slot would make interleaved partitions re-read and re-build their
 * tiles at every slice.
 */
import { R2TileReader, type TileBucket } from "../../shared/tiles/fgb_reader.ts";
import type { PointColumns } from "../../shared/tiles/fgb_features.ts";
import { inlineTileBucket } from "../../shared/tiles/inline_tile.ts";
import { storedCells } from "../../shared/tiles/tiling.ts";
import { compareFeatureIds, type FeatureId, type FlatGeometry, isU32Id } from "../../wasm/flat_geometry.ts";
import {
  flatBoundsInto,
  type FlatFeature,
  type Geometry,
  type PreparedGeometry,
  SpatialIndex,
} from "../../wasm/mod.ts";
import { type JobSpec, memberCells, type TileRef } from "../../shared/job_spec.ts";
import { specForPartition } from "./plan.ts";
import { bboxesIntersect } from "../../shared/tiles/geometry_bbox.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import type { WindowFilter } from "./window_filter.ts";

export interface PartitionData {
  key: string;
  left: Side;
  right: Side;
  index: SpatialIndex;
  /** The tile cells this partition runs: it emits the pairs whose owner cell is one of them. */
  ownCells: ReadonlySet<string>;
  readMs: number;
  indexMs: number;
  /** Estimated isolate memory the entry holds (JS copies, GEOS geometries and prepared indexes). */
  bytes: number;
}

/** The cache key of a task's inputs: one attempt of one job in one cell. */
export function taskDataKey(jobId: string, attempt: number, cell: string): string {
  return `${jobId}/${attempt}/${cell}`;
}

/**
 * Reads a task's features from R2 (both sides filtered by the job's bbox, then by its window: nothing outside the
 * window is ever read) and indexes the right side.
 */
export async function loadPartitionData(
  bucket: TileBucket,
  spec: JobSpec,
  attempt: number,
  cell: string,
  window: WindowFilter,
): Promise<PartitionData> {
  const readStarted = Date.now();
  const own = specForPartition(spec, cell);
  const [rightRead, leftRead] = await Promise.all([
    readTiles(bucket, own.right.tiles, spec.bbox, window, spec.shards?.[cell]),
    readTiles(bucket, own.left.tiles, spec.bbox, window),
  ]);
  const readMs = Date.now() - readStarted;

  const indexStarted = Date.now();
  const right = new Side(rightRead);
  const index = right.pointXY ? SpatialIndex.fromPoints(right.pointXY) : SpatialIndex.fromBoxes(right.boxes!);
  const left = new Side(sortedById(leftRead));
  return {
    key: taskDataKey(spec.job_id, attempt, cell),
    left,
    right,
    index,
    ownCells: new Set(memberCells(spec, cell)),
    readMs,
    indexMs: Date.now() - indexStarted,
    bytes: left.estimatedBytes + right.estimatedBytes,
  };
}

/**
 * Partition inputs by task key, least recently used first out once the
 * estimated bytes pass the budget. An entry in use by a running slice is
 * pinned: it is never freed under the slice (its GEOS objects stay valid).
 */
export class PartitionDataCache {
  readonly #entries = new Map<string, { data: PartitionData; pins: number; released: boolean }>();

  constructor(readonly budgetBytes: number) {}

  get bytes(): number {
    let total = 0;
    for (const { data } of this.#entries.values()) total += data.bytes;
    return total;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached inputs of `key`, pinned (call {@link unpin} when done), or undefined. */
  acquire(key: string): PartitionData | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key); // re-insert: most recently used last
    this.#entries.set(key, entry);
    entry.pins++;
    return entry.data;
  }

  /** Adds freshly loaded inputs, pinned, evicting unpinned entries over the budget (oldest first). */
  insert(data: PartitionData): PartitionData {
    const existing = this.#entries.get(data.key);
    if (existing) {
      // Two slices of one task loaded concurrently: keep the first, free the newcomer.
      freeData(data);
      existing.pins++;
      return existing.data;
    }
    this.#entries.set(data.key, { data, pins: 1, released: false });
    this.#evictOverBudget();
    return data;
  }

  unpin(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.pins--;
    if (entry.pins <= 0 && entry.released) this.#drop(key);
    else this.#evictOverBudget();
  }

  /** Frees an entry now, or when its last slice unpins it. */
  release(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.released = true;
    if (entry.pins <= 0) this.#drop(key);
  }

  /** Releases every entry of a job (all attempts and cells). */
  releaseJob(jobId: string): void {
    for (const key of [...this.#entries.keys()]) if (key.startsWith(`${jobId}/`)) this.release(key);
  }

  #evictOverBudget(): void {
    let total = this.bytes;
    for (const [key, entry] of this.#entries) {
      if (total <= this.budgetBytes) return;
      if (entry.pins > 0) continue;
      total -= entry.data.bytes;
      this.#drop(key);
    }
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    freeData(entry.data);
  }
}

/** Frees every GEOS object the inputs hold (the WASM heap never shrinks: it is reused). */
function freeData(data: PartitionData): void {
  for (const s of [data.left, data.right]) {
    for (const p of s.prepared) p?.free();
    for (const g of s.geometries) g?.free();
  }
}

/**
 * Features read from tiles, each with the sorted tile cells it touches: as
 * objects, or (a side of point tiles) as columns.
 */
interface TileFeatures {
  features?: FlatFeature[];
  points?: PointColumns;
  cells: string[][];
}

/**
 * The features of the tiles whose bbox meets `filter` and that intersect `window`, each once (a feature is in
 * every tile it touches: it is kept from the first of them in `tiles`' order). With a `share` `[index, count]`,
 * only the index-th of `count` equal runs of the tiles' features by position (a shard's right side) is read: each
 * feature falls in one share, and a hot cell's shards each read and decode their own run, not the whole tile.
 */
async function readTiles(
  bucket: TileBucket,
  tiles: Record<string, TileRef>,
  filter: Bbox | null,
  window: WindowFilter,
  share?: readonly [index: number, count: number],
): Promise<TileFeatures> {
  const entries = Object.entries(tiles);
  const runs = share ? shareRuns(entries.map(([, tile]) => tile.feature_count), ...share) : undefined;
  const read = await Promise.all(entries.map(async ([, tile], t) => {
    const features = await readTile(bucket, tile, filter, runs?.[t]);
    return window.covers(tile.bbox) ? features : inWindow(features, window);
  }));
  if (read.every((r) => !Array.isArray(r))) {
    // Points are in one cell, so in one tile: columns concatenate, no deduplication.
    const columns = read as PointColumns[];
    const xy = new Float64Array(columns.reduce((n, c) => n + c.xy.length, 0));
    const points: PointColumns = { ids: [], xy };
    const cells: string[][] = [];
    columns.forEach((c, t) => {
      xy.set(c.xy, points.ids.length * 2);
      for (const id of c.ids) points.ids.push(id);
      const tileCells = [entries[t]![0]];
      for (let k = 0; k < c.ids.length; k++) cells.push(tileCells);
    });
    return { points, cells };
  }
  const out = { features: [] as FlatFeature[], cells: [] as string[][] };
  const order = new Map(entries.map(([cell], t) => [cell, t]));
  read.forEach((r, t) => {
    const cell = entries[t]![0];
    const tileCells = [cell];
    for (const feature of Array.isArray(r) ? r : pointFeatures(r)) {
      const cells = storedCells(feature, cell);
      // A feature in one cell is in one tile only (points, most small polygons): nothing to deduplicate.
      if (cells.length > 1 && cells.some((c) => (order.get(c) ?? t) < t)) continue;
      out.features.push(feature);
      out.cells.push(cells.length === 1 && cells[0] === cell ? tileCells : cells);
    }
  });
  return out;
}

/**
 * The positions `[from, to)` in each of tiles of `counts` features that make the index-th of `count` equal runs of
 * their concatenation.
 */
export function shareRuns(counts: readonly number[], index: number, count: number): [from: number, to: number][] {
  const total = counts.reduce((n, c) => n + c, 0);
  const [from, to] = [Math.floor((index * total) / count), Math.floor(((index + 1) * total) / count)];
  let base = 0;
  return counts.map((n) => {
    const run: [number, number] = [Math.min(n, Math.max(0, from - base)), Math.min(n, Math.max(0, to - base))];
    base += n;
    return run;
  });
}

/**
 * The tile's features whose bbox meets `filter` (PostGIS `&&`): ranged reads
 * on large tiles; without a filter, all of them (a large tile's feature
 * section only, without its index), as columns when they are bare points.
 * With a `run`, the features at those positions only, then filtered.
 */
async function readTile(
  bucket: TileBucket,
  tile: TileRef,
  filter: Bbox | null,
  run?: readonly [from: number, to: number],
): Promise<FlatFeature[] | PointColumns> {
  if (run && run[0] >= run[1]) return { ids: [], xy: new Float64Array(0) };
  const reader = await R2TileReader.open(tile.inline ? inlineTileBucket(tile.inline) : bucket, tile.key, {
    size: tile.bytes,
  });
  if (run) {
    const read = await reader.between(...run);
    return filter ? keepBoxes(read, (b) => bboxesIntersect([b[0]!, b[1]!, b[2]!, b[3]!], filter)) : read;
  }
  if (filter) return await reader.collect(filter);
  return await reader.allPoints() ?? await reader.all();
}

/** The features of a tile that straddles the window's edge that intersect it. */
function inWindow(read: FlatFeature[] | PointColumns, window: WindowFilter): FlatFeature[] | PointColumns {
  return keepBoxes(read, (box, feature) => feature ? window.keeps(feature, box) : window.covers(box));
}

/** The features (or points) that `keep` keeps, given each one's bbox (and the feature, when not a point column). */
function keepBoxes(
  read: FlatFeature[] | PointColumns,
  keep: (box: ArrayLike<number>, feature?: FlatFeature) => boolean,
): FlatFeature[] | PointColumns {
  if (Array.isArray(read)) {
    const box = new Float64Array(4);
    return read.filter((feature) => {
      flatBoundsInto(feature.geometry, box, 0);
      return keep(box, feature);
    });
  }
  const ids: FeatureId[] = [];
  const xy: number[] = [];
  for (let i = 0; i < read.ids.length; i++) {
    const x = read.xy[2 * i]!, y = read.xy[2 * i + 1]!;
    if (!keep([x, y, x, y])) continue;
    ids.push(read.ids[i]!);
    xy.push(x, y);
  }
  return { ids, xy: new Float64Array(xy) };
}

function pointFeatures({ ids, xy }: PointColumns): FlatFeature[] {
  return ids.map((id, i) => ({ id, geometry: { kind: "Point", xy: xy.subarray(2 * i, 2 * i + 2) } }));
}

function sortedById(read: TileFeatures): TileFeatures {
  const ids = read.points?.ids ?? read.features!.map((f) => f.id);
  const order = ids.map((_, i) => i).sort((a, b) => compareFeatureIds(ids[a]!, ids[b]!));
  const cells = order.map((i) => read.cells[i]!);
  if (read.features) return { features: order.map((i) => read.features![i]!), cells };
  const xy = new Float64Array(read.points!.xy.length);
  order.forEach((from, to) => {
    xy[2 * to] = read.points!.xy[2 * from]!;
    xy[2 * to + 1] = read.points!.xy[2 * from + 1]!;
  });
  return { points: { ids: order.map((i) => ids[i]!), xy }, cells };
}

/**
 * One side of a partition's inputs: features by position, their cells and
 * bboxes, and the GEOS objects built from them on demand. A side of point
 * tiles keeps its points as columns and builds a feature object only when
 * one is asked for (a million points would be a million objects).
 */
export class Side {
  readonly size: number;
  readonly cells: string[][];
  /** Feature i's bbox at 4i…4i + 3 (absent for a point side: its points are their bboxes). */
  readonly boxes?: Float64Array;
  readonly geometries: (Geometry | undefined)[];
  readonly prepared: (PreparedGeometry | undefined)[];
  /** Memo of the executor's rectangle test: undefined until asked. */
  readonly rectangles: (Bbox | null | undefined)[];
  /** Every feature is a Point or MultiPoint. */
  readonly allPoints: boolean;
  /** Every feature's coordinates when each is a Point (x, y at 2i, 2i + 1): bulk point tests read them in place. */
  readonly pointXY?: Float64Array;
  /** Every feature's id when all are numbers: candidate sorts compare these instead of the features' ids. */
  readonly numericIds?: Float64Array;
  /** Every id is an integer in [0, 2^32): candidates sort as packed keys ({@link sortById}). */
  readonly packableIds: boolean = false;
  readonly #features?: FlatFeature[];
  readonly #ids?: FeatureId[];
  #positions?: Map<FeatureId, number>;

  constructor({ features, points, cells }: TileFeatures) {
    this.cells = cells;
    if (points) {
      this.size = points.ids.length;
      this.#ids = points.ids;
      this.pointXY = points.xy;
      this.allPoints = this.size > 0;
    } else {
      const n = this.size = features!.length;
      this.#features = features;
      const boxes = this.boxes = new Float64Array(4 * n);
      let allPoints = n > 0, onlyPoints = n > 0;
      for (let i = 0; i < n; i++) {
        const { geometry } = features![i]!;
        flatBoundsInto(geometry, boxes, 4 * i);
        if (geometry.kind !== "Point") {
          onlyPoints = false;
          if (geometry.kind !== "MultiPoint") allPoints = false;
        }
      }
      this.allPoints = allPoints;
      if (onlyPoints) {
        const xy = this.pointXY = new Float64Array(2 * n);
        for (let i = 0; i < n; i++) {
          const p = features![i]!.geometry.xy;
          xy[2 * i] = p[0]!;
          xy[2 * i + 1] = p[1]!;
        }
      }
    }
    let numericIds = true;
    for (let i = 0; i < this.size && numericIds; i++) numericIds = typeof this.id(i) === "number";
    if (numericIds) {
      const ids = this.numericIds = new Float64Array(this.size);
      let packable = true;
      for (let i = 0; i < this.size; i++) {
        const id = ids[i] = this.id(i) as number;
        packable &&= isU32Id(id);
      }
      this.packableIds = packable;
    }
    this.geometries = new Array(this.size);
    this.prepared = new Array(this.size);
    this.rectangles = new Array(this.size);
  }

  id(i: number): FeatureId {
    return this.#ids ? this.#ids[i]! : this.#features![i]!.id;
  }

  geometry(i: number): FlatGeometry {
    if (this.#features) return this.#features[i]!.geometry;
    return { kind: "Point", xy: this.pointXY!.subarray(2 * i, 2 * i + 2) };
  }

  /** Feature i: a fresh object on a point side (keep what you need of it, not it). */
  feature(i: number): FlatFeature {
    return this.#features ? this.#features[i]! : { id: this.#ids![i]!, geometry: this.geometry(i) };
  }

  /**
   * Sorts feature indexes `js` by feature id, in place. Small non-negative integer ids sort as packed doubles in
   * a typed array, natively: a comparator call per comparison cost more than the point tests whose hits it orders.
   */
  sortById(js: number[]): number[] {
    const ids = this.numericIds;
    if (!ids) return js.sort((x, y) => compareFeatureIds(this.id(x), this.id(y)));
    if (!this.packableIds || js.length > PACKED_POSITIONS) return js.sort((x, y) => ids[x]! - ids[y]!);
    const keys = new Float64Array(js.length);
    for (let k = 0; k < js.length; k++) keys[k] = ids[js[k]!]! * PACKED_POSITIONS + k;
    keys.sort();
    const order = js.slice();
    for (let k = 0; k < js.length; k++) js[k] = order[keys[k]! % PACKED_POSITIONS]!;
    return js;
  }

  /** Feature i's properties (none for a side of bare points). */
  properties(i: number): Readonly<Record<string, unknown>> {
    return this.#features?.[i]?.properties ?? NO_PROPERTIES;
  }

  /** The position of the feature with this id (ids are unique within a side). */
  indexOfId(id: FeatureId): number {
    if (!this.#positions) {
      this.#positions = new Map();
      for (let i = 0; i < this.size; i++) this.#positions.set(this.id(i), i);
    }
    const i = this.#positions.get(id);
    if (i === undefined) throw new RangeError(`No feature ${JSON.stringify(id)} on this side`);
    return i;
  }

  box(i: number): Bbox {
    if (this.boxes) {
      const b = this.boxes;
      return [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
    }
    const x = this.pointXY![2 * i]!, y = this.pointXY![2 * i + 1]!;
    return [x, y, x, y];
  }

  /** Estimated isolate memory the side holds (JS copies; GEOS geometries and prepared indexes as they come). */
  get estimatedBytes(): number {
    if (!this.#features) return this.size * BYTES_PER_POINT_COLUMNS;
    let vertices = 0;
    for (const f of this.#features) vertices += vertexCount(f);
    return vertices * BYTES_PER_VERTEX + this.size * BYTES_PER_FEATURE;
  }
}

const NO_PROPERTIES: Readonly<Record<string, unknown>> = Object.freeze({});

/** A side of these features (each with its sorted tile cells). */
export function sideOf(features: FlatFeature[], cells: string[][]): Side {
  return new Side({ features, cells });
}

/**
 * Bytes per coordinate pair held for a feature: its Float64 copy in JS (16),
 * GEOS's own coordinate sequence (≈ 24 with overhead) and, when prepared, its
 * segment index (≈ 48); per feature, the object, bbox and cell list (≈ 400).
 * A point kept in columns: x, y, its id twice, its cells reference, its slots
 * in the per-feature memo arrays and its share of the index (≈ 112).
 */
const BYTES_PER_VERTEX = 88;
const BYTES_PER_FEATURE = 400;
const BYTES_PER_POINT_COLUMNS = 112;
/** Positions a packed sort key holds: `id · 2^21 + position` stays an exact double for ids below 2^32. */
const PACKED_POSITIONS = 2 ** 21;

export function vertexCount(feature: FlatFeature): number {
  const g = feature.geometry;
  let n = g.xy.length >> 1;
  for (const part of g.parts ?? []) n += part.xy.length >> 1;
  return n;
}
