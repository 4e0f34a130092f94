/**
 * A token bucket: `rate` tokens a second refill a bucket of at most `burst`;
 * each admitted request takes one. Pure, so the Durable Object and the unit
 * tests share it.
 */

/** A caller's submission rate limit: `rate` tokens a second into a bucket of at most `burst`. */
export interface SubmitLimit {
  rate: number;
  burst: number;
}

/** The bucket's state: tokens left at time `updated_ms`. */
export interface BucketState {
  tokens: number;
  updated_ms: number;
}

/** What one request learns: admitted or not, tokens left, and when to retry. */
export interface TakeOutcome {
  ok: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a token is available (0 when admitted). */
  retry_after_s: number;
}

/**
 * Refills `state` up to `now_ms` and takes one token if there is one.
 * Returns the new state and the outcome; `state` is not mutated.
 *
 * @example
 * ```ts
 * const { state, outcome } = takeToken(undefined, Date.now(), 20, 40); // outcome.ok === true, 39 left
 * ```
 */
export function takeToken(
  state: BucketState | undefined,
  now_ms: number,
  rate: number,
  burst: number,
): { state: BucketState; outcome: TakeOutcome } {
  const capacity = Math.max(1, burst);
  const previous = state ?? { tokens: capacity, updated_ms: now_ms };
  const elapsed = Math.max(0, now_ms - previous.updated_ms) / 1000;
  const tokens = Math.min(capacity, previous.tokens + elapsed * rate);
  if (tokens >= 1) {
    const left = tokens - 1;
    return {
      state: { tokens: left, updated_ms: now_ms },
      outcome: { ok: true, remaining: Math.floor(left), retry_after_s: 0 },
    };
  }
  const wait = rate > 0 ? (1 - tokens) / rate : Infinity;
  return {
    state: { tokens, updated_ms: now_ms },
    outcome: { ok: false, remaining: 0, retry_after_s: Number.isFinite(wait) ? wait : 3600 },
  };
}
