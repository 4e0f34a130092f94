/**
 * The blocks of one pinned network as a partition holds them: loaded when a search (or a snap) first reaches
 * them, kept while they fit `budgetBytes`, least recently used dropped first. A search never keeps a reference
 * across a load, so dropping a block only costs a re-read.
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

/** A loaded block part and when it was last used (the cache's tick). */
interface Slot<T> {
  value: T;
  bytes: number;
  used: number;
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
  readonly #budget: number;
  readonly #graphs: (Slot<BlockGraph> | undefined)[] = [];
  readonly #lines: (Slot<BlockLines> | undefined)[] = [];
  #tick = 0;
  #bytes = 0;
  readonly stats: CacheStats = { block_reads: 0, block_bytes_read: 0, peak_block_bytes: 0 };

  constructor(layout: NetworkLayout, read: BlockReader, budgetBytes: number) {
    this.layout = layout;
    this.#read = read;
    this.#budget = budgetBytes;
  }

  /** The block's graph if it is loaded (and marks it recently used). */
  graph(block: number): BlockGraph | undefined {
    const slot = this.#graphs[block];
    if (!slot) return undefined;
    slot.used = ++this.#tick;
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
      slot.used = ++this.#tick;
      return slot.value;
    }
    const bytes = await this.#fetch(block, "lines");
    return this.#put(this.#lines, block, bytes, decodeBlockLines);
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
      existing.used = ++this.#tick;
      return existing.value;
    }
    const slot = { value: decode(bytes), bytes: bytes.byteLength, used: ++this.#tick };
    slots[block] = slot;
    this.#bytes += slot.bytes;
    this.stats.peak_block_bytes = Math.max(this.stats.peak_block_bytes, this.#bytes);
    // The newest slot always stays, even alone over budget: the search needs it now.
    while (this.#bytes > this.#budget && this.#evictOldest(slot)) { /* until it fits */ }
    return slot.value;
  }

  /** Drops the least recently used slot but `keep`; false when there is none. */
  #evictOldest(keep: Slot<unknown>): boolean {
    let oldest: { slots: (Slot<unknown> | undefined)[]; block: number; used: number } | undefined;
    for (const slots of [this.#graphs, this.#lines] as (Slot<unknown> | undefined)[][]) {
      slots.forEach((slot, block) => {
        if (slot && slot !== keep && (!oldest || slot.used < oldest.used)) oldest = { slots, block, used: slot.used };
      });
    }
    if (!oldest) return false;
    this.#bytes -= oldest.slots[oldest.block]!.bytes;
    oldest.slots[oldest.block] = undefined;
    return true;
  }
}
