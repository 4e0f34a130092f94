/**
 * The blocks of one pinned network as a partition holds them: loaded when a search (or a snap) first reaches
 * them, kept while every network's blocks in the isolate fit their {@link BlockBudget} together, least recently
 * used dropped first, whichever network it is of. A search never keeps a reference across a load, so dropping a
 * block only costs a re-read.
 */
import {
  type BlockGraph,
  type BlockLines,
  decodeBlockGraph,
  decodeBlockLines,
} from "../../shared/network/block_codec.ts";

/** What a partition knows of a network without reading it: its blocks in packed-reference order. */
export interface NetworkLayout {
  shift: number;
  blocks: readonly { vertex_count: number; bbox: readonly [number, number, number, number] }[];
}

/** Reads one block's graph or lines object. */
export type BlockReader = (block: number, part: "graph" | "lines") => Promise<Uint8Array>;

export interface CacheStats {
  block_reads: number;
  block_bytes_read: number;
  peak_block_bytes: number;
}

/** A loaded block part and when it was last used (the budget's tick). */
interface Slot<T> {
  value: T;
  bytes: number;
  used: number;
}

/**
 * The bytes the blocks of every network in an isolate hold together, at most `maxBytes` beside the block being
 * loaded (a search needs that one even alone over budget).
 */
export class BlockBudget {
  readonly #caches = new Set<BlockCache>();
  #held = 0;
  #peak = 0;
  tick = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes of blocks loaded now, every network's. */
  get heldBytes(): number {
    return this.#held;
  }

  /** The most bytes held at once. */
  get peakBytes(): number {
    return this.#peak;
  }

  join(cache: BlockCache): void {
    this.#caches.add(cache);
  }

  /** A network no task uses any more: its blocks no longer count (they go with the cache). */
  leave(cache: BlockCache): void {
    if (this.#caches.delete(cache)) this.#held -= cache.heldBytes;
  }

  /**
   * Counts `bytes` that `cache` just loaded, then drops the least recently used blocks of any network but `keep` to
   * fit. A cache that left (a slice still running on it) is not counted: its blocks go with it.
   */
  add(cache: BlockCache, bytes: number, keep: Slot<unknown>): void {
    if (!this.#caches.has(cache)) return;
    this.#held += bytes;
    this.#peak = Math.max(this.#peak, this.#held);
    while (this.#held > this.maxBytes) {
      let oldest: { cache: BlockCache; used: number } | undefined;
      for (const cache of this.#caches) {
        const used = cache.oldestUse(keep);
        if (used !== undefined && (!oldest || used < oldest.used)) oldest = { cache, used };
      }
      if (!oldest) return;
      this.#held -= oldest.cache.dropOldest(keep);
    }
  }
}

/**
 * Slots live in arrays indexed by block and recency is a tick per slot: a search asks for a block's graph each time
 * it crosses into another block, and the Map of string keys re-inserted on each ask (an LRU by insertion order)
 * allocated ~14 MiB of garbage per whole-graph search on the million-edge network. Eviction scans the slots, which
 * is rare and cheap beside a block read.
 */
export class BlockCache {
  readonly layout: NetworkLayout;
  readonly #read: BlockReader;
  readonly #budget: BlockBudget;
  readonly #graphs: (Slot<BlockGraph> | undefined)[] = [];
  readonly #lines: (Slot<BlockLines> | undefined)[] = [];
  #bytes = 0;
  readonly stats: CacheStats = { block_reads: 0, block_bytes_read: 0, peak_block_bytes: 0 };

  /** `budget`: shared with other networks' caches, or a byte count for this cache alone. */
  constructor(layout: NetworkLayout, read: BlockReader, budget: BlockBudget | number) {
    this.layout = layout;
    this.#read = read;
    this.#budget = typeof budget === "number" ? new BlockBudget(budget) : budget;
    this.#budget.join(this);
  }

  /** Bytes of this network's blocks loaded now. */
  get heldBytes(): number {
    return this.#bytes;
  }

  /** The block's graph if it is loaded (and marks it recently used). */
  graph(block: number): BlockGraph | undefined {
    const slot = this.#graphs[block];
    if (!slot) return undefined;
    slot.used = ++this.#budget.tick;
    return slot.value;
  }

  async loadGraph(block: number): Promise<BlockGraph> {
    const loaded = this.graph(block);
    if (loaded) return loaded;
    const bytes = await this.#fetch(block, "graph");
    return this.#put(this.#graphs, block, bytes, decodeBlockGraph);
  }

  async loadLines(block: number): Promise<BlockLines> {
    const slot = this.#lines[block];
    if (slot) {
      slot.used = ++this.#budget.tick;
      return slot.value;
    }
    const bytes = await this.#fetch(block, "lines");
    return this.#put(this.#lines, block, bytes, decodeBlockLines);
  }

  /** The use tick of this network's least recently used block but `keep`; undefined when there is none. */
  oldestUse(keep: Slot<unknown>): number | undefined {
    return this.#oldest(keep)?.used;
  }

  /** Drops this network's least recently used block but `keep`; answers its bytes. */
  dropOldest(keep: Slot<unknown>): number {
    const oldest = this.#oldest(keep);
    if (!oldest) return 0;
    const bytes = oldest.slots[oldest.block]!.bytes;
    oldest.slots[oldest.block] = undefined;
    this.#bytes -= bytes;
    return bytes;
  }

  #oldest(keep: Slot<unknown>) {
    let oldest: { slots: (Slot<unknown> | undefined)[]; block: number; used: number } | undefined;
    for (const slots of [this.#graphs, this.#lines] as (Slot<unknown> | undefined)[][]) {
      slots.forEach((slot, block) => {
        if (slot && slot !== keep && (!oldest || slot.used < oldest.used)) oldest = { slots, block, used: slot.used };
      });
    }
    return oldest;
  }

  async #fetch(block: number, part: "graph" | "lines"): Promise<Uint8Array> {
    const bytes = await this.#read(block, part);
    this.stats.block_reads++;
    this.stats.block_bytes_read += bytes.byteLength;
    return bytes;
  }

  #put<T>(slots: (Slot<T> | undefined)[], block: number, bytes: Uint8Array, decode: (bytes: Uint8Array) => T): T {
    // Another search may have loaded it meanwhile.
    const existing = slots[block];
    if (existing) {
      existing.used = ++this.#budget.tick;
      return existing.value;
    }
    const slot = { value: decode(bytes), bytes: bytes.byteLength, used: ++this.#budget.tick };
    slots[block] = slot;
    this.#bytes += slot.bytes;
    this.stats.peak_block_bytes = Math.max(this.stats.peak_block_bytes, this.#bytes);
    this.#budget.add(this, slot.bytes, slot);
    return slot.value;
  }
}
