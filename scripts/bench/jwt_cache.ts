/**
 * What the per-isolate cache of verified tokens saves (src/auth/jwt.ts): `verifyToken` on 500 distinct HS256
 * dev tokens the first time (a full verification each), then the same tokens again (cache hits), in Deno's V8.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench/jwt_cache.ts
 * ```
 */
import { verifyToken } from "../../src/auth/jwt.ts";
import { devSecret, devToken } from "../lib/dev_token.ts";

const N = 500; // within the cache's 1,000 entries
const secret = await devSecret();
const tokens = await Promise.all(Array.from({ length: N }, (_, i) => devToken({ sub: `bench-${i}`, domain: "geo" })));
const auth = { secret, maxLifetimeSeconds: 86_400 };
const timePerToken = async (rounds: number) => {
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const token of tokens) await verifyToken(token, auth);
  return (performance.now() - t0) / (rounds * N);
};
// The first round verifies each token; the next ones find them in the cache.
const verified = await timePerToken(1);
const hits = await timePerToken(10);
console.log(
  `verifyToken: ${verified.toFixed(3)} ms a verification, ${hits.toFixed(3)} ms a cache hit (${N} tokens; ` +
    `load average ${Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ")})`,
);
