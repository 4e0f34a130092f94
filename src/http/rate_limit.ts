/**
 * Per-subject rate limiting of job submissions: a token bucket per token `sub`, held in memory by the caller's
 * IdempotencyRegistry (`durable-objects/idempotency_registry/`), the object a submit claims its key from.
 *
 * Every `POST` takes a token, whatever it turns out to be: a submit takes it with its claim (round 2: no call of
 * its own, and a refused claim writes nothing); a request answered before its claim (400, 422, …) takes it once
 * answered, and a refusal turns its answer into the 429, as when the limit was checked first. A caller refused
 * lately takes its token before anything else runs, so being throttled costs one small call and no parsing.
 *
 * Configuration: `SUBMIT_RATE_PER_SECOND` and `SUBMIT_RATE_BURST` (`shared/config.ts`); a rate of `0` turns the
 * limiter off.
 */
import type { MiddlewareHandler } from "hono";
import type { SubmitLimit, TakeOutcome } from "../../durable-objects/idempotency_registry/token_bucket.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { TooManyRequestsError } from "../../shared/problem.ts";
import { config } from "../../shared/config.ts";
import { registryName } from "../../shared/routing/registry_name.ts";

/** The RPC surface the limit needs of the caller's registry (structural, so unit tests can pass their own). */
export interface RateLimiterStub {
  take(limit: SubmitLimit): Promise<TakeOutcome> | TakeOutcome;
}

/** Finds the limiter of a subject in the bindings, or `undefined` when the binding is absent. */
export type LimiterLookup = (env: unknown, sub: string) => RateLimiterStub | undefined;

/** The caller's IdempotencyRegistry, where its submits claim their keys. */
const registryLimiter: LimiterLookup = (env, sub) => {
  // Typed structurally: unit tests type-check this module without the Workers types.
  const ns = (env as { IDEMPOTENCY?: { idFromName(name: string): unknown; get(id: unknown): unknown } } | undefined)
    ?.IDEMPOTENCY;
  if (!ns) return undefined;
  return ns.get(ns.idFromName(registryName(sub))) as unknown as RateLimiterStub;
};

/** What the job service's claim needs: the limit to take its token under, and where to say how that went. */
export interface Admission {
  readonly limit: SubmitLimit;
  /** The claim took the caller's token. */
  admitted(): void;
  /** The claim was refused a token: the 429 to throw. */
  refused(retryAfterS: number): TooManyRequestsError;
}

/** Subjects this isolate saw refused, until when: they take their token before anything else runs. */
const refusedUntil = new Map<string, number>();
const MAX_REMEMBERED = 10_000;

/**
 * Middleware for `POST /v1/jobs` (other methods pass through): the caller's token is taken by the submit's claim
 * (`c.var.admission`), or here once the request was answered without one; 429 problem with `Retry-After` when the
 * bucket is empty. Needs `c.var.claims` (register after bearer auth).
 *
 * @example
 * ```ts
 * app.use("/v1/jobs", submissionRateLimit());
 * ```
 */
export function submissionRateLimit(lookup: LimiterLookup = registryLimiter): MiddlewareHandler<{
  Variables: { claims?: { sub: string }; logger?: Logger; admission?: Admission };
}> {
  return async function submissionRateLimitMiddleware(c, next) {
    const sub = c.get("claims")?.sub;
    if (c.req.method !== "POST" || !sub) return await next();
    const { SUBMIT_RATE_PER_SECOND: rate, SUBMIT_RATE_BURST: burst } = config(c.env);
    if (rate <= 0) return await next();
    const limit = { rate, burst };
    let taken = false;
    const admission: Admission = {
      limit,
      admitted() {
        taken = true;
      },
      refused(retryAfterS) {
        taken = true;
        const retryAfter = Math.max(1, Math.ceil(retryAfterS));
        if (refusedUntil.size >= MAX_REMEMBERED) refusedUntil.clear();
        refusedUntil.set(sub, Date.now() + retryAfter * 1000);
        c.get("logger")?.warn("rate limited", { rule: "submit_rate", rate, burst, retry_after_s: retryAfter });
        return new TooManyRequestsError(
          retryAfter,
          `Too many job submissions for this caller (at most ${rate}/s, bursts of ${burst}); retry after ${retryAfter} s.`,
        );
      },
    };
    // The registry's stub only when this middleware takes the token itself (the claim brings its own).
    const take = async () => {
      const limiter = lookup(c.env, sub);
      if (!limiter) return admission.admitted();
      const outcome = await limiter.take(limit);
      if (!outcome.ok) throw admission.refused(outcome.retry_after_s);
      admission.admitted();
    };
    if ((refusedUntil.get(sub) ?? 0) > Date.now()) await take();
    else refusedUntil.delete(sub);
    if (!taken) c.set("admission", admission);
    await next();
    // Answered without a claim (a 4xx before it, or an error): the token is taken now; refused, the 429 wins.
    if (!taken) await take();
  };
}
