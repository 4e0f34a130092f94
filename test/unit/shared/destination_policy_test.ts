import { deepEqual, equal, ok } from "node:assert/strict";
import {
  checkDestination,
  isLoopbackHost,
  policyFromEnv,
  refusedAddressReason,
  resolveAndCheck,
} from "../../../shared/destination_policy.ts";
import { JobRequest } from "../../../operations/request.ts";
import { validJob } from "./contract/fixtures.ts";

const STRICT = { allowLoopback: false };
const LOOPBACK = { allowLoopback: true };

const refused = (url: string, policy = STRICT) => {
  const verdict = checkDestination(url, policy);
  return verdict.ok ? null : verdict.reason;
};

const SPECIAL_PURPOSE = [
  "https://127.0.0.1/hook",
  "https://127.8.9.10/hook",
  "https://localhost/hook",
  "https://localhost./hook",
  "https://api.localhost/hook",
  "https://10.1.2.3/hook",
  "https://10.1.2.3./hook",
  "https://172.16.0.1/hook",
  "https://172.31.255.255/hook",
  "https://192.168.1.10:8443/hook",
  "https://169.254.169.254/latest/meta-data",
  "https://100.64.0.1/hook",
  "https://0.0.0.0/hook",
  "https://0/hook",
  "https://192.0.0.8/hook",
  "https://192.0.2.1/hook",
  "https://198.18.0.1/hook",
  "https://224.0.0.1/hook",
  "https://240.0.0.1/hook",
  "https://255.255.255.255/hook",
  "https://[::1]/hook",
  "https://[0:0:0:0:0:0:0:1]/hook",
  "https://[::]/hook",
  "https://[fc00::1]/hook",
  "https://[fd12:3456::1]/hook",
  "https://[fe80::1]/hook",
  "https://[fec0::1]/hook",
  "https://[ff02::1]/hook",
  "https://[::ffff:10.0.0.1]/hook", // IPv4-mapped
  "https://[::ffff:127.0.0.1]/hook",
  "https://[::ffff:8.8.8.8]/hook", // IPv4-mapped, even of a public address
  "https://[::127.0.0.1]/hook", // IPv4-compatible (deprecated)
  "https://[64:ff9b::a00:1]/hook", // NAT64 of 10.0.0.1
  "https://[64:ff9b:1::a9fe:a9fe]/hook", // local-use NAT64
  "https://[2002:a00:1::]/hook", // 6to4 of 10.0.0.1
  "https://[2001::1]/hook", // Teredo
  "https://[2001:db8::1]/hook", // documentation
  "https://[100::1]/hook", // discard-only
  "https://printer.local/hook",
  "https://db.internal/hook",
  "https://router.home.arpa/hook",
  "https://1.0.0.10.in-addr.arpa/hook",
  "https://intranet/hook",
  "https://2130706433/hook", // 127.0.0.1 as one decimal number
  "https://0x7f.1/hook", // hex, two parts
  "https://0177.0.0.1/hook", // octal
  "https://0xa9.0xfe.0xa9.0xfe/hook", // 169.254.169.254 in hex
  "https://%31%30.0.0.1/hook", // percent-encoded 10.0.0.1
  "https://\uff11\uff10.0.0.1/hook", // full-width digits
];

Deno.test("by default, loopback, private, link-local and other special-purpose destinations are refused in every spelling", () => {
  for (const url of SPECIAL_PURPOSE) ok(refused(url), `${url} must be refused`);
});

Deno.test("by default, public https destinations are accepted and http, credentials and other schemes refused", () => {
  equal(refused("https://example.org/hook"), null);
  equal(refused("https://hooks.example.org./hook"), null);
  equal(refused("https://93.184.216.34:8443/hook"), null);
  equal(refused("https://172.32.0.1/hook"), null);
  equal(refused("https://[2606:4700::1111]/hook"), null);
  equal(refused("http://example.org/hook"), "https is required");
  ok(refused("http://127.0.0.1:8080/hook"));
  ok(refused("https://user:pw@example.org/hook"));
  ok(refused("ftp://example.org/x"));
});

