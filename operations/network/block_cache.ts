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

type Entry = { bytes: number; graph?: BlockGraph; lines?: BlockLines };

export class BlockCache {
  readonly layout: NetworkLayout;
  readonly #read: BlockReader;
  readonly #budget: number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  readonly stats: CacheStats = { block_reads: 0, block_bytes_read: 0, peak_block_bytes: 0 };

  constructor(layout: NetworkLayout, read: BlockReader, budgetBytes: number) {
    this.layout = layout;
    this.#read = read;
    this.#budget = budgetBytes;
  }

  /** The block's graph if it is loaded (and marks it recently used). */
  graph(block: number): BlockGraph | undefined {
    return this.#touch(`g${block}`)?.graph;
  }

  async loadGraph(block: number): Promise<BlockGraph> {
    return this.graph(block) ?? this.#put(`g${block}`, await this.#fetch(block, "graph"), (b) => ({
      graph: decodeBlockGraph(b),
    })).graph!;
  }

  async loadLines(block: number): Promise<BlockLines> {
    return this.#touch(`l${block}`)?.lines ??
      this.#put(`l${block}`, await this.#fetch(block, "lines"), (b) => ({ lines: decodeBlockLines(b) })).lines!;
  }

  async #fetch(block: number, part: "graph" | "lines"): Promise<Uint8Array> {
    const bytes = await this.#read(block, part);
    this.stats.block_reads++;
    this.stats.block_bytes_read += bytes.byteLength;
    return bytes;
  }

  #touch(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #put(key: string, bytes: Uint8Array, decode: (bytes: Uint8Array) => Omit<Entry, "bytes">): Entry {
    const existing = this.#touch(key);
    if (existing) return existing;
    const entry = { bytes: bytes.byteLength, ...decode(bytes) };
    this.#entries.set(key, entry);
    this.#grow(entry.bytes);
    return entry;
  }

  #grow(bytes: number): void {
    this.#bytes += bytes;
    this.stats.peak_block_bytes = Math.max(this.stats.peak_block_bytes, this.#bytes);
    // The newest entry always stays, even alone over budget: the search needs it now.
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#budget || this.#entries.size <= 1) break;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes;
    }
  }
}
