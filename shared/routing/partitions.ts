/**
 * Durable Object stubs by name: partitions by H3 cell, catalogs by dataset, idempotency by (caller, key), the shards
 * of the live-work index.
 */
import { LIVE_WORK_SHARDS, liveWorkShardOf } from "./live_work_shards.ts";
import { registryName } from "./registry_name.ts";

/**
 * A Durable Object's public methods as seen through RPC: every call async,
 * values as the class declares them (workers-types' own mapping widens
 * tuples such as bboxes to `number[]`; structured clone keeps them intact).
 */
export type Remote<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/**
 * The class bound to a namespace in `Env`: the layer below the Durable Objects names
 * them through the binding's declared type, never by importing them.
 */
type Bound<N extends keyof Env> = Env[N] extends DurableObjectNamespace<infer T> ? T : never;

export function partitionStub(env: Env, cell: string): Remote<Bound<"PARTITION">> {
  return env.PARTITION.get(env.PARTITION.idFromName(`cell:${cell}`)) as unknown as Remote<Bound<"PARTITION">>;
}

export function catalogStub(env: Env, datasetName: string): Remote<Bound<"CATALOG">> {
  return env.CATALOG.get(env.CATALOG.idFromName(`dataset:${datasetName}`)) as unknown as Remote<Bound<"CATALOG">>;
}

export function idempotencyStub(env: Env, subject: string): Remote<Bound<"IDEMPOTENCY">> {
  return env.IDEMPOTENCY.get(env.IDEMPOTENCY.idFromName(registryName(subject))) as unknown as Remote<
    Bound<"IDEMPOTENCY">
  >;
}

/** The one list of dataset names. */
export function directoryStub(env: Env): Remote<Bound<"DIRECTORY">> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("datasets")) as unknown as Remote<Bound<"DIRECTORY">>;
}

type LiveWorkIndex = Remote<Bound<"LIVE_WORK">>;

function liveWorkShard(env: Env, shard: number): LiveWorkIndex {
  const name = shard === 0 ? "live-work" : `live-work/${shard}`;
  return env.LIVE_WORK.get(env.LIVE_WORK.idFromName(name)) as unknown as LiveWorkIndex;
}

/** The shard of the live-work index that `cell` reports to. */
export function liveWorkIndexStub(env: Env, cell: string): LiveWorkIndex {
  return liveWorkShard(env, liveWorkShardOf(cell));
}

/** Every shard of the live-work index, for the readers that visit them all (the sweep, the operator endpoints). */
export function liveWorkIndexes(env: Env): LiveWorkIndex[] {
  return Array.from({ length: LIVE_WORK_SHARDS }, (_, shard) => liveWorkShard(env, shard));
}

/** Where the cron's R2 listing cursors are kept. */
export function cronCursorsStub(env: Env): LiveWorkIndex {
  return liveWorkShard(env, 0);
}

/** The entries of every shard as one list by cell (a cell found on two shards: the union of what they say). */
export async function liveWorkEntries(env: Env): Promise<Awaited<ReturnType<LiveWorkIndex["entries"]>>> {
  const byCell = new Map<string, { cell: string; live: boolean; listed: boolean }>();
  for (const entries of await Promise.all(liveWorkIndexes(env).map((index) => index.entries()))) {
    for (const e of entries) {
      const seen = byCell.get(e.cell);
      byCell.set(e.cell, seen ? { cell: e.cell, live: seen.live || e.live, listed: seen.listed || e.listed } : e);
    }
  }
  return [...byCell.values()].sort((a, b) => (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0));
}
