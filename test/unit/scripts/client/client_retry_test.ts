/**
 * The typed client's fetch (scripts/client/mod.ts) against a raw TCP server that drops connections: what may be sent
 * twice is sent again on a new connection, what may not is not.
 */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { retryingFetch } from "../../../../scripts/client/mod.ts";

const OK = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

/** A server that closes its first `drops` connections after reading the request, then answers 200 "ok". */
function droppingServer(drops: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(65536);
      const n = await conn.read(buffer);
      requests.push(new TextDecoder().decode(buffer.subarray(0, n ?? 0)));
      if (requests.length > drops) await conn.write(new TextEncoder().encode(OK));
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    close: async () => {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

Deno.test("a GET whose connection is closed without an answer is sent again on a new connection", async () => {
  const server = droppingServer(2);
  try {
    const response = await retryingFetch()(new Request(`${server.url}/v1/jobs/job_1`));
    equal(response.status, 200);
    equal(await response.text(), "ok");
    equal(server.requests.length, 3);
  } finally {
    await server.close();
  }
});

Deno.test("a job submission is sent again with the same body (its idempotency key makes it safe)", async () => {
  const server = droppingServer(1);
  try {
    const body = JSON.stringify({ job_idempotency_key: crypto.randomUUID(), spatial_operation: "point_in_polygon" });
    const response = await retryingFetch()(new Request(`${server.url}/v1/jobs`, { method: "POST", body }));
    equal(response.status, 200);
    await response.body?.cancel();
    deepEqual(server.requests.map((r) => r.endsWith(body)), [true, true]);
  } finally {
    await server.close();
  }
});

Deno.test("any other POST is sent once: a dropped connection is the caller's error", async () => {
  const server = droppingServer(1);
  try {
    await rejects(
      retryingFetch()(new Request(`${server.url}/v1/datasets/d/uploads`, { method: "POST" })),
      TypeError,
    );
    equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});
