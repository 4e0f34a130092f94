/** Dev JWTs for local scripts: HS256 with the `JWT_SECRET` the dev server reads (`.dev.vars`, else `.dev.vars.example`). */
import { SignJWT } from "jose";
import { localEnvFile } from "./wrangler_dev.ts";
import type { Classification } from "../../shared/contract/common.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";

export interface DevClaims {
  sub: string;
  domain: string;
  spatial_scope: Bbox;
  data_classification: Classification;
  roles?: string[];
}

export const DEV_CLAIMS: DevClaims = {
  sub: "dev",
  domain: "geo",
  spatial_scope: [-180, -90, 180, 90],
  data_classification: "restricted",
};

/** `JWT_SECRET` from the env file the dev server uses. */
export async function devSecret(file = localEnvFile()): Promise<string> {
  const text = await Deno.readTextFile(file);
  const line = text.split("\n").find((l) => /^\s*JWT_SECRET\s*=/.test(l));
  const value = line?.slice(line.indexOf("=") + 1).trim().replace(/^(["'])(.*)\1$/, "$2");
  if (!value) throw new Error(`No JWT_SECRET in "${file}"; add one or pass the secret explicitly.`);
  return value;
}

/** A signed token with `claims` over {@link DEV_CLAIMS}, valid for `ttlSeconds`. */
export async function devToken(
  claims: Partial<DevClaims> = {},
  options: { ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const { sub, ...rest } = { ...DEV_CLAIMS, ...claims };
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT(rest as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? await devSecret()));
}
