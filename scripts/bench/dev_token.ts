/**
 * Dev tokens for the local service: HS256 JWTs signed with the `JWT_SECRET` of
 * `.dev.vars` (or `.dev.vars.example` when there is none), the same file
 * `wrangler dev` reads.
 */
import { SignJWT } from "jose";
import { localEnvFile } from "../lib/wrangler_dev.ts";

export interface DevClaims {
  sub: string;
  domain: string;
  spatial_scope: [number, number, number, number];
  data_classification: "public" | "internal" | "confidential" | "restricted";
}

export const DEFAULT_DEV_CLAIMS: DevClaims = {
  sub: "publisher",
  domain: "geo",
  spatial_scope: [-180, -90, 180, 90],
  data_classification: "restricted",
};

/** `JWT_SECRET` from `file` (default: the env file the dev server uses). */
export async function devSecret(file = localEnvFile()): Promise<string> {
  const text = await Deno.readTextFile(file);
  const line = text.split("\n").find((l) => /^\s*JWT_SECRET\s*=/.test(l));
  const value = line?.slice(line.indexOf("=") + 1).trim().replace(/^(["'])(.*)\1$/, "$2");
  if (!value) throw new Error(`No JWT_SECRET in "${file}"; add one or pass --token.`);
  return value;
}

/** A dev JWT valid for `ttlSeconds` with `claims` over {@link DEFAULT_DEV_CLAIMS}. */
export async function devToken(claims: Partial<DevClaims> = {}, ttlSeconds = 6 * 3600): Promise<string> {
  const all = { ...DEFAULT_DEV_CLAIMS, ...claims };
  const { sub, ...rest } = all;
  return await new SignJWT(rest as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(await devSecret()));
}
