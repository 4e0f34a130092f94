/** The order of result rows: `(left_id, right_id)`, whatever the partitioning. */
import { compareFeatureIds } from "../../wasm/flat_geometry.ts";
import type { ResultRow } from "../../shared/job_spec.ts";

export function compareRows(a: RowIds, b: RowIds): number {
  return compareFeatureIds(a.l, b.l) || compareFeatureIds(a.r, b.r);
}

/** What orders a row: a result row, or a cursor standing on one. */
export type RowIds = Pick<ResultRow, "l" | "r">;

/**
 * A binary min-heap of sorted row cursors by the row each stands on: the k-way
 * merge of partition outputs, O(n log k), holding only each source's head.
 */
export class RowHeap<T extends RowIds> {
  readonly #items: T[];

  constructor(items: readonly T[]) {
    this.#items = [...items];
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  get size(): number {
    return this.#items.length;
  }

  top(): T {
    return this.#items[0]!;
  }

  /** The top cursor moved on: restore the order. */
  replaceTop(): void {
    this.#siftDown(0);
  }

  pop(): void {
    const last = this.#items.pop()!;
    if (this.#items.length) {
      this.#items[0] = last;
      this.#siftDown(0);
    }
  }

  #siftDown(i: number): void {
    const items = this.#items;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let least = i;
      if (l < items.length && compareRows(items[l]!, items[least]!) < 0) least = l;
      if (r < items.length && compareRows(items[r]!, items[least]!) < 0) least = r;
      if (least === i) return;
      [items[i], items[least]] = [items[least]!, items[i]!];
      i = least;
    }
  }
}
