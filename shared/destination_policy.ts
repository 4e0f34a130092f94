/**
 * Where the service may send webhook callbacks. Checked on `POST /v1/jobs`
 * (422 on `callback_url`) and again right before every delivery attempt, so a
 * policy change also stops callbacks already queued.
 *
 * By default: https only, to a public host. Refused: any address outside the
 * IANA global unicast space (`ipaddr.js` ranges: private, loopback, link-local,
 * CGNAT, unspecified, broadcast, multicast, documentation, benchmarking,
 * reserved; IPv6 outside 2000::/3, unique local, IPv4-mapped `::ffff:a.b.c.d`,
 * NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo, ORCHID), `localhost` and the
 * special-use names (`*.local`, `*.internal`, `*.home.arpa`, single labels …).
 * IPv4 literals in any spelling the WHATWG URL parser accepts (decimal
 * `2130706433`, octal `0177.0.0.1`, hex `0x7f.1`, trailing dots,
 * percent-encoding, full-width digits) are normalized by `URL` first.
 *
 * The one opt-in, for a receiver on the same machine (local development and the
 * tests): `WEBHOOK_ALLOW_LOOPBACK = "true"` lets callbacks go to a loopback host
 * (127.0.0.0/8, ::1, `localhost`), over http too. Private networks stay refused.
 *
 * A name is checked here by its text only; its addresses are checked at every
 * delivery ({@link resolveAndCheck}).
 */
import ipaddr from "ipaddr.js";
import { ValidationError } from "./problem.ts";
import { config } from "./config.ts";

export type DestinationVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** What the policy allows beyond public https destinations. */
export interface DestinationPolicy {
  /** Loopback destinations (http or https) are allowed: `WEBHOOK_ALLOW_LOOPBACK = "true"`. */
  allowLoopback: boolean;
}

/**
 * The policy configured by `env` (strict unless `WEBHOOK_ALLOW_LOOPBACK` is exactly "true"; the opt-in lives in
 * `.dev.vars` or a `--var`, not in wrangler.toml, so it is not part of the generated `Env`).
 */
export function policyFromEnv(env: object): DestinationPolicy {
  return { allowLoopback: config(env).WEBHOOK_ALLOW_LOOPBACK };
}

/** IPv6 global unicast (RFC 4291): everything else is reserved, whatever `ipaddr.js` calls it. */
const GLOBAL_UNICAST_V6: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse("2000::"), 3];

/** RFC 6761 / RFC 8375 / RFC 9476 special-use names and widely used private suffixes. */
const SPECIAL_USE_SUFFIXES = ["local", "localhost", "internal", "home.arpa", "arpa", "invalid", "test", "onion", "alt"];

/**
 * Checks a callback destination as written.
 *
 * @example
 * ```ts
 * checkDestination("https://10.0.0.7/hook", { allowLoopback: false }); // { ok: false, reason: "..." }
 * checkDestination("http://127.0.0.1:8080/hook", { allowLoopback: true }); // { ok: true, url }
 * ```
 */
export function checkDestination(raw: string | URL, policy: DestinationPolicy): DestinationVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: `scheme "${url.protocol}" is not allowed; use https` };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (loopback && policy.allowLoopback) return { ok: true, url };
  if (url.protocol === "http:") {
    return {
      ok: false,
      reason: loopback ? "loopback destinations are refused (WEBHOOK_ALLOW_LOOPBACK is not set)" : "https is required",
    };
  }
  const refused = refusedHostReason(url.hostname);
  return refused ? { ok: false, reason: refused } : { ok: true, url };
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1 (hostnames as `URL` normalizes them). */
export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const address = parseAddress(host);
  return address !== null && address.range() === "loopback";
}

/** Why `address` (an IP literal without brackets) is not a public destination, or null when it is. */
export function refusedAddressReason(address: string, policy: DestinationPolicy): string | null {
  const parsed = parseAddress(address);
  if (!parsed) return `"${address}" is not an IP address`;
  const range = parsed.range();
  if (range === "loopback" && policy.allowLoopback) return null;
  const globalUnicast = range === "unicast" && (parsed.kind() === "ipv4" || parsed.match(GLOBAL_UNICAST_V6));
  return globalUnicast ? null : `address ${parsed.toString()} is ${range === "unicast" ? "reserved" : range}`;
}

