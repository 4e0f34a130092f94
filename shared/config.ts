/**
 * The service's configuration: every binding the Worker and the Durable Objects read from `env` (vars in
 * `wrangler.toml` or `--var`, secrets in `.dev.vars` or `wrangler secret put`), each with its default and unit here
 * and nowhere else. {@link config} parses an env object once (per isolate) and throws a {@link ConfigError} naming
 * every bad value.
 *
 * @example
 * ```ts
 * const { SLICE_WORK_UNITS, STALL_AFTER_MS } = config(env);
 * ```
 */
import { z } from "zod";

/** One binding: how its string parses, its default (as written in `wrangler.toml`), unit and meaning. */
interface Setting<T> {
  schema: z.ZodType<T>;
  /** The value used when the binding is absent or empty; `undefined`: none (the setting is optional). */
  default: string | undefined;
  /** What the README's configuration table shows for the default when it is not a plain value. */
  defaultNote?: string;
  unit: string;
  /** A secret (`.dev.vars` locally, `wrangler secret put` deployed), not a var. */
  secret?: boolean;
  /** An empty string is a value (it turns the feature off), not a missing binding. */
  emptyIsValue?: boolean;
  description: string;
}

const INTEGER = /^\d+$/;
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.string().regex(INTEGER, `expected an integer between ${min} and ${max}`).transform(Number).pipe(
    z.number().min(min, `expected an integer ≥ ${min}`).max(max, `expected an integer ≤ ${max}`),
  );
const positive = (what: string) =>
  z.string().regex(INTEGER, `expected a positive ${what}`).transform(Number).pipe(
    z.number().min(1, `expected a positive ${what}`),
  );
const rate = z.string().regex(/^\d+(\.\d+)?$/, "expected a number ≥ 0").transform(Number);
const text = z.string();
const url = z.url("expected an https URL");

function setting<T, D extends string | undefined>(s: Setting<T> & { default: D }): Setting<T> & { default: D } {
  return s;
}

