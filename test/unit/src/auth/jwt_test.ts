import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { authConfigFromEnv, bearerToken, CLOCK_SKEW_SECONDS, verifyToken } from "../../../../src/auth/jwt.ts";
import { UnauthorizedError } from "../../../../shared/problem.ts";
import { signToken, TEST_SECRET } from "./test_tokens.ts";

const config = { secret: TEST_SECRET };
const now = () => Math.floor(Date.now() / 1000);

async function rejects401(p: Promise<unknown>, detail?: RegExp) {
  await rejects(p, (err: unknown) => {
    ok(err instanceof UnauthorizedError, `expected UnauthorizedError, got ${err}`);
    equal(err.status, 401);
    if (detail) ok(detail.test(err.detail), err.detail);
    return true;
  });
}

Deno.test("verifyToken accepts a valid HS256 token and returns its claims", async () => {
  const claims = await verifyToken(await signToken({ roles: ["operator"] }), config);
  equal(claims.sub, "user-1");
  equal(claims.domain, "transport");
  deepEqual(claims.spatial_scope, [-180, -90, 180, 90]);
  equal(claims.data_classification, "internal");
  deepEqual(claims.roles, ["operator"]);
});

Deno.test("verifyToken rejects a token signed with another secret (forged) with 401", async () => {
  await rejects401(verifyToken(await signToken({}, { secret: "not-the-secret" }), config), /signature/);
});

Deno.test("verifyToken rejects a token whose payload was altered after signing", async () => {
  const [h, , s] = (await signToken()).split(".");
  const forged = btoa(
    JSON.stringify({
      sub: "admin",
      domain: "x",
      spatial_scope: [-180, -90, 180, 90],
      data_classification: "restricted",
      iat: now(),
      exp: now() + 600,
    }),
  ).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  await rejects401(verifyToken(`${h}.${forged}.${s}`, config));
});

Deno.test("verifyToken rejects an expired token (beyond the clock skew) with 401", async () => {
  await rejects401(
    verifyToken(await signToken({}, { iat: now() - 7200, exp: now() - CLOCK_SKEW_SECONDS - 5 }), config),
    /expired/,
  );
});

Deno.test("verifyToken tolerates an exp just inside the clock skew", async () => {
  const claims = await verifyToken(await signToken({}, { iat: now() - 600, exp: now() - 10 }), config);
  equal(claims.sub, "user-1");
});

Deno.test("verifyToken rejects nbf in the future beyond the skew with 401", async () => {
  await rejects401(verifyToken(await signToken({}, { nbf: now() + 3600 }), config), /not valid yet/);
});

Deno.test("verifyToken rejects iat in the future beyond the skew with 401", async () => {
  await rejects401(verifyToken(await signToken({}, { iat: now() + 3600, exp: now() + 7200 }), config), /iat/);
});

Deno.test("verifyToken rejects alg none with 401", async () => {
  const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const token = `${enc({ alg: "none", typ: "JWT" })}.${
    enc({
      sub: "x",
      domain: "d",
      spatial_scope: [0, 0, 1, 1],
      data_classification: "public",
      iat: now(),
      exp: now() + 60,
    })
  }.`;
  await rejects401(verifyToken(token, config), /none/);
});

Deno.test("verifyToken rejects a wrong audience when JWT_AUDIENCE is configured", async () => {
  const cfg = { ...config, audience: "spatial-jobs" };
  await rejects401(verifyToken(await signToken({}, { aud: "someone-else" }), cfg), /aud/);
  await rejects401(verifyToken(await signToken(), cfg));
  equal((await verifyToken(await signToken({}, { aud: "spatial-jobs" }), cfg)).sub, "user-1");
});

Deno.test("verifyToken rejects a wrong or missing issuer when JWT_ISSUER is configured", async () => {
  const cfg = { ...config, issuer: "https://idp.example" };
  await rejects401(verifyToken(await signToken({ iss: "https://evil.example" }), cfg), /iss/);
  await rejects401(verifyToken(await signToken(), cfg), /iss/);
  equal((await verifyToken(await signToken({ iss: "https://idp.example" }), cfg)).sub, "user-1");
});

