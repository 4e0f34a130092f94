/** Durable Object stubs by name: partitions by H3 cell, catalogs by dataset, idempotency by (caller, key), the live-work index. */
import type { DatasetCatalog } from "../../durable-objects/dataset_catalog/mod.ts";
import type { IdempotencyRegistry } from "../../durable-objects/idempotency_registry/mod.ts";
import type { LiveWorkIndex } from "../../durable-objects/live_work_index/mod.ts";
import type { PartitionLedger } from "../../durable-objects/partition_ledger/mod.ts";

/**
 * A Durable Object's public methods as seen through RPC: every call async,
 * values as the class declares them (workers-types' own mapping widens
 * tuples such as bboxes to `number[]`; structured clone keeps them intact).
 */
export type Remote<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export function partitionStub(env: Env, cell: string): Remote<PartitionLedger> {
  return env.PARTITION.get(env.PARTITION.idFromName(`cell:${cell}`)) as unknown as Remote<PartitionLedger>;
}

export function catalogStub(env: Env, datasetName: string): Remote<DatasetCatalog> {
  return env.CATALOG.get(env.CATALOG.idFromName(`dataset:${datasetName}`)) as unknown as Remote<DatasetCatalog>;
}

export function idempotencyStub(env: Env, subject: string): Remote<IdempotencyRegistry> {
  return env.IDEMPOTENCY.get(env.IDEMPOTENCY.idFromName(`idempotency:${subject}`)) as unknown as Remote<
    IdempotencyRegistry
  >;
}

/** The one index of partitions with live work. */
export function liveWorkIndexStub(env: Env): Remote<LiveWorkIndex> {
  return env.LIVE_WORK.get(env.LIVE_WORK.idFromName("live-work")) as unknown as Remote<LiveWorkIndex>;
}
