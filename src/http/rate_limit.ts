/**
 * Per-subject rate limiting of job submissions: a token bucket per token `sub`
 * held by the `RateLimiter` Durable Object (`durable-objects/rate_limiter/`).
 * Runs after bearer auth and before the body is read, so a throttled caller
 * costs one small RPC and no parsing.
 *
 * Configuration: `SUBMIT_RATE_PER_SECOND` and `SUBMIT_RATE_BURST` (`shared/config.ts`); a rate of `0` turns the
 * limiter off.
 */
import type { MiddlewareHandler } from "hono";
import { wrapTime } from "hono/timing";
import type { TakeOutcome } from "../../durable-objects/rate_limiter/token_bucket.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { TooManyRequestsError } from "../../shared/problem.ts";
import { config } from "../../shared/config.ts";

/** The RPC surface of the limiter object (structural, so unit tests can pass their own). */
export interface RateLimiterStub {
  take(rate: number, burst: number): Promise<TakeOutcome> | TakeOutcome;
}

/** Finds the limiter of a subject in the bindings, or `undefined` when the binding is absent. */
export type LimiterLookup = (env: unknown, sub: string) => RateLimiterStub | undefined;

/** The `RATE_LIMITER` Durable Object namespace's instance for `sub`. */
const durableObjectLimiter: LimiterLookup = (env, sub) => {
  // Typed structurally: unit tests type-check this module without the Workers types.
  const ns = (env as { RATE_LIMITER?: { idFromName(name: string): unknown; get(id: unknown): unknown } } | undefined)
    ?.RATE_LIMITER;
  if (!ns) return undefined;
  return ns.get(ns.idFromName(`sub:${sub}`)) as unknown as RateLimiterStub;
};

/** What the job service awaits before its first write: settles once the caller's token is taken (429 if refused). */
export type Admission = Promise<void>;

/** Subjects this isolate saw refused, until when: they wait for the limiter before anything else runs. */
const refusedUntil = new Map<string, number>();
const MAX_REMEMBERED = 10_000;

/**
 * Middleware for `POST /v1/jobs` (other methods pass through): takes a token
 * from the caller's bucket; 429 problem with `Retry-After` when it is empty.
 * Needs `c.var.claims` (register after bearer auth).
 *
 * The take is not awaited here: it runs beside the submit's own first round trip (the dataset catalogs), and
 * the service awaits `c.var.admission` before it writes anything. Awaited again after the handler, so a refused
 * take answers 429 whatever the handler found (as when the limiter came first). A caller refused lately waits
 * for the limiter first: being throttled still costs one small RPC and no parsing.
 *
 * @example
 * ```ts
 * app.use("/v1/jobs", submissionRateLimit());
 * ```
 */
export function submissionRateLimit(lookup: LimiterLookup = durableObjectLimiter): MiddlewareHandler<{
  Variables: { claims?: { sub: string }; logger?: Logger; admission?: Admission };
}> {
  return async function submissionRateLimitMiddleware(c, next) {
    const sub = c.var.claims?.sub;
    if (c.req.method !== "POST" || !sub) return await next();
    const { SUBMIT_RATE_PER_SECOND: rate, SUBMIT_RATE_BURST: burst } = config(c.env);
    const limiter = rate > 0 ? lookup(c.env, sub) : undefined;
    if (!limiter) return await next();
    const admission = wrapTime(c, "rate_limit", Promise.resolve(limiter.take(rate, burst)), "DO round 1").then(
      (outcome) => {
        if (outcome.ok) return;
        const retryAfter = Math.max(1, Math.ceil(outcome.retry_after_s));
        if (refusedUntil.size >= MAX_REMEMBERED) refusedUntil.clear();
        refusedUntil.set(sub, Date.now() + retryAfter * 1000);
        c.var.logger?.warn("rate limited", { rule: "submit_rate", rate, burst, retry_after_s: retryAfter });
        throw new TooManyRequestsError(
          retryAfter,
          `Too many job submissions for this caller (at most ${rate}/s, bursts of ${burst}); retry after ${retryAfter} s.`,
        );
      },
    );
    // Awaited below (and by the service); this keeps a refusal from counting as unhandled meanwhile.
    admission.catch(() => {});
    if ((refusedUntil.get(sub) ?? 0) > Date.now()) await admission;
    else refusedUntil.delete(sub);
    c.set("admission", admission);
    await next();
    await admission;
  };
}
