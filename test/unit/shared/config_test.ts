import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { config, CONFIG_DEFAULTS, ConfigError, configTable, SETTINGS } from "../../../shared/config.ts";

const root = new URL("../../../", import.meta.url);

Deno.test("an env that sets nothing gets the documented defaults, typed", () => {
  equal(CONFIG_DEFAULTS.SLICE_WORK_UNITS, 2_000_000);
  equal(CONFIG_DEFAULTS.PARTITION_RESOLUTION, 1);
  equal(CONFIG_DEFAULTS.LOG_LEVEL, "info");
  equal(CONFIG_DEFAULTS.WEBHOOK_ALLOW_LOOPBACK, false);
  equal(CONFIG_DEFAULTS.WEBHOOK_DNS_RESOLVER, "https://cloudflare-dns.com/dns-query");
  equal(CONFIG_DEFAULTS.JWT_SECRET, undefined, "a secret has no default");
  deepEqual([CONFIG_DEFAULTS.SUBMIT_RATE_PER_SECOND, CONFIG_DEFAULTS.SUBMIT_RATE_BURST], [20, 40]);
});

Deno.test("set bindings are parsed to numbers; an empty one falls back to its default, except where empty means off", () => {
  const c = config({ STALL_AFTER_MS: "1", MAX_RETRIES: "0", INLINE_PAYLOAD_BYTES: "", WEBHOOK_DNS_RESOLVER: "" });
  deepEqual([c.STALL_AFTER_MS, c.MAX_RETRIES, c.INLINE_PAYLOAD_BYTES], [1, 0, 16_384]);
  equal(c.WEBHOOK_DNS_RESOLVER, undefined, '"" turns the DNS check off');
  deepEqual([
    config({ SUBMIT_RATE_PER_SECOND: "500" }).SUBMIT_RATE_BURST,
    config({ SUBMIT_RATE_BURST: "5" }).SUBMIT_RATE_BURST,
  ], [
    500,
    5,
  ], "the burst defaults to the rate when that is higher");
  equal(config({ WEBHOOK_ALLOW_LOOPBACK: "1" }).WEBHOOK_ALLOW_LOOPBACK, false, 'only "true" opts in');
});

Deno.test("a malformed binding is a ConfigError naming each bad binding, its value and what was expected", () => {
  throws(
    () => config({ SUBMIT_RATE_PER_SECOND: "abc", SLICE_WORK_UNITS: "0", LOG_LEVEL: "loud" }),
    (e: unknown) => {
      ok(e instanceof ConfigError && e instanceof TypeError);
      deepEqual(e.problems.map((p) => p.binding).sort(), ["LOG_LEVEL", "SLICE_WORK_UNITS", "SUBMIT_RATE_PER_SECOND"]);
      ok(e.message.includes('SLICE_WORK_UNITS = "0" (expected a positive number of work units)'), e.message);
      ok(e.message.includes('LOG_LEVEL = "loud" (expected one of debug, info, warn, error)'), e.message);
      return true;
    },
  );
  throws(() => config({ JWT_MAX_LIFETIME_SECONDS: "forever" }), /JWT_MAX_LIFETIME_SECONDS = "forever".*positive/);
  throws(() => config({ WEBHOOK_DNS_RESOLVER: "not a url" }), /WEBHOOK_DNS_RESOLVER/);
});

Deno.test("every var in wrangler.toml is a binding the config module knows, and its value parses", async () => {
  const vars = varsOf(await Deno.readTextFile(new URL("wrangler.toml", root)));
  ok(Object.keys(vars).length > 0);
  for (const name of Object.keys(vars)) ok(name in SETTINGS, `${name} is read through shared/config.ts`);
  config(vars);
});

Deno.test("the README's configuration table is the one shared/config.ts generates", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const table = configTable();
  ok(readme.includes(table), `README.md should contain this table (from shared/config.ts):\n${table}`);
});

/** The `NAME = "value"` lines of each `[vars]` table (top level and per environment). */
function varsOf(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let inVars = false;
  for (const line of toml.split("\n")) {
    const table = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (table) inVars = /(^|\.)vars$/.test(table[1]!);
    const entry = inVars ? /^\s*([A-Z0-9_]+)\s*=\s*"([^"]*)"/.exec(line) : null;
    if (entry) vars[entry[1]!] = entry[2]!;
  }
  return vars;
}