Deno.test("WEBHOOK_ALLOW_LOOPBACK allows loopback destinations (http too) and nothing else", () => {
  equal(refused("http://127.0.0.1:8080/hook", LOOPBACK), null);
  equal(refused("http://localhost:8080/hook", LOOPBACK), null);
  equal(refused("http://[::1]:8080/hook", LOOPBACK), null);
  equal(refused("https://127.0.0.1/hook", LOOPBACK), null);
  ok(refused("https://10.0.0.1/hook", LOOPBACK));
  ok(refused("https://169.254.169.254/hook", LOOPBACK));
  ok(refused("https://[::ffff:127.0.0.1]/hook", LOOPBACK), "IPv4-mapped loopback is not loopback");
  ok(refused("http://example.org/hook", LOOPBACK));
  ok(refused("http://10.0.0.1/hook", LOOPBACK));
  deepEqual(policyFromEnv({ WEBHOOK_ALLOW_LOOPBACK: "true" }), LOOPBACK);
  deepEqual(policyFromEnv({ WEBHOOK_ALLOW_LOOPBACK: "1" }), STRICT);
  deepEqual(policyFromEnv({}), STRICT);
});

Deno.test("isLoopbackHost reads hostnames as URL normalizes them", () => {
  deepEqual(["127.0.0.1", "localhost", "[::1]", "example.org", "10.0.0.1"].map(isLoopbackHost), [
    true,
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("refusedAddressReason judges resolved addresses: only global unicast passes", () => {
  equal(refusedAddressReason("93.184.216.34", STRICT), null);
  equal(refusedAddressReason("2606:4700::1111", STRICT), null);
  for (
    const address of ["10.0.0.1", "169.254.169.254", "::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"]
  ) {
    ok(refusedAddressReason(address, STRICT), address);
  }
});

/** A local DoH resolver (RFC 8484 JSON) answering from a table. */
function dohResolver(table: Record<string, { A?: string[]; AAAA?: string[] }>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    const entry = table[url.searchParams.get("name") ?? ""];
    const type = url.searchParams.get("type") as "A" | "AAAA";
    const answers = (entry?.[type] ?? []).map((data) => ({ type: type === "A" ? 1 : 28, data }));
    return Response.json({ Status: entry ? 0 : 3, Answer: answers });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/dns-query`, close: () => server.shutdown() };
}

Deno.test("resolveAndCheck refuses a public-looking name whose A or AAAA record is special-purpose", async () => {
  const doh = dohResolver({
    "public.example": { A: ["93.184.216.34"], AAAA: ["2606:4700::1111"] },
    "rebind.example": { A: ["169.254.169.254"] },
    "sixto4.example": { A: ["93.184.216.34"], AAAA: ["2002:a00:1::"] },
  });
  try {
    ok((await resolveAndCheck("https://public.example/hook", STRICT, doh.url)).ok);
    const rebind = await resolveAndCheck("https://rebind.example/hook", STRICT, doh.url);
    ok(!rebind.ok && /169\.254\.169\.254/.test(rebind.reason) && !rebind.retry, JSON.stringify(rebind));
    const sixto4 = await resolveAndCheck("https://sixto4.example/hook", STRICT, doh.url);
    ok(!sixto4.ok && /6to4/.test(sixto4.reason), JSON.stringify(sixto4));
    const missing = await resolveAndCheck("https://nowhere.example/hook", STRICT, doh.url);
    ok(!missing.ok && missing.retry, "a name without records is retried, not delivered");
    const down = await resolveAndCheck("https://public.example/hook", STRICT, "http://127.0.0.1:1/dns-query");
    ok(!down.ok && down.retry, "an unreachable resolver fails closed (retried later)");
    ok((await resolveAndCheck("https://93.184.216.34/hook", STRICT, "http://127.0.0.1:1/dns-query")).ok, "no lookup");
  } finally {
    await doh.close();
  }
});

Deno.test("JobRequest accepts an http callback_url to a loopback host only", () => {
  ok(JobRequest.safeParse(validJob({ callback_url: "http://127.0.0.1:9999/hook" })).success);
  ok(JobRequest.safeParse(validJob({ callback_url: "https://example.org/hook" })).success);
  ok(!JobRequest.safeParse(validJob({ callback_url: "http://example.org/hook" })).success);
});
