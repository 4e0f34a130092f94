/**
 * One-to-many Dijkstra over a blocked network, resumable: `advance` runs until the search is finished, its work
 * budget is spent, or it reaches a vertex whose block is not loaded (the caller loads it and advances again).
 * Per-vertex state lives in arrays per block, allocated when the search first touches the block, so a search
 * that stays local stays small.
 *
 * Answers as pgRouting's `pgr_dijkstraCost` (to the given targets) and `pgr_drivingDistance` (every vertex with
 * `agg_cost <= maxCost`, the origin included at 0): the costs are the shortest sums of edge costs along the
 * directed graph; parallel edges take the cheaper.
 */
import type { BlockCache } from "./block_cache.ts";

const NONE = 0xffffffff;

interface BlockState {
  dist: Float64Array;
  /** Packed reference of the predecessor vertex (NONE at the origin). */
  predVertex: Uint32Array;
  /** Index of the directed edge from the predecessor, in the predecessor's block. */
  predEdge: Uint32Array;
  settled: Uint8Array;
}

/** A vertex the search settled: packed reference, pgRouting id, coordinates, cost. */
export interface Settled {
  ref: number;
  vertexId: number;
  x: number;
  y: number;
  cost: number;
}

export type Advance = { state: "done" } | { state: "paused" } | { state: "needs-block"; block: number };

export class DijkstraSearch {
  readonly origin: number;
  readonly #cache: BlockCache;
  readonly #shift: number;
  readonly #mask: number;
  readonly #maxCost: number;
  readonly #targets: Set<number> | null;
  #remainingTargets: number;
  readonly #states: (BlockState | undefined)[];
  readonly #heap = new MinHeap();
  /** Settled vertices in settling order (kept only when `recordSettled`). */
  readonly settled: Settled[] = [];
  readonly #record: boolean;
  /** Edge relaxations and heap pops so far: the work measure. */
  work = 0;

  constructor(
    cache: BlockCache,
    origin: number,
    options: { maxCost?: number; targets?: Iterable<number>; recordSettled?: boolean },
  ) {
    this.#cache = cache;
    this.origin = origin;
    this.#shift = cache.layout.shift;
    this.#mask = (2 ** this.#shift) - 1;
    this.#maxCost = options.maxCost ?? Infinity;
    this.#targets = options.targets ? new Set(options.targets) : null;
    this.#remainingTargets = this.#targets?.size ?? 0;
    this.#record = options.recordSettled ?? false;
    this.#states = new Array(cache.layout.blocks.length);
    const s = this.#state(origin >>> this.#shift);
    s.dist[origin & this.#mask] = 0;
    this.#heap.push(0, origin);
  }

  #state(block: number): BlockState {
    let s = this.#states[block];
    if (!s) {
      const n = this.#cache.layout.blocks[block]!.vertex_count;
      s = {
        dist: new Float64Array(n).fill(Infinity),
        predVertex: new Uint32Array(n).fill(NONE),
        predEdge: new Uint32Array(n),
        settled: new Uint8Array(n),
      };
      this.#states[block] = s;
    }
    return s;
  }

  /** Runs until done, `budget` work units are spent, or a block must be loaded first. */
  advance(budget: number): Advance {
    const stop = this.work + budget;
    const heap = this.#heap;
    const shift = this.#shift, mask = this.#mask;
    while (heap.size > 0) {
      if (this.work >= stop) return { state: "paused" };
      const key = heap.peekKey();
      if (key > this.#maxCost) break;
      const u = heap.peekValue();
      const ub = u >>> shift, ul = u & mask;
      const us = this.#states[ub]!;
      if (us.settled[ul] || key > us.dist[ul]!) {
        heap.pop();
        this.work++;
        continue;
      }
      const graph = this.#cache.graph(ub);
      if (!graph) return { state: "needs-block", block: ub };
      heap.pop();
      us.settled[ul] = 1;
      this.work += 4;
      if (this.#record) {
        this.settled.push({
          ref: u,
          vertexId: graph.vertexIds[ul]!,
          x: graph.lonlat[2 * ul]!,
          y: graph.lonlat[2 * ul + 1]!,
          cost: key,
        });
      }
      if (this.#targets?.has(u) && --this.#remainingTargets === 0) return this.#finish();
      const end = graph.offsets[ul + 1]!;
      for (let e = graph.offsets[ul]!; e < end; e++) {
        const v = graph.targets[e]!;
        const candidate = key + graph.costs[e]!;
        const vb = v >>> shift, vl = v & mask;
        const vs = this.#states[vb] ?? this.#state(vb);
        if (candidate < vs.dist[vl]!) {
          vs.dist[vl] = candidate;
          vs.predVertex[vl] = u;
          vs.predEdge[vl] = e;
          heap.push(candidate, v);
        }
      }
      this.work += end - graph.offsets[ul]!;
    }
    return this.#finish();
  }

  #finish(): Advance {
    this.#heap.clear();
    return { state: "done" };
  }

  /** The settled cost of `ref`, or undefined when the search did not reach it (within `maxCost`). */
  costTo(ref: number): number | undefined {
    const s = this.#states[ref >>> this.#shift];
    const local = ref & this.#mask;
    return s?.settled[local] ? s.dist[local] : undefined;
  }

  /**
   * The path to a settled `ref` as (block, edge index) pairs from the origin on, for the caller to read lines.
   */
  pathEdges(ref: number): { block: number; edge: number }[] {
    const edges: { block: number; edge: number }[] = [];
    let v = ref;
    for (;;) {
      const s = this.#states[v >>> this.#shift]!;
      const local = v & this.#mask;
      const pred = s.predVertex[local]!;
      if (pred === NONE) break;
      edges.push({ block: pred >>> this.#shift, edge: s.predEdge[local]! });
      v = pred;
    }
    return edges.reverse();
  }
}

/** A binary min-heap of (cost, packed vertex) in parallel typed arrays; duplicates allowed (lazy deletion). */
class MinHeap {
  #keys = new Float64Array(1024);
  #values = new Uint32Array(1024);
  size = 0;

  push(key: number, value: number): void {
    if (this.size === this.#keys.length) {
      const keys = new Float64Array(this.size * 2);
      keys.set(this.#keys);
      const values = new Uint32Array(this.size * 2);
      values.set(this.#values);
      this.#keys = keys;
      this.#values = values;
    }
    const keys = this.#keys, values = this.#values;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      values[i] = values[parent]!;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  peekKey(): number {
    return this.#keys[0]!;
  }

  peekValue(): number {
    return this.#values[0]!;
  }

  pop(): void {
    const keys = this.#keys, values = this.#values;
    const n = --this.size;
    if (n === 0) return;
    const key = keys[n]!, value = values[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= key) break;
      keys[i] = keys[child]!;
      values[i] = values[child]!;
      i = child;
    }
    keys[i] = key;
    values[i] = value;
  }

  clear(): void {
    this.size = 0;
  }
}
