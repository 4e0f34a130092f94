/**
 * The live-work index is split into shards, each partition reporting to the one its cell hashes to, so no single
 * object takes every partition's alarm calls (a job of 1,500 partitions makes ~3,000). Shard 0 keeps the name of
 * the single index that came before, and the cron's listing cursors.
 */
export const LIVE_WORK_SHARDS = 16;

/** The shard `cell` reports to: FNV-1a of its name, mod the shard count. */
export function liveWorkShardOf(cell: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < cell.length; i++) h = Math.imul(h ^ cell.charCodeAt(i), 0x01000193);
  return (h >>> 0) % LIVE_WORK_SHARDS;
}
