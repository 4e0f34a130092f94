/**
 * Where the service may send webhook callbacks. Checked on `POST /v1/jobs`
 * (422 on `callback_url`) and again by the partition right before every
 * delivery, so a policy change also stops callbacks already queued.
 *
 * - Production (`ENVIRONMENT = "production"`): https only, and never to a
 *   loopback, private, link-local, CGNAT, multicast or unspecified address,
 *   `localhost` or a `*.local`/`*.localhost`/`*.internal` name.
 * - Anywhere else (development, tests): https anywhere, plus plain http to a
 *   loopback host, so a test can run its receiver on 127.0.0.1.
 *
 * The check reads the URL only (Workers cannot resolve DNS before a fetch): a
 * public name that resolves to a private address is not caught here; in
 * production Cloudflare's egress does not reach private networks anyway.
 */

import { ValidationError } from "./problem.ts";

export type DestinationVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** Whether the Worker runs in production mode (`ENVIRONMENT` is exactly "production"). */
export function isProduction(env: { ENVIRONMENT?: string }): boolean {
  return env.ENVIRONMENT === "production";
}

/**
 * Checks a callback destination.
 *
 * @example
 * ```ts
 * checkDestination("https://10.0.0.7/hook", true); // { ok: false, reason: "private address ..." }
 * checkDestination("http://127.0.0.1:8080/hook", false); // { ok: true, url }
 * ```
 */
export function checkDestination(raw: string | URL, production: boolean): DestinationVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === "http:") {
    if (production) return { ok: false, reason: "https is required" };
    if (!loopback) return { ok: false, reason: "plain http is allowed only to a loopback host, in development" };
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: `scheme "${url.protocol}" is not allowed; use https` };
  if (production) {
    const refused = refusedHostReason(url.hostname);
    if (refused) return { ok: false, reason: refused };
  }
  return { ok: true, url };
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (hostnames as `URL` normalizes them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = parseIpv4(host);
  if (v4) return v4[0] === 127;
  const v6 = parseIpv6(host);
  return v6 !== null && isV6Loopback(v6);
}

/** Why a production callback may not go to `hostname`, or null when it may. */
function refusedHostReason(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (isLoopbackHost(host)) return `loopback destination "${hostname}" is refused`;
  if (host.endsWith(".local") || host.endsWith(".internal") || !host.includes(".") && !host.startsWith("[")) {
    return `local network name "${hostname}" is refused`;
  }
  const v4 = parseIpv4(host);
  if (v4) return privateV4(v4) ? `private or reserved address "${hostname}" is refused` : null;
  const v6 = parseIpv6(host);
  if (v6) {
    const mapped = v4Mapped(v6);
    if (mapped) return privateV4(mapped) ? `private or reserved address "${hostname}" is refused` : null;
    const first = v6[0]!;
    const reserved = v6.every((w) => w === 0) || // ::
      (first & 0xfe00) === 0xfc00 || // fc00::/7 unique local
      (first & 0xffc0) === 0xfe80 || // fe80::/10 link-local
      (first & 0xff00) === 0xff00; // ff00::/8 multicast
    return reserved ? `private or reserved address "${hostname}" is refused` : null;
  }
  return null;
}

function privateV4([a, b]: number[]): boolean {
  return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) || (a === 100 && b! >= 64 && b! <= 127) || a! >= 224;
}

function parseIpv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** Eight 16-bit words of a bracketed IPv6 literal as `URL` serializes it (compressed, lower case). */
function parseIpv6(host: string): number[] | null {
  if (!host.startsWith("[") || !host.endsWith("]")) return null;
  let body = host.slice(1, -1);
  // A trailing dotted quad (::ffff:1.2.3.4); `URL` normally rewrites it to hex already.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (quad) {
    const v4 = parseIpv4(quad[1]!);
    if (!v4) return null;
    body = body.slice(0, -quad[1]!.length) +
      `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const words = (s: string) => s ? s.split(":").map((w) => parseInt(w, 16)) : [];
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array(Math.max(0, fill)).fill(0), ...tail];
  return all.length === 8 && all.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? all : null;
}

function isV6Loopback(words: number[]): boolean {
  return words.slice(0, 7).every((w) => w === 0) && words[7] === 1 ||
    (v4Mapped(words)?.[0] === 127);
}

function v4Mapped(words: number[]): number[] | null {
  if (!words.slice(0, 5).every((w) => w === 0) || words[5] !== 0xffff) return null;
  return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff];
}

/** Throws a 422 on `callback_url` when the destination is not allowed in this environment. */
export function assertCallbackDestination(url: string, env: { ENVIRONMENT?: string }): void {
  const verdict = checkDestination(url, isProduction(env));
  if (!verdict.ok) {
    throw new ValidationError(`callback_url is not an allowed destination: ${verdict.reason}.`, [
      { path: "callback_url", message: verdict.reason },
    ]);
  }
}
