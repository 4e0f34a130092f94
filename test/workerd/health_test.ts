import { equal as assertEquals, ok as assert } from "node:assert/strict";
import { startService } from "./harness.ts";

Deno.test("GET /health answers ok from real workerd with GEOS loaded", async () => {
  const service = await startService();
  try {
    const response = await service.fetch("/health");
    assertEquals(response.status, 200);
    const body = await response.json();
    assertEquals(body.status, "ok");
    assert(body.ctx > 0, "GEOS context handle allocated");
  } finally {
    await service.stop("SIGTERM");
  }
});