/** Every binding, in the order the README's table lists them. */
export const SETTINGS = {
  LOG_LEVEL: setting({
    schema: z.enum(["debug", "info", "warn", "error"], "expected one of debug, info, warn, error"),
    default: "info",
    unit: "level",
    description: "Log lines below this level are not written (`debug` adds slice checkpoints and policy allows).",
  }),
  PARTITION_RESOLUTION: setting({
    schema: integer(0, 15),
    default: "1",
    unit: "H3 resolution",
    description: "Resolution of partitions and of the tiles of datasets published from now on (1: ~610,000 km²).",
  }),
  PARTITION_GROUP_BYTES: setting({
    schema: integer(0),
    default: "8388608",
    unit: "bytes",
    description: "Sparse tile cells merge into their H3 parent while a partition's tile bytes stay within this; " +
      "`0`: one partition per tile cell.",
  }),
  RESULT_CHUNK_BYTES: setting({
    schema: integer(1),
    default: "8388608",
    unit: "bytes",
    description: "Results larger than this go to R2 as a multipart upload of chunks this size (at least 5 MiB).",
  }),
  NETWORK_BLOCK_VERTICES: setting({
    schema: integer(1),
    default: "65536",
    unit: "vertices",
    description: "A network's topology is stored in blocks of H3 cells at the finest resolution whose largest block " +
      "holds at most this many vertices.",
  }),
  INLINE_PAYLOAD_BYTES: setting({
    schema: integer(0),
    default: "16384",
    unit: "bytes",
    description: "A `geometry_payload` whose tiles total at most this travels inside the job spec, not R2 " +
      "(`0`: always R2).",
  }),
  // At most 1 MiB: base64 in the job's row, which a Durable Object's SQLite caps at 2 MB.
  INLINE_RESULT_BYTES: setting({
    schema: integer(0, 1024 * 1024),
    default: "4096",
    unit: "bytes",
    description: "A result whose stored bytes total at most this is kept in the job's record at its home " +
      "partition, not R2 (`0`: always R2; at most 1 MiB).",
  }),
  SLICE_WORK_UNITS: setting({
    schema: positive("number of work units"),
    default: "2000000",
    unit: "work units",
    description: "Work bound of one executor slice (≈ vertices visited by exact tests; 2,000,000 ≈ 200 ms of CPU).",
  }),
  MAX_RETRIES: setting({
    schema: integer(0),
    default: "3",
    unit: "retries",
    description: "Retries of a failed or stalled job before it is dead-lettered.",
  }),
  SUBMIT_RATE_PER_SECOND: setting({
    schema: rate,
    default: "20",
    unit: "jobs/s",
    description: "Per token subject: the submit token bucket's refill rate (`0` turns the limiter off).",
  }),
  SUBMIT_RATE_BURST: setting({
    schema: positive("number of jobs"),
    default: undefined,
    defaultNote: "40, or the rate if higher",
    unit: "jobs",
    description: "Per token subject: the bucket's size, the longest burst of submits admitted back to back.",
  }),
  STALL_AFTER_MS: setting({
    schema: integer(0),
    default: "120000",
    unit: "ms",
    description: "A running job with no progress for this long is stalled: the cron sweep retries it.",
  }),
  STAGING_GRACE_MS: setting({
    schema: integer(0),
    default: "3600000",
    unit: "ms",
    description: "Staged objects of retried or unfinished attempts, and unreferenced inputs, are collected after this.",
  }),
  STAGING_RETENTION_MS: setting({
    schema: integer(0),
    default: "604800000",
    unit: "ms",
    description: "The committed attempt's staged parts (and a failed job's payload) are kept this long (7 days).",
  }),
  UPLOAD_TTL_MS: setting({
    schema: positive("number of milliseconds"),
    default: "86400000",
    unit: "ms",
    description: "A multipart upload accepts parts this long (24 h); not completed by then, it and its parts are " +
      "deleted.",
  }),
  WEBHOOK_ALLOW_LOOPBACK: setting({
    schema: text.transform((v) => v === "true"),
    default: "false",
    unit: "`true`",
    description: "`true` lets callbacks go to a loopback host (a local receiver); anything else: public https only.",
  }),
  WEBHOOK_DNS_RESOLVER: setting({
    schema: z.union([z.literal("").transform(() => undefined), url]),
    default: "https://cloudflare-dns.com/dns-query",
    emptyIsValue: true,
    unit: "URL",
    description: "DNS-over-HTTPS resolver (JSON API) that vets a callback host before each delivery " +
      '(`""` turns the check off).',
  }),
  WEBHOOK_MAX_ATTEMPTS: setting({
    schema: positive("number of attempts"),
    default: "8",
    unit: "attempts",
    description: "HTTP attempts per webhook event before giving up.",
  }),
  WEBHOOK_BACKOFF_BASE_MS: setting({
    schema: integer(0),
    default: "1000",
    unit: "ms",
    description: "First webhook retry delay (doubles each retry, with jitter, up to 1 h).",
  }),
  WEBHOOK_TIMEOUT_MS: setting({
    schema: positive("number of milliseconds"),
    default: "10000",
    unit: "ms",
    description: "Timeout of one webhook attempt.",
  }),
  WEBHOOK_BREAKER_THRESHOLD: setting({
    schema: positive("number of failures"),
    default: "5",
    unit: "failures",
    description: "Consecutive failures that open a destination host's circuit breaker.",
  }),
  WEBHOOK_BREAKER_COOLDOWN_MS: setting({
    schema: integer(0),
    default: "30000",
    unit: "ms",
    description: "How long an open breaker waits before letting one probe through.",
  }),
  WEBHOOK_SIGNING_KEY: setting({
    schema: text,
    default: undefined,
    unit: "secret",
    secret: true,
    description: "Master key of the per-tenant webhook signing secrets (unset: `GET /v1/webhooks/secret` answers " +
      "503 and deliveries fail).",
  }),
  RESULT_LINK_KEY: setting({
    schema: text,
    default: undefined,
    unit: "secret",
    secret: true,
    description: "HMAC key of signed result links (`signed_href`; unset: status documents offer none and a " +
      "signed link is refused with 403).",
  }),
  JWT_SECRET: setting({
    schema: text,
    default: undefined,
    unit: "secret",
    secret: true,
    description: "HS256 key of bearer tokens (local development; `.dev.vars.example` holds `dev-secret`).",
  }),
  JWT_JWKS: setting({
    schema: text,
    default: undefined,
    unit: "JSON",
    secret: true,
    description: "A JWKS document: tokens are then RS256/ES256 only, the key chosen by `kid` (wins over the secret).",
  }),
  JWT_JWKS_URL: setting({
    schema: url,
    default: undefined,
    unit: "URL",
    description: "Where to fetch the JWKS instead (cached per isolate).",
  }),
  JWT_ISSUER: setting({
    schema: text,
    default: undefined,
    unit: "string",
    description: "When set, a token's `iss` must equal it.",
  }),
  JWT_AUDIENCE: setting({
    schema: text,
    default: undefined,
    unit: "string",
    description: "When set, a token's `aud` must include it.",
  }),
  JWT_MAX_LIFETIME_SECONDS: setting({
    schema: positive("number of seconds"),
    default: "86400",
    unit: "s",
    description: "Longest accepted token lifetime (`exp - iat`); longer-lived tokens are 401.",
  }),
} as const;

type Settings = typeof SETTINGS;
type Parsed<S> = S extends Setting<infer T> ? T : never;

/** The parsed configuration: one field per binding, named as the binding. */
export type Config =
  & { -readonly [K in keyof Settings as Settings[K]["default"] extends string ? K : never]: Parsed<Settings[K]> }
  & {
    -readonly [K in keyof Settings as Settings[K]["default"] extends string ? never : K]?: Parsed<Settings[K]>;
  }
  & { SUBMIT_RATE_BURST: number };

/** A binding whose value does not parse: a deployment error, named with the value and what was expected. */
export class ConfigError extends TypeError {
  constructor(readonly problems: { binding: string; value: string; expected: string }[]) {
    super(
      "Invalid configuration: " +
        problems.map((p) => `${p.binding} = ${JSON.stringify(p.value)} (${p.expected})`).join("; ") +
        ". Fix it in wrangler.toml [vars], .dev.vars or the deployment's secrets.",
    );
    this.name = "ConfigError";
  }
}

