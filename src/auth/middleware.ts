/** Bearer auth middleware: verifies the token and puts the claims in the context. */
import type { MiddlewareHandler } from "hono";
import { UnauthorizedError } from "../../shared/problem.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import type { Claims } from "../../shared/auth/claims.ts";
import { assertOperator } from "../../shared/auth/abac.ts";
import { authConfigFromEnv, bearerToken, verifyToken } from "./jwt.ts";

export interface AuthVariables {
  claims: Claims;
  logger: Logger;
}

/** Paths served without a token. */
const PUBLIC_PATHS: readonly string[] = ["/health", "/openapi.json"];

/** `GET`/`HEAD /v1/jobs/{job_id}/result` with a `signature`: a signed link, verified by its route instead. */
export function isSignedResultRequest(request: Request): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const url = new URL(request.url);
  return /^\/v1\/jobs\/[^/]+\/result$/.test(url.pathname) && url.searchParams.has("signature");
}

/**
 * Requires a valid bearer token (401 otherwise) except on {@link PUBLIC_PATHS} and signed result links
 * ({@link isSignedResultRequest}, which carry their own credential); sets `c.var.claims` and binds `sub` into
 * the request logger. With `queryToken`, a request without an Authorization header may carry the token as
 * `?access_token=` (RFC 6750 §2.3: pages a browser opens).
 */
export function bearerAuth(options: { queryToken?: boolean } = {}): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function bearerAuthMiddleware(c, next) {
    if (PUBLIC_PATHS.includes(c.req.path) || isSignedResultRequest(c.req.raw)) return await next();
    const header = c.req.header("authorization");
    const token = bearerToken(header) ?? (options.queryToken && !header ? c.req.query("access_token") : undefined);
    if (!token) {
      throw new UnauthorizedError(
        header ? "The Authorization header is not a Bearer JWT." : "A bearer token is required.",
      );
    }
    try {
      const claims = await verifyToken(token, authConfigFromEnv(c.env));
      c.set("claims", claims);
      if (c.get("logger")) c.set("logger", c.get("logger").child({ sub: claims.sub }));
    } catch (err) {
      if (err instanceof UnauthorizedError) c.get("logger")?.warn("auth rejected", { reason: err.detail });
      throw err;
    }
    await next();
  };
}

/**
 * Requires the operator role (403 otherwise) before any route validation runs,
 * so a non-operator learns nothing about `/v1/ops/...` inputs. Register after
 * {@link bearerAuth}.
 */
export function requireOperator(): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireOperatorMiddleware(c, next) {
    assertOperator(c.get("claims"), c.get("logger"));
    await next();
  };
}
