/** Durable Object stubs by name: partitions by H3 cell, catalogs by dataset, idempotency by (caller, key), the live-work index. */

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
  return env.IDEMPOTENCY.get(env.IDEMPOTENCY.idFromName(`idempotency:${subject}`)) as unknown as Remote<
    Bound<"IDEMPOTENCY">
  >;
}

/** The one list of dataset names. */
export function directoryStub(env: Env): Remote<Bound<"DIRECTORY">> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("datasets")) as unknown as Remote<Bound<"DIRECTORY">>;
}

/** The one index of partitions with live work. */
export function liveWorkIndexStub(env: Env): Remote<Bound<"LIVE_WORK">> {
  return env.LIVE_WORK.get(env.LIVE_WORK.idFromName("live-work")) as unknown as Remote<Bound<"LIVE_WORK">>;
}
