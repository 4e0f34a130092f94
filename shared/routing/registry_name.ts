/**
 * The name of a caller's IdempotencyRegistry: the object that holds its keys' claims, its job index and its submit
 * token bucket. The job service claims there and the rate-limit middleware takes tokens there: one name for both,
 * or the caller would have two buckets. Free of the Workers types, so the middleware's unit tests can load it.
 */
export function registryName(subject: string): string {
  return `idempotency:${subject}`;
}
