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

/**
 * Requires a valid bearer token (401 otherwise) except on {@link PUBLIC_PATHS};
 * sets `c.var.claims` and binds `sub` into the request logger.
 */
export function bearerAuth(): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function bearerAuthMiddleware(c, next) {
    if (PUBLIC_PATHS.includes(c.req.path)) return await next();
    const header = c.req.header("authorization");
    const token = bearerToken(header);
    if (!token) {
      throw new UnauthorizedError(
        header ? "The Authorization header is not a Bearer JWT." : "A bearer token is required.",
      );
    }
    try {
      const claims = await verifyToken(token, authConfigFromEnv(c.env));
      c.set("claims", claims);
      if (c.var.logger) c.set("logger", c.var.logger.child({ sub: claims.sub }));
    } catch (err) {
      if (err instanceof UnauthorizedError) c.var.logger?.warn("auth rejected", { reason: err.detail });
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
    assertOperator(c.var.claims, c.var.logger);
    await next();
  };
}
