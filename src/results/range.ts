/**
 * Which bytes of a representation a `Range` request gets (RFC 9110 §14). One range is served as a 206; a
 * request for several is answered with the whole representation (200), as §14.2 allows, and so is a malformed
 * one, or one of another unit. A request no byte of which exists is a 416.
 */
import { combineRanges, parse } from "range-parser";

export type RangeSelection =
  | { kind: "full" }
  | { kind: "partial"; start: number; end: number }
  | { kind: "unsatisfiable" };

/** Longer Range headers are ignored (range-parser's advice: bound what is parsed). */
const MAX_RANGE_HEADER = 1024;

/**
 * The range of a `size`-byte representation that `header` asks for (end inclusive).
 *
 * @example
 * ```ts
 * selectRange("bytes=0-7", 1000); // { kind: "partial", start: 0, end: 7 }
 * selectRange("bytes=-100", 1000); // { kind: "partial", start: 900, end: 999 }
 * selectRange("bytes=0-1,5-9", 1000); // { kind: "full" }
 * selectRange("bytes=2000-", 1000); // { kind: "unsatisfiable" }
 * ```
 */
export function selectRange(header: string | undefined, size: number): RangeSelection {
  if (!header || header.length > MAX_RANGE_HEADER) return { kind: "full" };
  const parsed = parse(size, header);
  if (parsed.type !== "bytes" || parsed.code & 1) return { kind: "full" };
  const ranges = combineRanges(parsed.ranges);
  if (ranges.length === 0) return size === 0 ? { kind: "full" } : { kind: "unsatisfiable" };
  if (ranges.length > 1) return { kind: "full" };
  const { start, end } = ranges[0]!;
  return { kind: "partial", start, end };
}