Deno.test("verifyToken rejects a token living longer than the maximum lifetime (24 h unless configured)", async () => {
  const t = now();
  await rejects401(verifyToken(await signToken({}, { iat: t, exp: t + 86_400 + 1 }), config), /lifetime/);
  equal((await verifyToken(await signToken({}, { iat: t, exp: t + 86_400 }), config)).sub, "user-1");
  const oneHour = authConfigFromEnv({ JWT_SECRET: TEST_SECRET, JWT_MAX_LIFETIME_SECONDS: "3600" });
  await rejects401(verifyToken(await signToken({}, { iat: t, exp: t + 3601 }), oneHour), /exceeds the maximum of 3600/);
  equal((await verifyToken(await signToken({}, { iat: t, exp: t + 3600 }), oneHour)).sub, "user-1");
  throws(() => authConfigFromEnv({ JWT_SECRET: TEST_SECRET, JWT_MAX_LIFETIME_SECONDS: "forever" }), /positive/);
});

for (const claim of ["sub", "domain", "spatial_scope", "data_classification", "exp", "iat"]) {
  Deno.test(`verifyToken rejects a token without ${claim} with 401`, async () => {
    await rejects401(verifyToken(await signToken({}, { omit: [claim] }), config));
  });
}

Deno.test("verifyToken rejects an invalid spatial_scope or unknown classification", async () => {
  await rejects401(verifyToken(await signToken({ spatial_scope: [10, 0, 5, 1] }), config), /spatial_scope/);
  await rejects401(verifyToken(await signToken({ spatial_scope: [0, 0, 1] }), config), /spatial_scope/);
  await rejects401(verifyToken(await signToken({ data_classification: "secret" }), config), /data_classification/);
});

Deno.test("verifyToken rejects garbage with 401", async () => {
  await rejects401(verifyToken("a.b.c", config));
  await rejects401(verifyToken("not-a-jwt", config));
});

Deno.test("verifyToken with a JWKS accepts RS256/ES256 by kid (rotation) and refuses HS256", async () => {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const ec = await generateKeyPair("ES256", { extractable: true });
  const jwks = JSON.stringify({
    keys: [
      { ...(await exportJWK(rsa.publicKey)), kid: "old", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ec.publicKey)), kid: "new", alg: "ES256", use: "sig" },
    ],
  });
  const cfg = { jwks };
  const sign = (alg: string, kid: string, key: CryptoKey) =>
    new SignJWT({ domain: "d", spatial_scope: [0, 0, 1, 1], data_classification: "public" })
      .setProtectedHeader({ alg, kid }).setSubject("svc").setIssuedAt().setExpirationTime("5m").sign(key);
  equal((await verifyToken(await sign("RS256", "old", rsa.privateKey), cfg)).sub, "svc");
  equal((await verifyToken(await sign("ES256", "new", ec.privateKey), cfg)).sub, "svc");
  await rejects401(verifyToken(await sign("ES256", "retired", ec.privateKey), cfg));
  await rejects401(verifyToken(await signToken(), cfg), /HS256/);
});

Deno.test("bearerToken extracts only well-formed Bearer JWTs", () => {
  equal(bearerToken("Bearer a.b.c"), "a.b.c");
  equal(bearerToken("bearer a.b.c"), "a.b.c");
  equal(bearerToken("Basic abc"), null);
  equal(bearerToken("Bearer "), null);
  equal(bearerToken(undefined), null);
});

Deno.test("a token verified once is accepted again until it expires, then refused; another configuration verifies it anew", async () => {
  const at = now();
  const token = await signToken({}, { iat: at - 60, exp: at + 600 });
  equal((await verifyToken(token, config, new Date(at * 1000))).sub, "user-1");
  equal((await verifyToken(token, config, new Date((at + 30) * 1000))).sub, "user-1");
  await rejects401(verifyToken(token, config, new Date((at + 600 + CLOCK_SKEW_SECONDS + 1) * 1000)), /expired/);
  await rejects401(verifyToken(token, { secret: "another-secret-of-the-same-length!!" }), /signature/);
  await rejects401(verifyToken(token, { ...config, audience: "elsewhere" }), /aud/);
});
