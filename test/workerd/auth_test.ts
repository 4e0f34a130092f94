/**
 * Authentication, ABAC and rate limiting against real workerd: every refused
 * request is refused at the edge with the right status and writes nothing
 * (the local DO/R2 state is byte-for-byte unchanged).
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { type Service, startService } from "./harness.ts";

const AUDIENCE = "spatial-jobs-test";
const SECRET = "dev-secret";
const WORLD = [-180, -90, 180, 90];

type Payload = Record<string, unknown>;

function claims(overrides: Payload = {}): Payload {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: "auth-tester",
    domain: "geo",
    spatial_scope: WORLD,
    data_classification: "restricted",
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...overrides,
  };
}

async function hs256(payload: Payload, secret = SECRET): Promise<string> {
  return await new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

const square = (x0: number, y0: number, x1: number, y1: number) => ({
  type: "Polygon",
  coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
});

const ZONES = JSON.stringify({
  type: "FeatureCollection",
  features: [
    { type: "Feature", id: 1, properties: {}, geometry: square(0, 0, 1, 1) },
    { type: "Feature", id: 2, properties: {}, geometry: square(1, 0, 2, 1) },
  ],
});

function job(overrides: Payload = {}): string {
  return JSON.stringify({
    job_idempotency_key: crypto.randomUUID(),
    spatial_operation: "polygon_intersection",
    input_crs: "EPSG:4326",
    output_format: "geojson",
    geometry_payload: {
      type: "FeatureCollection",
      features: [{ type: "Feature", id: "a", properties: {}, geometry: square(0.2, 0.2, 0.8, 0.8) }],
    },
    dataset: "zones",
    ...overrides,
  });
}

async function call(
  service: Service,
  method: string,
  path: string,
  token: string | null,
  body?: string,
  contentType = "application/json",
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = contentType;
  const response = await service.fetch(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: response.status, headers: response.headers, json };
}

/** Runs `action` and asserts the local state is byte-for-byte unchanged afterwards. */
async function writesNothing(service: Service, action: () => Promise<void>): Promise<void> {
  const before = await service.stateFingerprint();
  await action();
  equal(await service.stateFingerprint(), before, "the local DO/R2 state changed");
}

function assertProblem(res: { status: number; headers: Headers; json: Record<string, unknown> }, status: number) {
  equal(res.status, status, JSON.stringify(res.json));
  equal(res.json.status, status);
  ok(typeof res.json.trace_id === "string" && res.json.trace_id.length > 0, "problem carries trace_id");
  ok(res.headers.get("x-request-trace-id"), "X-Request-Trace-ID on the error");
}

/** A subject's first submission materializes its (storage-less) rate-limiter instance: do it before fingerprinting. */
async function warmUp(service: Service, token: string): Promise<void> {
  equal((await call(service, "POST", "/v1/jobs", token, "{")).status, 400);
}

