/**
 * Exponential backoff with jitter, shared by job retries and webhook
 * redeliveries: the n-th retry waits between half and all of
 * `min(cap, base · 2^(n-1))` ("equal jitter": spread out, never zero).
 */
export function backoffMs(attempt: number, baseMs = 1_000, capMs = 300_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}
