/**
 * Every partition's staged rows in (left_id, right_id) order: a k-way merge
 * over the part objects (part_codec.ts), holding one part object per
 * partition at a time whatever the result's size.
 */
import type { FeatureId } from "../../wasm/flat_geometry.ts";
import { PartReader } from "./part_codec.ts";
import { RowHeap } from "./result_order.ts";

/** A partition's finished share as the ledger records it. */
export interface PartSummary {
  cell: string;
  part_keys: string[];
  feature_count: number;
  stats: Record<string, number>;
}

/**
 * Every partition's rows in (left_id, right_id) order: a k-way merge over a
 * heap of part cursors. Synchronous but where a part object must be fetched:
 * an await per row would cost more than the row's encoding.
 */
export class PartMerge {
  readonly #heap: RowHeap<PartCursor>;
  /** The top cursor's row was handed out: move it on before the next. */
  #handedOut = false;
  #mustFetch = false;

  private constructor(cursors: PartCursor[]) {
    this.#heap = new RowHeap(cursors);
  }

  static async open(bucket: R2Bucket, parts: PartSummary[]): Promise<PartMerge> {
    const cursors = await Promise.all(parts.map((part) => PartCursor.open(bucket, part.part_keys)));
    return new PartMerge(cursors.filter((c): c is PartCursor => c !== null));
  }

  /** The cursor standing on the next row (valid until the next call), or null: then {@link done} or {@link fetch}. */
  next(): PartReader | null {
    if (this.#mustFetch) return null;
    if (this.#handedOut) {
      this.#handedOut = false;
      const top = this.#heap.top();
      if (top.reader.advance()) this.#heap.replaceTop();
      else if (top.morePartsToRead) {
        this.#mustFetch = true;
        return null;
      } else this.#heap.pop();
    }
    if (!this.#heap.size) return null;
    this.#handedOut = true;
    return this.#heap.top().reader;
  }

  get done(): boolean {
    return !this.#mustFetch && !this.#heap.size;
  }

  /** Reads the next part object of the cursor whose part ran out. */
  async fetch(): Promise<void> {
    this.#mustFetch = false;
    if (await this.#heap.top().nextPart()) this.#heap.replaceTop();
    else this.#heap.pop();
  }
}

/** One partition's rows: its part objects in order, one in memory at a time. */
class PartCursor {
  reader!: PartReader;
  #next = 0;

  private constructor(readonly bucket: R2Bucket, readonly keys: string[]) {}

  static async open(bucket: R2Bucket, keys: string[]): Promise<PartCursor | null> {
    const cursor = new PartCursor(bucket, keys);
    return (await cursor.nextPart()) ? cursor : null;
  }

  get morePartsToRead(): boolean {
    return this.#next < this.keys.length;
  }

  get l(): FeatureId {
    return this.reader.l;
  }

  get r(): FeatureId {
    return this.reader.r;
  }

  /** Moves to the first row of the next part that has one; false after the last part. */
  async nextPart(): Promise<boolean> {
    for (;;) {
      const key = this.keys[this.#next++];
      if (key === undefined) return false;
      const object = await this.bucket.get(key);
      if (!object) throw new Error(`Staged part "${key}" is missing`);
      this.reader = new PartReader(new Uint8Array(await object.arrayBuffer()));
      if (this.reader.advance()) return true;
    }
  }
}
