/**
 * One-to-many Dijkstra over a blocked network, resumable: `advance` runs until the search is finished, its work
 * budget is spent, or it reaches a vertex whose block is not loaded (the caller loads it and advances again).
 *
 * Per-vertex state lives in flat arrays over the whole network (a {@link SearchScratch}), reused by the next search
 * on the same network: an epoch stamp per vertex says whether the current search wrote it, so a search neither
 * allocates nor clears state for the vertices it never reaches. With the 4-ary heap below: N2's whole-graph searches
 * on the generated million-edge network 0.83–0.90× the CPU of per-block arrays allocated per search and a binary
 * heap (least of 20 origins, 255–273 ms against 303–307 ms), N3's service areas about half
 * (`scripts/bench/network_core.ts --origins 20 --budgets 64`, alternating runs at load 15–20).
 *
 * Answers as pgRouting's `pgr_dijkstraCost` (to the given targets) and `pgr_drivingDistance` (every vertex with
 * `agg_cost <= maxCost`, the origin included at 0): the costs are the shortest sums of edge costs along the
 * directed graph; parallel edges take the cheaper.
 */
import type { BlockGraph } from "../../shared/network/block_codec.ts";
import type { BlockCache } from "./block_cache.ts";

const NONE = 0xffffffff;

/** The vertices a search settled, in settling order, as columns (no object per vertex): pgRouting ids, lon/lat, costs. */
export interface SettledVertices {
  vertexIds: number[];
  xy: number[];
  costs: number[];
}

export type Advance = { state: "done" } | { state: "paused" } | { state: "needs-block"; block: number };

/** Predecessor arrays, allocated only for searches whose paths are read (path geometry). */
interface Predecessors {
  vertex: Uint32Array;
  edge: Uint32Array;
}

/**
 * One search's per-vertex state, indexed by `base[block] + local`: 11 bytes a vertex (5.8 MB on the generated
 * million-edge network's 525,800 vertices), 19 with predecessors. `stamp` is `2 · epoch` for a vertex the search
 * reached and `2 · epoch + 1` once settled; anything lower is an earlier search's. `target` marks this search's
 * targets; a search unmarks them when it gives the state back.
 */
class SearchScratch {
  readonly base: Uint32Array;
  readonly dist: Float64Array;
  readonly stamp: Uint16Array;
  readonly target: Uint8Array;
  /** The frontier, reused too: a whole-graph search grows it to megabytes, which a new heap per search reallocated. */
  readonly heap = new MinHeap();
  #predecessors?: Predecessors;
  epoch = 0;

  constructor(cache: BlockCache) {
    const blocks = cache.layout.blocks;
    this.base = new Uint32Array(blocks.length);
    let n = 0;
    blocks.forEach((b, i) => {
      this.base[i] = n;
      n += b.vertex_count;
    });
    this.dist = new Float64Array(n);
    this.stamp = new Uint16Array(n);
    this.target = new Uint8Array(n);
  }

  get predecessors(): Predecessors {
    const n = this.dist.length;
    return this.#predecessors ??= { vertex: new Uint32Array(n), edge: new Uint32Array(n) };
  }

  /** Starts a new search: every vertex reads as unreached (the stamps are cleared once every 32,766 searches). */
  next(): number {
    if (this.epoch >= 0x7ffe) {
      this.stamp.fill(0);
      this.epoch = 0;
    }
    return ++this.epoch;
  }
}

/**
 * The scratch not in use, per network: a search takes it (or makes one when another search holds it: searches
 * interleave while they await blocks) and gives it back on `release`. One is kept, not one per search that ever ran
 * at once: once the blocks are loaded the searches of an isolate run one after the other.
 */
const idle = new WeakMap<BlockCache, SearchScratch>();

export class DijkstraSearch {
  readonly origin: number;
  readonly #cache: BlockCache;
  readonly #shift: number;
  readonly #mask: number;
  readonly #maxCost: number;
  #remainingTargets = 0;
  readonly #hasTargets: boolean;
  readonly #scratch: SearchScratch;
  readonly #reached: number;
  readonly #heap: MinHeap;
  /** Settled vertices in settling order (kept only when `recordSettled`). */
  readonly settled: SettledVertices = { vertexIds: [], xy: [], costs: [] };
  readonly #record: boolean;
  /** Set when the search's paths are read ({@link pathEdges}). */
  readonly #predecessors: Predecessors | undefined;
  /** Scratch indexes of the targets this search marked. */
  readonly #targets: number[] = [];
  #released = false;
  /** Edge relaxations and heap pops so far: the work measure. */
  work = 0;

