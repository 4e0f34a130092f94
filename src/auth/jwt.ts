/**
 * Bearer JWT verification with jose.
 *
 * Modes (chosen by the bindings present):
 * - `JWT_JWKS` (a JWKS JSON document) or `JWT_JWKS_URL`: production; RS256 or
 *   ES256 only, key chosen by `kid` (rotate by publishing the new key next to the old).
 * - otherwise `JWT_SECRET`: HS256 (local development, `.dev.vars`).
 * Optional `JWT_AUDIENCE` / `JWT_ISSUER` are enforced when set.
 * Clock skew tolerance: {@link CLOCK_SKEW_SECONDS} for `exp`, `nbf` and `iat`.
 * A token whose lifetime (`exp - iat`) exceeds `JWT_MAX_LIFETIME_SECONDS`
 * ({@link DEFAULT_MAX_LIFETIME_SECONDS} when unset) is refused: a leaked
 * long-lived token would otherwise stay usable for as long as it claims.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
  type JWTVerifyGetKey,
} from "jose";
import { UnauthorizedError } from "../../shared/problem.ts";
import { Claims } from "../../shared/auth/claims.ts";
import { config, CONFIG_DEFAULTS } from "../../shared/config.ts";

/** Accepted clock difference between the token issuer and this service. */
export const CLOCK_SKEW_SECONDS = 60;
const ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"] as const;
/** The longest `exp - iat` accepted when `JWT_MAX_LIFETIME_SECONDS` is not set (24 h). */
const DEFAULT_MAX_LIFETIME_SECONDS = CONFIG_DEFAULTS.JWT_MAX_LIFETIME_SECONDS;

/** The string bindings auth reads (all optional; read from any env object). */
export interface AuthConfig {
  secret?: string;
  jwks?: string;
  jwksUrl?: string;
  audience?: string;
  issuer?: string;
  /** The longest accepted `exp - iat`, in seconds. */
  maxLifetimeSeconds?: number;
}

/** The auth bindings of `env` (`shared/config.ts`: `JWT_SECRET`, `JWT_JWKS`, `JWT_JWKS_URL`, `JWT_AUDIENCE`, …). */
export function authConfigFromEnv(env: unknown): AuthConfig {
  const c = config(env);
  const known = authConfigs.get(c);
  if (known) return known;
  const out: AuthConfig = { maxLifetimeSeconds: c.JWT_MAX_LIFETIME_SECONDS };
  if (c.JWT_SECRET) out.secret = c.JWT_SECRET;
  if (c.JWT_JWKS) out.jwks = c.JWT_JWKS;
  if (c.JWT_JWKS_URL) out.jwksUrl = c.JWT_JWKS_URL;
  if (c.JWT_AUDIENCE) out.audience = c.JWT_AUDIENCE;
  if (c.JWT_ISSUER) out.issuer = c.JWT_ISSUER;
  authConfigs.set(c, out);
  return out;
}

/** The auth configuration of each parsed configuration (one per env object): the same object every request. */
const authConfigs = new WeakMap<object, AuthConfig>();

// Key material is cached per isolate, keyed by the binding's value (a rotated JWKS is a new value).
const localSets = new Map<string, JWTVerifyGetKey>();
const remoteSets = new Map<string, JWTVerifyGetKey>();
const secrets = new Map<string, Uint8Array>();

function keyFor(config: AuthConfig): { key: JWTVerifyGetKey | Uint8Array; algorithms: string[] } {
  if (config.jwks) {
    let set = localSets.get(config.jwks);
    if (!set) {
      let parsed: JSONWebKeySet;
      try {
        parsed = JSON.parse(config.jwks) as JSONWebKeySet;
      } catch {
        throw new Error("JWT_JWKS is not valid JSON");
      }
      set = createLocalJWKSet(parsed);
      localSets.set(config.jwks, set);
    }
    return { key: set, algorithms: [...ASYMMETRIC_ALGORITHMS] };
  }
  if (config.jwksUrl) {
    let set = remoteSets.get(config.jwksUrl);
    if (!set) {
      set = createRemoteJWKSet(new URL(config.jwksUrl));
      remoteSets.set(config.jwksUrl, set);
    }
    return { key: set, algorithms: [...ASYMMETRIC_ALGORITHMS] };
  }
  if (config.secret) {
    let key = secrets.get(config.secret);
    if (!key) {
      key = new TextEncoder().encode(config.secret);
      secrets.set(config.secret, key);
    }
    return { key, algorithms: ["HS256"] };
  }
  throw new Error("Authentication is not configured: set JWT_SECRET, JWT_JWKS or JWT_JWKS_URL");
}

