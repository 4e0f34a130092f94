/** The order of result rows: `(left_id, right_id)`, whatever the partitioning. */
import { compareFeatureIds } from "../../wasm/flat_geometry.ts";
import type { ResultRow } from "./job_spec.ts";

export function compareRows(a: ResultRow, b: ResultRow): number {
  return compareFeatureIds(a.l, b.l) || compareFeatureIds(a.r, b.r);
}

/**
 * Merges individually sorted row lists: V8's sort (TimSort) finds the sorted
 * runs and merges them, O(n log k) for k partitions.
 */
export function mergeSorted(lists: ResultRow[][]): ResultRow[] {
  return lists.flat().sort(compareRows);
}