  constructor(
    cache: BlockCache,
    origin: number,
    options: { maxCost?: number; targets?: Iterable<number>; recordSettled?: boolean; paths?: boolean },
  ) {
    this.#cache = cache;
    this.origin = origin;
    this.#shift = cache.layout.shift;
    this.#mask = (2 ** this.#shift) - 1;
    this.#maxCost = options.maxCost ?? Infinity;
    this.#record = options.recordSettled ?? false;
    const scratch = idle.get(cache) ?? new SearchScratch(cache);
    idle.delete(cache);
    this.#scratch = scratch;
    this.#heap = scratch.heap;
    this.#heap.clear();
    this.#reached = 2 * scratch.next();
    this.#hasTargets = options.targets !== undefined;
    for (const t of options.targets ?? []) {
      const g = this.#index(t);
      if (scratch.target[g] === 0) {
        scratch.target[g] = 1;
        this.#targets.push(g);
      }
    }
    this.#remainingTargets = this.#targets.length;
    const g = this.#index(origin);
    scratch.dist[g] = 0;
    scratch.stamp[g] = this.#reached;
    this.#predecessors = options.paths ? scratch.predecessors : undefined;
    if (this.#predecessors) this.#predecessors.vertex[g] = NONE;
    this.#heap.push(0, origin);
  }

  #index(ref: number): number {
    return this.#scratch.base[ref >>> this.#shift]! + (ref & this.#mask);
  }

  /** Runs until done, `budget` work units are spent, or a block must be loaded first. */
  advance(budget: number): Advance {
    let work = this.work;
    const stop = work + budget;
    const heap = this.#heap;
    const shift = this.#shift, mask = this.#mask, maxCost = this.#maxCost;
    const { base, dist, stamp, target } = this.#scratch;
    const predecessors = this.#predecessors;
    const reached = this.#reached, settledMark = reached + 1;
    // The block of the last vertex settled: its graph stays valid until this call returns (loads happen between).
    let block = -1;
    let offsets: Uint32Array | undefined, targets: Uint32Array | undefined, costs: Float64Array | undefined;
    let graph: BlockGraph | undefined;
    let result: Advance = { state: "done" };
    while (heap.size > 0) {
      if (work >= stop) {
        result = { state: "paused" };
        break;
      }
      const key = heap.peekKey();
      if (key > maxCost) break;
      const u = heap.peekValue();
      const ub = u >>> shift, ul = u & mask;
      const gu = base[ub]! + ul;
      if (stamp[gu] === settledMark || key > dist[gu]!) {
        heap.pop();
        work++;
        continue;
      }
      if (ub !== block) {
        graph = this.#cache.graph(ub);
        if (!graph) {
          result = { state: "needs-block", block: ub };
          break;
        }
        block = ub;
        offsets = graph.offsets;
        targets = graph.targets;
        costs = graph.costs;
      }
      heap.pop();
      stamp[gu] = settledMark;
      work += 4;
      if (this.#record) {
        const settled = this.settled;
        settled.vertexIds.push(graph!.vertexIds[ul]!);
        settled.xy.push(graph!.lonlat[2 * ul]!, graph!.lonlat[2 * ul + 1]!);
        settled.costs.push(key);
      }
      if (this.#hasTargets && target[gu] === 1 && --this.#remainingTargets === 0) break;
      const end = offsets![ul + 1]!;
      const start = offsets![ul]!;
      for (let e = start; e < end; e++) {
        const v = targets![e]!;
        const candidate = key + costs![e]!;
        const gv = base[v >>> shift]! + (v & mask);
        const sv = stamp[gv]!;
        if (sv < reached || (sv === reached && candidate < dist[gv]!)) {
          dist[gv] = candidate;
          stamp[gv] = reached;
          if (predecessors) {
            predecessors.vertex[gv] = u;
            predecessors.edge[gv] = e;
          }
          heap.push(candidate, v);
        }
      }
      work += end - start;
    }
    this.work = work;
    if (result.state === "done") this.#heap.clear();
    return result;
  }

  /** The settled cost of `ref`, or undefined when the search did not reach it (within `maxCost`). */
  costTo(ref: number): number | undefined {
    const g = this.#index(ref);
    return this.#scratch.stamp[g] === this.#reached + 1 ? this.#scratch.dist[g] : undefined;
  }

  /**
   * The path to a settled `ref` as (block, edge index) pairs from the origin on, for the caller to read lines.
   * @throws {TypeError} for a search made without `paths`.
   */
  pathEdges(ref: number): { block: number; edge: number }[] {
    const edges: { block: number; edge: number }[] = [];
    if (!this.#predecessors) throw new TypeError("This search keeps no predecessors: make it with `paths: true`.");
    const { vertex: predVertex, edge: predEdge } = this.#predecessors;
    let v = ref;
    for (;;) {
      const g = this.#index(v);
      const pred = predVertex[g]!;
      if (pred === NONE) break;
      edges.push({ block: pred >>> this.#shift, edge: predEdge[g]! });
      v = pred;
    }
    return edges.reverse();
  }

  /** Gives the search's state to the network's next search: call once its answers are read. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const g of this.#targets) this.#scratch.target[g] = 0;
    idle.set(this.#cache, this.#scratch);
  }
}
/**
 * A 4-ary min-heap of (cost, packed vertex) in parallel typed arrays; duplicates allowed (lazy deletion). Four
 * children a node halve the sift-down's depth against a binary heap for about the same comparisons.
 */
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
      const parent = (i - 1) >> 2;
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
      const first = 4 * i + 1;
      if (first >= n) break;
      let child = first;
      let least = keys[first]!;
      const last = Math.min(first + 4, n);
      for (let c = first + 1; c < last; c++) {
        if (keys[c]! < least) {
          least = keys[c]!;
          child = c;
        }
      }
      if (least >= key) break;
      keys[i] = least;
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
