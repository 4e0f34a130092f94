/**
 * `deno task token`: prints a dev JWT (HS256 with the `JWT_SECRET` of `.dev.vars`, else `.dev.vars.example`).
 *
 * @example
 * ```sh
 * TOKEN=$(deno task -q token)        # sub=dev, domain=geo, scope = whole world, tier = restricted, 1 h
 * TOKEN=$(deno task -q token --sub alice --domain parks --classification public --scope -80,35,-70,45 --ttl 600)
 * TOKEN=$(deno task -q token --roles operator)
 * ```
 */
import { parseArgs } from "node:util";
import { DEV_CLAIMS, type DevClaims, devToken } from "./lib/dev_token.ts";
import { CLASSIFICATIONS } from "../shared/contract/common.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sub: { type: "string", default: DEV_CLAIMS.sub },
    domain: { type: "string", default: DEV_CLAIMS.domain },
    scope: { type: "string", default: DEV_CLAIMS.spatial_scope.join(",") },
    classification: { type: "string", default: DEV_CLAIMS.data_classification },
    roles: { type: "string" },
    ttl: { type: "string", default: "3600" },
    secret: { type: "string" },
  },
});

const scope = values.scope.split(",").map(Number);
if (scope.length !== 4 || scope.some((n) => !Number.isFinite(n))) fail(`--scope must be "minLon,minLat,maxLon,maxLat"`);
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail("--ttl must be a positive whole number of seconds");
const tier = values.classification as DevClaims["data_classification"];
if (!CLASSIFICATIONS.includes(tier)) fail(`--classification must be one of ${CLASSIFICATIONS.join(", ")}`);

const claims: Partial<DevClaims> = {
  sub: values.sub,
  domain: values.domain,
  spatial_scope: scope as DevClaims["spatial_scope"],
  data_classification: tier,
};
if (values.roles) claims.roles = values.roles.split(",");
console.log(await devToken(claims, { ttlSeconds: ttl, ...(values.secret ? { secret: values.secret } : {}) }));

function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}
