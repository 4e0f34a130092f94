/**
 * One instance per token subject (`idFromName("sub:" + sub)`): a token bucket
 * for that caller's job submissions. The bucket lives in memory only — an
 * evicted instance starts full again, which is what an idle caller's bucket
 * would be anyway (it refills completely in `burst / rate` seconds, far
 * shorter than an idle object's lifetime) — so admitting a request writes
 * nothing to storage.
 */
import { DurableObject } from "cloudflare:workers";
import { type BucketState, type TakeOutcome, takeToken } from "./token_bucket.ts";

export type { TakeOutcome } from "./token_bucket.ts";

export class RateLimiter extends DurableObject<Env> {
  private bucket: BucketState | undefined;

  /** Takes one token from this subject's bucket (refilled at `rate`/s, at most `burst`). */
  take(rate: number, burst: number): TakeOutcome {
    const { state, outcome } = takeToken(this.bucket, Date.now(), rate, burst);
    this.bucket = state;
    return outcome;
  }
}