/** Why a token was refused, in words safe to send back. */
function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "The token has expired.";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return "The token is not valid yet (nbf is in the future).";
    if (err.claim === "aud") return "The token is not meant for this service (aud).";
    if (err.claim === "iss") return "The token was issued by an unexpected issuer (iss).";
    return `The token's "${err.claim}" claim is invalid or missing.`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return "The token's signing algorithm is not accepted.";
  if (err instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is invalid.";
  if (err instanceof errors.JWKSNoMatchingKey) return "No key matches the token's kid.";
  return "The token is malformed.";
}

/**
 * Verifies a compact JWT and returns its claims, or throws {@link UnauthorizedError}
 * (401). A configuration problem throws a plain Error (a 500, logged).
 *
 * @example
 * ```ts
 * const claims = await verifyToken(token, authConfigFromEnv(c.env));
 * ```
 */
export async function verifyToken(token: string, config: AuthConfig, now: Date = new Date()): Promise<Claims> {
  const cacheKey = `${configId(config)}\u0000${token}`;
  const hit = verified.get(cacheKey);
  if (hit && now.getTime() < hit.until) return hit.claims;
  if (hit) verified.delete(cacheKey);
  const claims = await verifyUncached(token, config, now);
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  // Until the token expires as jose decides it (exp + the skew), and at most VERIFIED_TTL_MS: a key removed from
  // a remote JWKS stops a token within that time, as a refetch of the set would.
  const until = Math.min((claims.exp + CLOCK_SKEW_SECONDS) * 1000, now.getTime() + VERIFIED_TTL_MS);
  verified.set(cacheKey, { claims, until });
  return claims;
}

/**
 * Tokens this isolate verified, by configuration and compact form (its signature included): a caller sends the same
 * token with every request. Verifying an HS256 token (signature, jose's claim checks, the zod parse) took 0.16–0.27 ms,
 * a hit 0.003–0.03 ms (`scripts/bench/jwt_cache.ts`, in Deno, load average 21 on 2 cores). A token whose time checks
 * passed once passes them until it expires (nbf and iat lie in its past from then on), so a hit only re-checks the
 * expiry. Insertion order evicts the oldest.
 */
const verified = new Map<string, { claims: Claims; until: number }>();
const VERIFIED_MAX = 1_000;
const VERIFIED_TTL_MS = 60_000;

/**
 * A short id per distinct configuration (its JWKS text included), worked out once per configuration object rather
 * than joined into every request's cache key.
 */
function configId(config: AuthConfig): string {
  let id = configIds.get(config);
  if (id !== undefined) return id;
  const key = [config.secret, config.jwks, config.jwksUrl, config.audience, config.issuer, config.maxLifetimeSeconds]
    .join("\u0000");
  id = idsByKey.get(key) ?? String(idsByKey.size);
  idsByKey.set(key, id);
  configIds.set(config, id);
  return id;
}
const configIds = new WeakMap<AuthConfig, string>();
const idsByKey = new Map<string, string>();

async function verifyUncached(token: string, config: AuthConfig, now: Date): Promise<Claims> {
  const { key, algorithms } = keyFor(config);
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new UnauthorizedError("The token is malformed.");
  }
  if (typeof header.alg !== "string" || !algorithms.includes(header.alg)) {
    throw new UnauthorizedError(
      `Tokens signed with "${String(header.alg)}" are not accepted; use ${algorithms.join(" or ")}.`,
    );
  }
  let payload: unknown;
  try {
    const options = {
      algorithms,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["sub", "exp", "iat"],
      currentDate: now,
      ...(config.audience ? { audience: config.audience } : {}),
      ...(config.issuer ? { issuer: config.issuer } : {}),
    };
    const result = key instanceof Uint8Array
      ? await jwtVerify(token, key, options)
      : await jwtVerify(token, key, options);
    payload = result.payload;
  } catch (err) {
    if (err instanceof errors.JOSEError) throw new UnauthorizedError(reasonOf(err));
    throw err;
  }
  const parsed = Claims.safeParse(payload);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "token")))];
    throw new UnauthorizedError(`The token's claims are missing or invalid: ${fields.join(", ")}.`);
  }
  const claims = parsed.data;
  if (claims.iat > now.getTime() / 1000 + CLOCK_SKEW_SECONDS) {
    throw new UnauthorizedError("The token is not valid yet (iat is in the future).");
  }
  const maxLifetime = config.maxLifetimeSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS;
  if (claims.exp - claims.iat > maxLifetime) {
    throw new UnauthorizedError(
      `The token's lifetime (exp - iat = ${claims.exp - claims.iat} s) exceeds the maximum of ${maxLifetime} s.`,
    );
  }
  return claims;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer[ ]+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
