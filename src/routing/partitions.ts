/** Durable Object stubs by name: partitions by H3 cell, catalogs by dataset, idempotency by (caller, key). */
export function partitionStub(env: Env, cell: string) {
  return env.PARTITION.get(env.PARTITION.idFromName(`cell:${cell}`));
}

export function catalogStub(env: Env, datasetName: string) {
  return env.CATALOG.get(env.CATALOG.idFromName(`dataset:${datasetName}`));
}

export function idempotencyStub(env: Env, subject: string, key: string) {
  return env.IDEMPOTENCY.get(env.IDEMPOTENCY.idFromName(`idempotency:${subject}\n${key}`));
}
