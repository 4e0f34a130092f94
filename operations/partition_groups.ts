/** Grouping of an operation's cells into partitions by data density. Pure; no I/O. */
import { cellToParent, getResolution } from "h3-js";

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

/** Partition → which share of its right side's features it runs: `[index, count]` (absent: all of them). */
export type Shards = Record<string, [index: number, count: number]>;

/**
 * Splits partitions heavier than `maxBytes` into up to `maxShards` shards, each running the same tile cells but
 * an equal share of the right side's features (by position), so a hot cell (a city's points) is worked by several
 * Durable Objects. A pair still has one owner: its tile cell picks the partition, the right feature's position the
 * shard. Shard 0 keeps the partition's name, shard k is `<name>.<k>`.
 */
export function shardPartitions(
  plan: PartitionPlan,
  bytesOf: (partition: string) => number,
  maxBytes: number,
  maxShards = 16,
): PartitionPlan & { shards: Shards } {
  const partitions: string[] = [];
  const members: Record<string, string[]> = {};
  const shards: Shards = {};
  for (const partition of plan.partitions) {
    const count = maxBytes > 0 ? Math.min(maxShards, Math.ceil(bytesOf(partition) / maxBytes)) : 1;
    for (let index = 0; index < Math.max(1, count); index++) {
      const name = index === 0 ? partition : `${partition}.${index}`;
      partitions.push(name);
      members[name] = plan.members[partition]!;
      if (count > 1) shards[name] = [index, count];
    }
  }
  partitions.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { partitions, members, shards };
}