const DEFAULT_SUBMIT_RATE_BURST = 40;
const parsed = new WeakMap<object, Config>();

/** The configuration held by `env`, parsed on first use and cached for that env object. */
export function config(env: unknown): Config {
  const source = (env ?? {}) as Record<string, unknown>;
  const cached = parsed.get(source);
  if (cached) return cached;
  const out: Record<string, unknown> = {};
  const problems: ConstructorParameters<typeof ConfigError>[0] = [];
  for (const [binding, s] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const raw = source[binding];
    const given = typeof raw === "number" || typeof raw === "boolean" ? String(raw) : raw;
    const value = typeof given === "string" && (given.trim() !== "" || s.emptyIsValue) ? given.trim() : s.default;
    if (value === undefined) continue;
    const result = s.schema.safeParse(value);
    if (result.success) out[binding] = result.data;
    else problems.push({ binding, value, expected: result.error.issues[0]?.message ?? "invalid" });
  }
  if (problems.length) throw new ConfigError(problems);
  out.SUBMIT_RATE_BURST ??= Math.max(DEFAULT_SUBMIT_RATE_BURST, Math.floor(out.SUBMIT_RATE_PER_SECOND as number));
  const result = out as Config;
  parsed.set(source, result);
  return result;
}

/** The configuration of an env that sets nothing. */
export const CONFIG_DEFAULTS: Config = config({});

/** The README's configuration table (a unit test keeps the README equal to it). */
export function configTable(): string {
  const rows = Object.entries(SETTINGS).map(([binding, s]: [string, Setting<unknown>]) => {
    const shown = s.defaultNote ?? (s.default === undefined ? "unset" : `\`${s.default}\``);
    return [`\`${binding}\`${s.secret ? " (secret)" : ""}`, shown, s.unit, s.description];
  });
  const header = ["binding", "default", "unit", "meaning"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const MiB = 2 ** 20;

/**
 * What one isolate holds against the platform's 128 MB (read as MiB: PLATFORM_NOTES), bounded in code, and what that
 * leaves for zonal work ({@link ZONAL_WORK_BYTES}). Locally every Durable Object shares one isolate, so the bound
 * holds a fortiori for each DO on the platform.
 */
export const ISOLATE_MEMORY = {
  limitBytes: 128 * MiB,
  /**
   * The idle service in a fresh isolate (code, schemas, the Worker's and objects' state, and GEOS's initial memory,
   * which the health check loads): 49.5 MiB live after a full GC, measured over the inspector (docs/performance.md,
   * Z2), rounded up. That was with h3-js's default 32 MiB heap; sized to 16 (shared/h3_heap.ts) the idle isolate
   * holds 35.8 MiB (network bench), and the 16 MiB stay here as margin until Z2 is measured again.
   */
  runtimeBytes: 50 * MiB,
  /** GEOS's WebAssembly heap as work grows it (16.2 MiB whole at J3's peak; a zonal job only filters its polygons). */
  geosBytes: 16 * MiB,
  /** A zonal partition's polygons kept between slices (the zonal PartitionDataCache). */
  zonalInputBytes: 16 * MiB,
  /**
   * Decoded raster blocks kept between polygons (the isolate-wide RasterBlockCache). Z2's live peak was 141.5 MiB
   * with 24 MiB here, 122.8 MiB with 8 (docs/performance.md).
   */
  rasterBlockBytes: 8 * MiB,
  /** Raw 64 KiB chunks an open raster keeps of its header reads (R2RangeSource: 64 chunks). */
  rasterChunkBytes: 4 * MiB,
  /**
   * Graph and line blocks of the networks a partition's searches read, every network's together (the isolate's
   * BlockBudget, operations/network/block_cache.ts): the generated million-edge network's graph blocks (33.9 MiB)
   * fit, so a whole-graph search reads each block once. A network job holds besides them its search state (11 bytes
   * a vertex, 19 with path geometry; two at most while slices await blocks) and one slice's rows (≤ 4,096).
   */
  networkBlockBytes: 40 * MiB,
  /**
   * What Z2's live peak held beyond the holdings named here, not yet accounted for (candidates: blocks one slice
   * reads while another awaits them, R2 bodies in flight).
   */
  unaccountedBytes: 16 * MiB,
} as const;

/**
 * Bytes zonal slices may lease at once in an isolate (shared/memory_budget.ts) for their bands of weights and the
 * blocks they are reading: the limit less everything else {@link ISOLATE_MEMORY} names (18 MiB). A slice leases half of it at most
 * per band, so the executor's two slices at once in an isolate both proceed.
 */
export const ZONAL_WORK_BYTES = ISOLATE_MEMORY.limitBytes - ISOLATE_MEMORY.runtimeBytes - ISOLATE_MEMORY.geosBytes -
  ISOLATE_MEMORY.zonalInputBytes - ISOLATE_MEMORY.rasterBlockBytes - ISOLATE_MEMORY.rasterChunkBytes -
  ISOLATE_MEMORY.unaccountedBytes;