/** Why a host name or literal is refused as written, or null. */
function refusedHostReason(hostname: string): string | null {
  const host = bareHost(hostname);
  if (parseAddress(host)) {
    const reason = refusedAddressReason(host, { allowLoopback: false });
    return reason ? `destination "${hostname}" is refused: ${reason}` : null;
  }
  if (!host.includes(".")) return `single-label name "${hostname}" is refused`;
  const suffix = SPECIAL_USE_SUFFIXES.find((s) => host === s || host.endsWith(`.${s}`));
  return suffix ? `special-use name "${hostname}" (.${suffix}) is refused` : null;
}

/** Lower case, brackets and trailing dots dropped. */
function bareHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1").replace(/\.+$/, "");
}

function parseAddress(host: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  return ipaddr.isValid(host) && (host.includes(":") || ipaddr.IPv4.isValidFourPartDecimal(host))
    ? ipaddr.parse(host)
    : null;
}

/** Throws a 422 on `callback_url` when the destination is not allowed. */
export function assertCallbackDestination(url: string, env: object): void {
  const verdict = checkDestination(url, policyFromEnv(env));
  if (!verdict.ok) {
    throw new ValidationError(`callback_url is not an allowed destination: ${verdict.reason}.`, [
      { path: "callback_url", message: verdict.reason },
    ]);
  }
}

/** A resolver's answer for a name: its addresses, or why they could not be had. */
export type Resolution = { ok: true; addresses: string[] } | { ok: false; reason: string };

/**
 * The delivery-time check: {@link checkDestination}, then, for a name, its A and
 * AAAA records from the DNS-over-HTTPS resolver `resolverUrl` (RFC 8484 JSON
 * API, e.g. `https://cloudflare-dns.com/dns-query`), every one of which must be
 * a public address. Workers have no DNS API and `fetch` resolves on its own,
 * so this is the closest check available: it catches a public name pointing at
 * a private address, not a name that changes its answer between the two
 * lookups (DNS rebinding); on Cloudflare, egress cannot reach private
 * networks either way. Without a resolver, names are checked by text only.
 * `retry` says whether a failure may pass (the resolver was unreachable).
 */
export async function resolveAndCheck(
  raw: string,
  policy: DestinationPolicy,
  resolverUrl: string | undefined,
  timeoutMs = 5_000,
): Promise<DestinationVerdict & { retry?: boolean }> {
  const verdict = checkDestination(raw, policy);
  if (!verdict.ok || !resolverUrl) return verdict;
  const host = bareHost(verdict.url.hostname);
  if (parseAddress(host) || (policy.allowLoopback && isLoopbackHost(host))) return verdict;
  const resolution = await resolveDoh(resolverUrl, host, timeoutMs);
  if (!resolution.ok) return { ok: false, reason: resolution.reason, retry: true };
  if (resolution.addresses.length === 0) return { ok: false, reason: `"${host}" has no A or AAAA record`, retry: true };
  for (const address of resolution.addresses) {
    const reason = refusedAddressReason(address, policy);
    if (reason) return { ok: false, reason: `"${host}" resolves to a refused ${reason}` };
  }
  return verdict;
}

/** A and AAAA records of `name` (following CNAMEs, as the resolver does) through a DoH JSON resolver. */
async function resolveDoh(resolverUrl: string, name: string, timeoutMs: number): Promise<Resolution> {
  const addresses: string[] = [];
  for (const type of ["A", "AAAA"] as const) {
    const url = new URL(resolverUrl);
    url.searchParams.set("name", name);
    url.searchParams.set("type", type);
    try {
      const response = await fetch(url, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return { ok: false, reason: `DNS resolver answered HTTP ${response.status}` };
      }
      const body = await response.json() as { Status?: number; Answer?: { type?: number; data?: string }[] };
      if (body.Status !== 0 && body.Status !== 3) return { ok: false, reason: `DNS status ${body.Status}` };
      for (const answer of body.Answer ?? []) {
        if ((answer.type === 1 || answer.type === 28) && typeof answer.data === "string") addresses.push(answer.data);
      }
    } catch (error) {
      return { ok: false, reason: `DNS resolution failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  return { ok: true, addresses };
}
