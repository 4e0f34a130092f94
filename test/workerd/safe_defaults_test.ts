/**
 * Safe defaults at the edge, against real workerd: the issuer and audience are
 * enforced when configured, long-lived tokens are refused, an unauthenticated
 * upload is answered 401 without its body being read, and nobody publishes or
 * reclassifies a dataset above their own tier. Every refusal writes nothing.
 */
import { equal, match, ok } from "node:assert/strict";
import { SignJWT } from "jose";
import { type Service, startService } from "./harness.ts";
import { runtimeUrl } from "../../scripts/bench/service.ts";

const ISSUER = "https://idp.example";
const AUDIENCE = "spatial-jobs-safe";
const SECRET = "dev-secret";
const MAX_LIFETIME = 3_600;

type Payload = Record<string, unknown>;

async function token(overrides: Payload = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Payload = {
    sub: "safe-tester",
    domain: "geo",
    spatial_scope: [-180, -90, 180, 90],
    data_classification: "restricted",
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...overrides,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return await new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
}

const ZONES = JSON.stringify({
  type: "FeatureCollection",
  features: [{
    type: "Feature",
    id: 1,
    properties: {},
    geometry: { type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] },
  }],
});

async function call(
  service: Service,
  method: string,
  path: string,
  bearer: string | null,
  body?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/geo+json" };
  if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
  const response = await service.fetch(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  try {
    return { status: response.status, json: JSON.parse(text) };
  } catch {
    return { status: response.status, json: { text } };
  }
}

async function writesNothing(service: Service, action: () => Promise<void>): Promise<void> {
  const before = await service.stateFingerprint();
  await action();
  equal(await service.stateFingerprint(), before, "the local DO/R2 state changed");
}

/**
 * Sends the head of a `declared`-byte PUT and then only `sent` bytes of body on a raw connection, and waits
 * for the answer's status line: the server must answer without the rest of the body.
 */
async function partialUpload(
  service: Service,
  path: string,
  declared: number,
  sent: number,
): Promise<{ statusLine: string; ms: number }> {
  // The runtime's own socket, not wrangler's dev proxy: when the Worker answers before reading the body and the
  // connection closes, the proxy's forward of the rest fails and it answers 503 itself (seen in CI: the Worker's span
  // line said 401, the proxy's 503). No deployed client goes through that proxy.
  const direct = await runtimeUrl(service.pid, Number(new URL(service.url).port));
  if (!direct) throw new Error("the runtime's own socket was not found");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(direct).port) });
  try {
    const head = `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/geo+json\r\n` +
      `Content-Length: ${declared}\r\n\r\n`;
    const started = Date.now();
    await conn.write(new TextEncoder().encode(head));
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    try {
      for (let written = 0; written < sent; written += chunk.length) await conn.write(chunk);
    } catch (error) {
      // The server answered and closed while the last chunks were on their way: its answer is still to be read.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
    const buffer = new Uint8Array(4096);
    const read = conn.read(buffer);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((resolve) => timer = setTimeout(() => resolve(null), 10_000));
    const n = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (n === null) return { statusLine: "no answer within 10 s", ms: Date.now() - started };
    return { statusLine: new TextDecoder().decode(buffer.subarray(0, n)).split("\r\n")[0]!, ms: Date.now() - started };
  } finally {
    conn.close();
  }
}

