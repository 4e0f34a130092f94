import { deepEqual, equal, ok } from "node:assert/strict";
import { checkDestination, isLoopbackHost, isProduction } from "../../../src/http/destination_policy.ts";
import { JobRequest } from "../../../src/contract/job.ts";
import { validJob } from "../contract/fixtures.ts";

const refused = (url: string, production: boolean) => {
  const verdict = checkDestination(url, production);
  return verdict.ok ? null : verdict.reason;
};

Deno.test("production refuses loopback, private, link-local and local-name callback destinations", () => {
  for (
    const url of [
      "https://127.0.0.1/hook",
      "https://127.8.9.10/hook",
      "https://localhost/hook",
      "https://api.localhost/hook",
      "https://10.1.2.3/hook",
      "https://172.16.0.1/hook",
      "https://172.31.255.255/hook",
      "https://192.168.1.10:8443/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/hook",
      "https://0.0.0.0/hook",
      "https://[::1]/hook",
      "https://[::]/hook",
      "https://[fc00::1]/hook",
      "https://[fd12:3456::1]/hook",
      "https://[fe80::1]/hook",
      "https://[::ffff:10.0.0.1]/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "https://printer.local/hook",
      "https://db.internal/hook",
      "https://intranet/hook",
      "https://2130706433/hook", // 127.0.0.1 as one number: URL normalizes it
      "https://0x7f.1/hook",
    ]
  ) {
    ok(refused(url, true), `${url} must be refused in production`);
  }
});

Deno.test("production accepts public https destinations and refuses http and credentials", () => {
  equal(refused("https://example.org/hook", true), null);
  equal(refused("https://93.184.216.34:8443/hook", true), null);
  equal(refused("https://172.32.0.1/hook", true), null);
  equal(refused("https://[2606:4700::1111]/hook", true), null);
  equal(refused("http://example.org/hook", true), "https is required");
  equal(refused("http://127.0.0.1:8080/hook", true), "https is required");
  ok(refused("https://user:pw@example.org/hook", true));
  ok(refused("ftp://example.org/x", true));
});

Deno.test("development allows http only to a loopback host", () => {
  equal(refused("http://127.0.0.1:8080/hook", false), null);
  equal(refused("http://localhost:8080/hook", false), null);
  equal(refused("http://[::1]:8080/hook", false), null);
  equal(refused("https://10.0.0.1/hook", false), null);
  ok(refused("http://example.org/hook", false));
  ok(refused("http://10.0.0.1/hook", false));
});

Deno.test("isLoopbackHost and isProduction read hostnames and ENVIRONMENT exactly", () => {
  deepEqual(["127.0.0.1", "localhost", "[::1]", "example.org", "10.0.0.1"].map(isLoopbackHost), [
    true,
    true,
    true,
    false,
    false,
  ]);
  equal(isProduction({ ENVIRONMENT: "production" }), true);
  equal(isProduction({ ENVIRONMENT: "development" }), false);
  equal(isProduction({}), false);
});

Deno.test("JobRequest accepts an http callback_url to a loopback host only", () => {
  ok(JobRequest.safeParse(validJob({ callback_url: "http://127.0.0.1:9999/hook" })).success);
  ok(JobRequest.safeParse(validJob({ callback_url: "https://example.org/hook" })).success);
  ok(!JobRequest.safeParse(validJob({ callback_url: "http://example.org/hook" })).success);
});