Deno.test("auth, ABAC and submission rate limit at the edge (HS256, JWT_AUDIENCE set)", async (t) => {
  const service = await startService({
    vars: { JWT_AUDIENCE: AUDIENCE, SUBMIT_RATE_PER_SECOND: "1", SUBMIT_RATE_BURST: "5" },
  });
  try {
    await t.step("setup: domain geo publishes a public and a confidential dataset", async () => {
      const owner = await hs256(claims());
      for (const [name, tier] of [["zones", "public"], ["secret-zones", "confidential"]]) {
        const res = await call(
          service,
          "PUT",
          `/v1/datasets/${name}?classification=${tier}`,
          owner,
          ZONES,
          "application/geo+json",
        );
        equal(res.status, 201, JSON.stringify(res.json));
      }
    });

    await t.step("no, malformed, unsigned, forged, expired, not-yet-valid, wrong-audience tokens → 401", async () => {
      const now = Math.floor(Date.now() / 1000);
      const valid = await hs256(claims());
      const [h, p] = valid.split(".");
      const tampered = `${h}.${b64url(claims({ data_classification: "restricted", sub: "someone-else" }))}.${
        valid.split(".")[2]
      }`;
      const cases: [string, string | null][] = [
        ["no token", null],
        ["not a JWT", "not-a-jwt"],
        ["alg none (unsigned)", `${b64url({ alg: "none", typ: "JWT" })}.${p}.`],
        ["alg none with a signature", `${b64url({ alg: "none", typ: "JWT" })}.${p}.${valid.split(".")[2]}`],
        ["forged (wrong secret)", await hs256(claims(), "not-the-secret")],
        ["tampered payload", tampered],
        ["expired", await hs256(claims({ iat: now - 7200, exp: now - 3600 }))],
        ["not yet valid (nbf)", await hs256(claims({ nbf: now + 3600 }))],
        ["issued in the future (iat)", await hs256(claims({ iat: now + 3600, exp: now + 7200 }))],
        ["wrong audience", await hs256(claims({ aud: "another-service" }))],
        ["no audience", await hs256(claims({ aud: undefined }))],
        ["missing exp", await hs256(claims({ exp: undefined }))],
        ["missing spatial_scope", await hs256(claims({ spatial_scope: undefined }))],
        [
          "HS384 instead of HS256",
          await new SignJWT(claims()).setProtectedHeader({ alg: "HS384" }).sign(new TextEncoder().encode(SECRET)),
        ],
      ];
      await writesNothing(service, async () => {
        for (const [what, token] of cases) {
          for (const [method, path, body] of [["POST", "/v1/jobs", job()], ["GET", "/v1/datasets/zones", undefined]]) {
            const res = await call(service, method!, path!, token, body);
            assertProblem(res, 401);
            match(res.headers.get("www-authenticate") ?? "", /^Bearer /, `${what}: WWW-Authenticate challenge`);
          }
        }
      });
      equal((await call(service, "GET", "/v1/datasets/zones", valid)).status, 200, "the valid token is accepted");
    });

    await t.step("a job area outside spatial_scope → 403, nothing written", async () => {
      const scoped = await hs256(claims({ sub: "scoped", spatial_scope: [10, 10, 20, 20] }));
      await warmUp(service, scoped);
      await writesNothing(service, async () => {
        assertProblem(await call(service, "POST", "/v1/jobs", scoped, job()), 403);
      });
      // Payload inside the scope, but the bbox reaches out: the window is the bbox.
      const inside = await hs256(claims({ sub: "inside", spatial_scope: [0, 0, 1, 1] }));
      await warmUp(service, inside);
      await writesNothing(service, async () => {
        assertProblem(await call(service, "POST", "/v1/jobs", inside, job({ bbox: [0, 0, 5, 5] })), 403);
      });
    });

    await t.step("reading a dataset classified above the caller's tier → 403, nothing written", async () => {
      const internal = await hs256(claims({ sub: "internal-reader", data_classification: "internal" }));
      await warmUp(service, internal);
      await writesNothing(service, async () => {
        assertProblem(await call(service, "POST", "/v1/jobs", internal, job({ dataset: "secret-zones" })), 403);
        const asLeft = job({ geometry_payload: undefined, left_dataset: "secret-zones", dataset: "zones" });
        assertProblem(await call(service, "POST", "/v1/jobs", internal, asLeft), 403);
        assertProblem(await call(service, "GET", "/v1/datasets/secret-zones", internal), 403);
      });
      equal((await call(service, "GET", "/v1/datasets/zones", internal)).status, 200, "a public dataset is readable");
    });

    await t.step("publishing a version of another domain's dataset → 403, nothing written", async () => {
      const foreign = await hs256(claims({ sub: "intruder", domain: "other" }));
      await writesNothing(service, async () => {
        const res = await call(
          service,
          "PUT",
          "/v1/datasets/zones?classification=public",
          foreign,
          ZONES,
          "application/geo+json",
        );
        assertProblem(res, 403);
      });
    });

    await t.step("ops endpoints without the operator role → 403 before anything else", async () => {
      const user = await hs256(claims({ sub: "not-an-operator" }));
      await writesNothing(service, async () => {
        assertProblem(await call(service, "GET", "/v1/ops/jobs", user), 403);
        assertProblem(await call(service, "GET", "/v1/ops/jobs?status=NOT_A_STATUS", user), 403);
        assertProblem(await call(service, "POST", "/v1/ops/jobs/job_x/redrive", user), 403);
      });
      const operator = await hs256(claims({ sub: "op", roles: ["operator"] }));
      notEqual((await call(service, "GET", "/v1/ops/jobs", operator)).status, 403, "an operator passes the role check");
    });

    await t.step(
      "the 6th rapid submission of one subject (burst 5) → 429 with Retry-After and no job, also when its dataset is unknown; others unaffected",
      async () => {
        const bursty = await hs256(claims({ sub: "bursty" }));
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) statuses.push((await call(service, "POST", "/v1/jobs", bursty, "{")).status);
        equal(statuses.slice(0, 5).join(), "400,400,400,400,400", "the burst is admitted (and parsed)");
        const limited = await call(service, "POST", "/v1/jobs", bursty, job());
        assertProblem(limited, 429);
        const listed = await call(service, "GET", "/v1/jobs", bursty);
        deepEqual(listed.json.jobs, [], "the refused submit (its claim was refused the token) wrote no job");
        const retryAfter = Number(limited.headers.get("retry-after"));
        ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
        // The limit answers before the catalog would (422: unknown dataset).
        assertProblem(await call(service, "POST", "/v1/jobs", bursty, job({ dataset: "no-such-dataset" })), 429);
        const other = await hs256(claims({ sub: "calm" }));
        equal((await call(service, "POST", "/v1/jobs", other, "{")).status, 400, "another subject is not limited");
        equal((await call(service, "GET", "/v1/datasets/zones", bursty)).status, 200, "reads are not limited");
        await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
        equal((await call(service, "POST", "/v1/jobs", bursty, "{")).status, 400, "admitted again after Retry-After");
      },
    );
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("auth with a JWKS (RS256 and ES256, rotation by kid) and the default rate limit", async (t) => {
  const oldKey = await generateKeyPair("RS256", { extractable: true });
  const newKey = await generateKeyPair("ES256", { extractable: true });
  const retired = await generateKeyPair("RS256", { extractable: true });
  const jwks = {
    keys: [
      { ...(await exportJWK(oldKey.publicKey)), kid: "2024-rsa", alg: "RS256", use: "sig" },
      { ...(await exportJWK(newKey.publicKey)), kid: "2025-ec", alg: "ES256", use: "sig" },
    ],
  };
  const service = await startService({ vars: { JWT_JWKS: JSON.stringify(jwks) } });
  const sign = (alg: string, kid: string, key: CryptoKey, payload = claims({ aud: undefined })) =>
    new SignJWT(payload).setProtectedHeader({ alg, kid }).sign(key);
  try {
    await t.step("tokens signed by either published key are accepted; an unknown kid or HS256 → 401", async () => {
      for (
        const token of [
          await sign("RS256", "2024-rsa", oldKey.privateKey),
          await sign("ES256", "2025-ec", newKey.privateKey),
        ]
      ) {
        equal((await call(service, "GET", "/v1/datasets/none", token)).status, 404, "authenticated (then 404)");
      }
      await writesNothing(service, async () => {
        for (
          const token of [
            await sign("RS256", "2023-retired", retired.privateKey),
            await sign("RS256", "2024-rsa", retired.privateKey),
            await hs256(claims({ aud: undefined })),
            await hs256(claims({ aud: undefined }), JSON.stringify(jwks)),
          ]
        ) {
          assertProblem(await call(service, "GET", "/v1/datasets/none", token), 401);
        }
      });
    });

    await t.step(
      "default limit: of 120 concurrent submissions by one subject the burst of 40 and what refilled at 20/s meanwhile are admitted, the rest are 429",
      async () => {
        const token = await sign("ES256", "2025-ec", newKey.privateKey, claims({ aud: undefined, sub: "load" }));
        // 120, not 60: on a loaded machine the burst takes a second or more to pass, and 20 tokens refill meanwhile.
        const started = performance.now();
        const statuses = await Promise.all(
          Array.from({ length: 120 }, async () => (await call(service, "POST", "/v1/jobs", token, "{")).status),
        );
        const seconds = (performance.now() - started) / 1000;
        const admitted = statuses.filter((s) => s === 400).length;
        const limited = statuses.filter((s) => s === 429).length;
        equal(admitted + limited, 120, statuses.join());
        ok(admitted >= 40, `admitted ${admitted}: the burst is 40`);
        // While the 120 arrive within 4 s, this bound leaves some of them 429.
        ok(
          admitted <= 40 + Math.ceil(20 * seconds) + 1,
          `admitted ${admitted}, limited ${limited} in ${seconds.toFixed(2)} s`,
        );
      },
    );
  } finally {
    await service.stop("SIGTERM");
  }
});
