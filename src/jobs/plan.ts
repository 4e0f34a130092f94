/**
 * Job planning at the edge: which partitions a job needs, and the fingerprint
 * of a request for idempotency. Pure functions; no I/O.
 */
import { cellToParent, getResolution } from "h3-js";
import type { TileRef } from "../../shared/job_spec.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import { reachBoxes } from "../../wasm/geodesic.ts";
import { bboxesIntersect } from "../../shared/tiles/geometry_bbox.ts";

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
    const reach = reachBoxes(rightTile.bbox, metres);
    if (leftTiles.some((t) => reach.some((box) => bboxesIntersect(t.bbox, box)))) cells.push(cell);
  }
  return cells.sort();
}

/** Partitions over tile cells: each partition cell and the tile cells it runs. */
export interface PartitionPlan {
  /** Sorted partition cells: tile cells, or ancestors of several of them. */
  partitions: string[];
  /** Partition cell → its sorted tile cells. */
  members: Record<string, string[]>;
}

/**
 * Groups tile cells into partitions by data density: sparse siblings merge
 * into their H3 parent, level by level towards resolution 0, while a group's
 * tile bytes stay within `maxBytes` (0: no grouping). Each partition is one
 * Durable Object with its own dispatch, alarms, reads and staged parts, so
 * many small partitions cost more than they parallelize; dense cells stay
 * fine-grained.
 */
export function groupPartitions(
  cells: readonly string[],
  bytesOf: (cell: string) => number,
  maxBytes: number,
): PartitionPlan {
  type Group = { cell: string; members: string[]; bytes: number };
  let groups: Group[] = cells.map((cell) => ({ cell, members: [cell], bytes: bytesOf(cell) }));
  const finest = Math.max(-1, ...cells.map(getResolution));
  for (let level = finest - 1; level >= 0 && maxBytes > 0; level--) {
    const byParent = new Map<string, Group[]>();
    for (const group of groups) {
      const parent = getResolution(group.cell) > level ? cellToParent(group.cell, level) : group.cell;
      byParent.set(parent, [...(byParent.get(parent) ?? []), group]);
    }
    groups = [...byParent].flatMap(([parent, siblings]) => {
      const bytes = siblings.reduce((n, g) => n + g.bytes, 0);
      return siblings.length > 1 && bytes <= maxBytes
        ? [{ cell: parent, members: siblings.flatMap((g) => g.members), bytes }]
        : siblings;
    });
  }
  groups.sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
  return {
    partitions: groups.map((g) => g.cell),
    members: Object.fromEntries(groups.map((g) => [g.cell, g.members.sort()])),
  };
}
