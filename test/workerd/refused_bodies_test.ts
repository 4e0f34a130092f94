/**
 * A request refused before its body is read (415, 401, 404) must not poison
 * the connection: the next request is answered normally. Before the service
 * discarded unread bodies, wrangler dev's proxy answered most follow-ups 503.
 */
import { deepEqual } from "node:assert/strict";
import { startService } from "./harness.ts";
import { authHeaders } from "./client.ts";

Deno.test("requests refused with an unread body leave the next request unharmed", async () => {
  const service = await startService();
  try {
    const headers = await authHeaders();
    const body = "x".repeat(200_000);
    const refusals = [
      { path: "/v1/jobs", headers: { ...headers, "content-type": "text/plain" } }, // 415
      { path: "/v1/jobs", headers: { "content-type": "application/json" } }, // 401
      { path: "/v1/nowhere", headers: { ...headers, "content-type": "application/json" } }, // 404
    ];
    const followUps: number[] = [];
    for (let i = 0; i < 30; i++) {
      const refusal = refusals[i % refusals.length]!;
      const refused = await service.fetch(refusal.path, { method: "POST", headers: refusal.headers, body });
      await refused.body?.cancel();
      const next = await service.fetch("/v1/jobs", {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
      followUps.push(next.status);
      await next.body?.cancel();
    }
    deepEqual([...new Set(followUps)], [422], "every follow-up is judged on its own body (422), none is a 503");
  } finally {
    await service.stop("SIGTERM");
  }
});
