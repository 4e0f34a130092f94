import { equal, match } from "node:assert/strict";
import { startService } from "./harness.ts";

Deno.test("GET /health answers ok with the GEOS version once the geometry core is up in real workerd", async () => {
  const service = await startService();
  try {
    const response = await service.fetch("/health");
    equal(response.status, 200);
    const body = await response.json();
    equal(body.status, "ok");
    match(body.geos_version, /^3\.\d+\.\d+$/);
    match(response.headers.get("x-request-trace-id") ?? "", /^[A-Za-z0-9._-]{16,128}$/);
    match(response.headers.get("traceparent") ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  } finally {
    await service.stop("SIGTERM");
  }
});
