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

/** What a partition is expected to cost: its work (any unit, compared between partitions) and its tile bytes. */
export interface PartitionCost {
  work: number;
  bytes: number;
}

/**
 * Evens out the partitions' expected work around a target ({@link targetWork}), so that no
 * partition is the job's critical path by itself and few are near-empty
 * Durable Objects (max/median work ≤ 2 is the aim):
 *
 * - A partition heavier than the target (or than `maxBytes`) splits into up to `maxShards` shards, each running the
 *   same tile cells but an equal share of the right side's features (by position), so a hot cell (a city's points)
 *   is worked by several Durable Objects. A pair still has one owner: its tile cell picks the partition, the right
 *   feature's position the shard. Shard 0 keeps the partition's name, shard k is `<name>.<k>`.
 * - Partitions lighter than half the target are packed together, heaviest first, while a pack stays within the
 *   target and `maxBytes`; a pack is named after its heaviest partition and runs all their tile cells (any
 *   set of cells can share a partition: a pair's owner cell decides which partition emits it).
 *
 * `maxBytes` 0 leaves the plan as it is (one partition per tile cell when grouping is off too).
 */
export function balancePartitions(
  plan: PartitionPlan,
  costOf: (partition: string) => PartitionCost,
  maxBytes: number,
  maxShards = 16,
): PartitionPlan & { shards: Shards } {
  if (maxBytes <= 0 || !plan.partitions.length) return { ...plan, shards: {} };
  const costs = new Map(plan.partitions.map((p) => [p, costOf(p)]));
  const target = targetWork([...costs.values()].map((c) => c.work));
  const partitions: string[] = [];
  const members: Record<string, string[]> = {};
  const shards: Shards = {};
  const light: string[] = [];
  for (const partition of plan.partitions) {
    const { work, bytes } = costs.get(partition)!;
    if (target > 0 && work < target / 2 && bytes <= maxBytes) {
      light.push(partition);
      continue;
    }
    const count = Math.min(
      maxShards,
      Math.max(1, Math.ceil(bytes / maxBytes), target > 0 ? Math.round(work / target) : 1),
    );
    for (let index = 0; index < count; index++) {
      const name = index === 0 ? partition : `${partition}.${index}`;
      partitions.push(name);
      members[name] = plan.members[partition]!;
      if (count > 1) shards[name] = [index, count];
    }
  }
  light.sort((a, b) => costs.get(b)!.work - costs.get(a)!.work || (a < b ? -1 : 1));
  const packs: { name: string; cost: PartitionCost; members: string[] }[] = [];
  for (const partition of light) {
    const cost = costs.get(partition)!;
    const pack = packs.find((p) => p.cost.work + cost.work <= target && p.cost.bytes + cost.bytes <= maxBytes);
    if (!pack) {
      packs.push({ name: partition, cost: { ...cost }, members: [...plan.members[partition]!] });
      continue;
    }
    pack.cost.work += cost.work;
    pack.cost.bytes += cost.bytes;
    pack.members.push(...plan.members[partition]!);
  }
  for (const pack of packs) {
    partitions.push(pack.name);
    members[pack.name] = pack.members.sort();
  }
  partitions.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { partitions, members, shards };
}

/**
 * The work each partition should have: the median partition's, but at least half the mean (when most cells are
 * near-empty, splitting to their size would make many shards for no gain). The mean alone let a skewed job's hot
 * cells split into shards of the mean's size, twice the median's.
 */
function targetWork(works: number[]): number {
  const sorted = [...works].sort((a, b) => a - b);
  const mean = sorted.reduce((n, w) => n + w, 0) / sorted.length;
  return Math.max(sorted[Math.floor(sorted.length / 2)]!, mean / 2);
}
