/**
 * Job planning at the edge: which partitions a job needs, and the fingerprint
 * of a request for idempotency. Pure functions; no I/O.
 */
import type { Bbox, TileRef } from "../../durable-objects/partition_ledger/job_spec.ts";
import { expandBounds } from "../../wasm/geodesic.ts";
import { bboxesIntersect } from "../tiles/geometry_bbox.ts";

/**
 * The partitions of a job: the cells where both sides have a tile whose
 * features can pass the bbox filter. A pair of intersecting features shares
 * a point, whose cell both features touch, so both sides have a tile there:
 * no pair can be missed, and cells that cannot hold a pair are skipped.
 */
export function planPartitions(
  left: Record<string, TileRef>,
  right: Record<string, TileRef>,
  filter: Bbox | null,
): string[] {
  const cells: string[] = [];
  for (const [cell, leftTile] of Object.entries(left)) {
    const rightTile = right[cell];
    if (!rightTile) continue;
    if (filter && !(bboxesIntersect(leftTile.bbox, filter) && bboxesIntersect(rightTile.bbox, filter))) continue;
    cells.push(cell);
  }
  return cells.sort();
}

/**
 * The partitions of a `dwithin` job: the right side's cells that some left
 * tile comes within `metres` of (a pair's owner cell is one its right feature
 * touches; the partition then reads the left tiles within reach).
 */
export function planPartitionsWithin(
  left: Record<string, TileRef>,
  right: Record<string, TileRef>,
  filter: Bbox | null,
  metres: number,
): string[] {
  const leftTiles = Object.values(left).filter((t) => !filter || bboxesIntersect(t.bbox, filter));
  const cells: string[] = [];
  for (const [cell, rightTile] of Object.entries(right)) {
    if (filter && !bboxesIntersect(rightTile.bbox, filter)) continue;
    const reach = expandBounds(rightTile.bbox, metres);
    if (leftTiles.some((t) => bboxesIntersect(t.bbox, reach))) cells.push(cell);
  }
  return cells.sort();
}

/** A stable JSON text: object keys sorted at every level, so key order never changes a fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of the request's canonical JSON: equal payloads, equal hashes. */
export async function requestHash(request: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(request)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
