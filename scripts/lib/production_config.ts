/**
 * What `deno task deploy:check` can tell from `wrangler.toml` alone about the `production` environment before
 * anything is deployed: no secret written into the file, a strict callback policy, vars the Worker accepts,
 * observability logs and traces on, the cron sweep, every Durable Object class bound and created by a migration,
 * and the R2 bucket bound.
 */
import { parse } from "smol-toml";
import { config, ConfigError, SETTINGS } from "../../shared/config.ts";

/** Bindings that are secrets although shared/config.ts does not parse them (read straight from `env`). */
const UNLISTED_SECRETS = /(SECRET|_KEY|TOKEN|PASSWORD|JWKS)$/;

type Table = Record<string, unknown>;

const table = (value: unknown): Table =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? value as Table : {};
const tables = (value: unknown): Table[] => Array.isArray(value) ? value.map(table) : [];
const strings = (value: unknown): string[] => Array.isArray(value) ? value.map(String) : [];

/** The Durable Object classes `src/worker.ts` exports (the ones the runtime must know). */
export function exportedDurableObjectClasses(workerSource: string): string[] {
  return [...workerSource.matchAll(/export \{ (\w+) \} from "\.\.\/durable-objects\//g)].map((m) => m[1]!).sort();
}

/** Every problem with `[env.<envName>]` of the parsed `wrangler.toml` text; empty when it is safe to deploy. */
export function productionProblems(wranglerToml: string, doClasses: string[], envName = "production"): string[] {
  const root = parse(wranglerToml) as Table;
  const env = table(table(root.env)[envName]);
  if (Object.keys(env).length === 0) return [`wrangler.toml has no [env.${envName}]`];
  const at = `env.${envName}`;
  const problems: string[] = [];

  const vars = table(env.vars);
  const settings = SETTINGS as Record<string, { secret?: boolean }>;
  for (const name of Object.keys(vars)) {
    if (settings[name]?.secret || UNLISTED_SECRETS.test(name)) {
      problems.push(`${at}.vars.${name} is a secret: set it with \`wrangler secret put ${name}\`, not in the file`);
    }
  }
  try {
    const parsed = config(Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])));
    if (parsed.WEBHOOK_ALLOW_LOOPBACK) problems.push(`${at}.vars.WEBHOOK_ALLOW_LOOPBACK lets callbacks reach loopback`);
    if (parsed.WEBHOOK_DNS_RESOLVER === undefined) {
      problems.push(`${at}.vars.WEBHOOK_DNS_RESOLVER is empty: callback hosts would not be vetted`);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(`${at}.vars: ${error.message}`);
  }

  const observability = table(env.observability ?? root.observability);
  if (observability.enabled !== true) problems.push(`${at}.observability.enabled is not true`);
  if (table(observability.logs).enabled !== true) problems.push(`${at}.observability.logs.enabled is not true`);
  if (table(observability.traces).enabled !== true) problems.push(`${at}.observability.traces.enabled is not true`);

  const crons = table(env.triggers ?? root.triggers).crons;
  if (!Array.isArray(crons) || crons.length === 0) problems.push(`${at} has no cron trigger (the stall sweep)`);

  const bound = new Set(tables(table(env.durable_objects).bindings).map((b) => String(b.class_name)));
  const created = new Set<string>();
  const tags = new Set<string>();
  for (const migration of tables(env.migrations ?? root.migrations)) {
    const tag = String(migration.tag);
    if (tags.has(tag)) problems.push(`migration tag "${tag}" is used twice`);
    tags.add(tag);
    for (const name of [...strings(migration.new_sqlite_classes), ...strings(migration.new_classes)]) created.add(name);
    for (const { from, to } of tables(migration.renamed_classes)) {
      created.delete(String(from));
      created.add(String(to));
    }
    for (const name of strings(migration.deleted_classes)) created.delete(name);
  }
  for (const name of doClasses) {
    if (!bound.has(name)) problems.push(`${at} binds no Durable Object namespace of class ${name}`);
    if (!created.has(name)) problems.push(`no [[migrations]] entry creates the Durable Object class ${name}`);
  }

  const buckets = tables(env.r2_buckets);
  if (!buckets.some((b) => b.binding === "TILES" && typeof b.bucket_name === "string" && b.bucket_name)) {
    problems.push(`${at} binds no R2 bucket as TILES`);
  }
  return problems;
}
