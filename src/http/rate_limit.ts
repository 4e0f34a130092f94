/**
 * Per-subject rate limiting of job submissions: a token bucket per token `sub`
 * held by the `RateLimiter` Durable Object (`durable-objects/rate_limiter/`).
 * Runs after bearer auth and before the body is read, so a throttled caller
 * costs one small RPC and no parsing.
 *
 * Configuration (string vars): `SUBMIT_RATE_PER_SECOND` (default
 * {@link DEFAULT_SUBMIT_RATE_PER_SECOND}) and `SUBMIT_RATE_BURST` (default
 * {@link DEFAULT_SUBMIT_RATE_BURST}); a rate of `0` turns the limiter off.
 */
import type { MiddlewareHandler } from "hono";
import { wrapTime } from "hono/timing";
import type { TakeOutcome } from "../../durable-objects/rate_limiter/token_bucket.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { TooManyRequestsError } from "../../shared/problem.ts";

export const DEFAULT_SUBMIT_RATE_PER_SECOND = 20;
export const DEFAULT_SUBMIT_RATE_BURST = 40;

/** The limiter settings read from the Worker's vars. */
export interface RateLimitConfig {
  /** Tokens a second; `0` disables limiting. */
  rate: number;
  /** Bucket size: the most requests admitted back to back. */
  burst: number;
}

/** Reads `SUBMIT_RATE_PER_SECOND` / `SUBMIT_RATE_BURST`; missing or malformed values fall back to the defaults. */
export function rateLimitConfigFromEnv(env: unknown): RateLimitConfig {
  const e = (env ?? {}) as Record<string, unknown>;
  const num = (key: string, fallback: number) => {
    const raw = e[key];
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : typeof raw === "number" ? raw : NaN;
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  const rate = num("SUBMIT_RATE_PER_SECOND", DEFAULT_SUBMIT_RATE_PER_SECOND);
  const burst = Math.max(1, Math.floor(num("SUBMIT_RATE_BURST", Math.max(DEFAULT_SUBMIT_RATE_BURST, rate))));
  return { rate, burst };
}

/** The RPC surface of the limiter object (structural, so unit tests can pass their own). */
export interface RateLimiterStub {
  take(rate: number, burst: number): Promise<TakeOutcome> | TakeOutcome;
}

/** Finds the limiter of a subject in the bindings, or `undefined` when the binding is absent. */
export type LimiterLookup = (env: unknown, sub: string) => RateLimiterStub | undefined;

/** The `RATE_LIMITER` Durable Object namespace's instance for `sub`. */
export const durableObjectLimiter: LimiterLookup = (env, sub) => {
  // Typed structurally: unit tests type-check this module without the Workers types.
  const ns = (env as { RATE_LIMITER?: { idFromName(name: string): unknown; get(id: unknown): unknown } } | undefined)
    ?.RATE_LIMITER;
  if (!ns) return undefined;
  return ns.get(ns.idFromName(`sub:${sub}`)) as unknown as RateLimiterStub;
};

/**
 * Middleware for `POST /v1/jobs` (other methods pass through): takes a token
 * from the caller's bucket; 429 problem with `Retry-After` when it is empty.
 * Needs `c.var.claims` (register after bearer auth).
 *
 * @example
 * ```ts
 * app.use("/v1/jobs", submissionRateLimit());
 * ```
 */
export function submissionRateLimit(lookup: LimiterLookup = durableObjectLimiter): MiddlewareHandler<{
  Variables: { claims?: { sub: string }; logger?: Logger };
}> {
  return async function submissionRateLimitMiddleware(c, next) {
    const sub = c.var.claims?.sub;
    if (c.req.method !== "POST" || !sub) return await next();
    const { rate, burst } = rateLimitConfigFromEnv(c.env);
    const limiter = rate > 0 ? lookup(c.env, sub) : undefined;
    if (limiter) {
      const outcome = await wrapTime(c, "rate_limit", Promise.resolve(limiter.take(rate, burst)));
      if (!outcome.ok) {
        const retryAfter = Math.max(1, Math.ceil(outcome.retry_after_s));
        c.var.logger?.warn("rate limited", { rule: "submit_rate", rate, burst, retry_after_s: retryAfter });
        throw new TooManyRequestsError(
          retryAfter,
          `Too many job submissions for this caller (at most ${rate}/s, bursts of ${burst}); retry after ${retryAfter} s.`,
        );
      }
    }
    await next();
  };
}