Deno.test("safe defaults: issuer, audience and lifetime enforced; unauthenticated bodies unread; no publishing above one's tier", async (t) => {
  const service = await startService({
    vars: { JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_MAX_LIFETIME_SECONDS: String(MAX_LIFETIME) },
  });
  try {
    const owner = await token();
    equal((await call(service, "PUT", "/v1/datasets/zones?classification=public", owner, ZONES)).status, 201);
    const secretPut = await call(service, "PUT", "/v1/datasets/secret-zones?classification=confidential", owner, ZONES);
    equal(secretPut.status, 201, JSON.stringify(secretPut.json));

    await t.step(
      "with JWT_ISSUER and JWT_AUDIENCE set, a token without either or with another one is 401",
      async () => {
        const cases: [string, Payload, RegExp][] = [
          ["no issuer", { iss: undefined }, /iss/],
          ["another issuer", { iss: "https://evil.example" }, /iss/],
          ["no audience", { aud: undefined }, /aud/],
          ["another audience", { aud: "another-service" }, /aud/],
        ];
        await writesNothing(service, async () => {
          for (const [what, overrides, detail] of cases) {
            const res = await call(service, "GET", "/v1/datasets/zones", await token(overrides));
            equal(res.status, 401, what);
            match(String(res.json.detail), detail, what);
          }
        });
        equal((await call(service, "GET", "/v1/datasets/zones", owner)).status, 200, "issuer and audience match");
      },
    );

    await t.step("a token living longer than JWT_MAX_LIFETIME_SECONDS is 401; one within it is accepted", async () => {
      const now = Math.floor(Date.now() / 1000);
      await writesNothing(service, async () => {
        for (const exp of [now + MAX_LIFETIME + 1, now + 365 * 86_400]) {
          const res = await call(service, "GET", "/v1/datasets/zones", await token({ iat: now, exp }));
          equal(res.status, 401);
          match(String(res.json.detail), /lifetime/);
        }
      });
      const within = await token({ iat: now, exp: now + MAX_LIFETIME });
      equal((await call(service, "GET", "/v1/datasets/zones", within)).status, 200);
    });

    await t.step("an unauthenticated 60 MB PUT is answered 401 after 256 KiB, the rest never sent", async () => {
      await writesNothing(service, async () => {
        for (const declared of [60_000_000, 10_000_000]) {
          const { statusLine, ms } = await partialUpload(service, "/v1/datasets/zones", declared, 256 * 1024);
          match(statusLine, /^HTTP\/1\.1 401 /, `${declared}-byte body: ${statusLine}`);
          ok(ms < 5_000, `answered in ${ms} ms`);
        }
      });
      equal((await call(service, "GET", "/v1/datasets/zones", owner)).status, 200, "the service answers on");
    });

    await t.step(
      "publishing or reclassifying above the publisher's tier is 403 (PUT and uploads), nothing written",
      async () => {
        const internal = await token({ sub: "internal-publisher", data_classification: "internal" });
        await writesNothing(service, async () => {
          const refusals: [string, string, string][] = [
            ["a new dataset above the tier", "PUT", "/v1/datasets/new-zones?classification=confidential"],
            ["a version inheriting a tier above", "PUT", "/v1/datasets/secret-zones"],
            ["reclassifying down a dataset above", "PUT", "/v1/datasets/secret-zones?classification=public"],
            ["reclassifying a dataset up above", "PUT", "/v1/datasets/zones?classification=restricted"],
            ["an upload above the tier", "POST", "/v1/datasets/new-zones/uploads?classification=confidential"],
            ["an upload over a dataset above", "POST", "/v1/datasets/secret-zones/uploads"],
          ];
          for (const [what, method, path] of refusals) {
            const res = await call(service, method, path, internal, method === "PUT" ? ZONES : undefined);
            equal(res.status, 403, `${what}: ${JSON.stringify(res.json)}`);
            equal((res.json.errors as { path: string }[] | undefined)?.[0]?.path, "classification", what);
          }
        });
        equal(
          (await call(service, "PUT", "/v1/datasets/zones?classification=internal", internal, ZONES)).status,
          201,
          "publishing at one's own tier is allowed",
        );

        // An upload opened while the dataset was within the tier, completed after it was reclassified above it.
        const opened = await call(service, "POST", "/v1/datasets/zones/uploads", internal);
        equal(opened.status, 201, JSON.stringify(opened.json));
        const id = String(opened.json.upload_id);
        equal((await call(service, "PUT", `/v1/datasets/zones/uploads/${id}/parts/1`, internal, ZONES)).status, 200);
        equal((await call(service, "PUT", "/v1/datasets/zones?classification=confidential", owner, ZONES)).status, 201);
        await writesNothing(service, async () => {
          const res = await call(service, "POST", `/v1/datasets/zones/uploads/${id}/complete`, internal);
          equal(res.status, 403, JSON.stringify(res.json));
        });
        const current = await call(service, "GET", "/v1/datasets/zones", owner);
        equal(current.json.classification, "confidential");
        equal(current.json.version, 3, "the refused upload published no version");
      },
    );
  } finally {
    await service.stop("SIGTERM");
  }
});
