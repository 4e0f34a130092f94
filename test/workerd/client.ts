/** A small client of the public HTTP contract for runtime tests: tokens, publishing, submitting, polling. */
import { DatabaseSync } from "node:sqlite";
import { SignJWT } from "jose";
import type { Service } from "./harness.ts";

export const DEV_SECRET = "dev-secret";

export interface Claims {
  sub: string;
  domain: string;
  spatial_scope: [number, number, number, number];
  data_classification: "public" | "internal" | "confidential" | "restricted";
  roles?: string[];
}

export const DEFAULT_CLAIMS: Claims = {
  sub: "tester",
  domain: "geo",
  spatial_scope: [-180, -90, 180, 90],
  data_classification: "restricted",
};

export async function token(claims: Partial<Claims> = {}, secret = DEV_SECRET): Promise<string> {
  return await new SignJWT({ ...DEFAULT_CLAIMS, ...claims } as unknown as Record<string, unknown>)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("1h")
    .setSubject(claims.sub ?? DEFAULT_CLAIMS.sub)
    .sign(new TextEncoder().encode(secret));
}

export async function authHeaders(claims: Partial<Claims> = {}): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await token(claims)}` };
}

export async function readFixture(path: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(`../fixtures/${path}`, import.meta.url));
}

export async function publish(
  service: Service,
  name: string,
  body: Uint8Array | string,
  options: { contentType?: string; query?: string; claims?: Partial<Claims> } = {},
): Promise<Response> {
  return await service.fetch(`/v1/datasets/${name}?${options.query ?? "classification=public"}`, {
    method: "PUT",
    headers: { ...(await authHeaders(options.claims)), "content-type": options.contentType ?? "application/geo+json" },
    body: body as BodyInit,
  });
}

export async function submit(service: Service, job: Record<string, unknown>, claims: Partial<Claims> = {}) {
  return await service.fetch("/v1/jobs", {
    method: "POST",
    headers: { ...(await authHeaders(claims)), "content-type": "application/json" },
    body: JSON.stringify({ job_idempotency_key: crypto.randomUUID(), ...job }),
  });
}

export interface JobStatusDocument {
  job_id: string;
  status: string;
  attempts: number;
  progress: { partitions_total: number; partitions_done: number };
  result?: { href: string; format: string; feature_count: number; bytes: number; etag: string };
  error?: { detail: string };
  stats?: Record<string, unknown>;
  degraded: boolean;
  degraded_reason?: string;
}

/** Polls the status document until the job reaches a terminal status (or `timeoutMs` passes). */
export async function waitForJob(service: Service, jobId: string, timeoutMs = 120_000): Promise<JobStatusDocument> {
  const deadline = Date.now() + timeoutMs;
  const headers = await authHeaders();
  let last: JobStatusDocument | undefined;
  while (Date.now() < deadline) {
    const response = await service.fetch(`/v1/jobs/${jobId}`, { headers });
    if (response.ok) {
      last = await response.json();
      if (["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"].includes(last!.status)) return last!;
    } else {
      await response.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Job ${jobId} did not finish in ${timeoutMs} ms; last status ${JSON.stringify(last)}`);
}

export async function fetchResult(service: Service, jobId: string): Promise<Response> {
  return await service.fetch(`/v1/jobs/${jobId}/result`, { headers: await authHeaders() });
}

// --- Helpers for the contract tests (raw requests, problems, results) ---

/** POSTs a raw body to `/v1/jobs` (bad JSON, odd content types, oversize bodies). */
export async function submitRaw(
  service: Service,
  body: string | Uint8Array,
  options: { contentType?: string; claims?: Partial<Claims> } = {},
): Promise<Response> {
  return await service.fetch("/v1/jobs", {
    method: "POST",
    headers: { ...(await authHeaders(options.claims)), "content-type": options.contentType ?? "application/json" },
    body: body as BodyInit,
  });
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
  trace_id: string;
}

/**
 * Asserts `response` is an RFC 9457 problem with `status`, and that its `errors` name every path in `paths`
 * (exact field paths). Returns the problem.
 */
export async function expectProblem(
  response: Response,
  status: number,
  paths: string[] = [],
): Promise<ProblemDocument> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`Expected HTTP ${status}, got ${response.status}: ${text}`);
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("application/problem+json")) {
    throw new Error(`Expected application/problem+json, got "${contentType}": ${text}`);
  }
  const problem = JSON.parse(text) as ProblemDocument;
  if (problem.status !== status || !problem.type || !problem.title || !problem.detail || !problem.trace_id) {
    throw new Error(`Incomplete problem document: ${text}`);
  }
  if (problem.trace_id !== response.headers.get("x-request-trace-id")) {
    throw new Error(`trace_id ${problem.trace_id} differs from X-Request-Trace-ID`);
  }
  const listed = (problem.errors ?? []).map((e) => e.path);
  for (const path of paths) {
    if (!listed.includes(path)) throw new Error(`Problem does not name field "${path}"; it lists ${listed}: ${text}`);
  }
  return problem;
}

/** Submits a job, asserts 202, waits for it to end, and returns the final status document. */
export async function runJob(
  service: Service,
  job: Record<string, unknown>,
  claims: Partial<Claims> = {},
): Promise<JobStatusDocument> {
  const response = await submit(service, job, claims);
  const accepted = await response.json();
  if (response.status !== 202) throw new Error(`Expected 202, got ${response.status}: ${JSON.stringify(accepted)}`);
  return await waitForJob(service, accepted.job_id);
}

export interface ResultFeature {
  type: "Feature";
  properties: { left_id: string | number; right_id: string | number; area?: number; area_m2?: number };
  geometry: { type: string; coordinates: unknown };
}

/** The committed GeoJSON result's features (asserts 200). */
export async function resultFeatures(service: Service, jobId: string): Promise<ResultFeature[]> {
  const response = await fetchResult(service, jobId);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET result: HTTP ${response.status}: ${text}`);
  return JSON.parse(text).features;
}

/** Reads a JSON fixture (e.g. `postgis/polygon_intersection.json`). */
export async function readJsonFixture<T = unknown>(path: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await readFixture(path))) as T;
}

/**
 * The service's local state as what it holds, not how SQLite lays it out: for every SQLite database (DO storage,
 * alarms, R2 and cache metadata) its tables' schemas and rows, read through SQLite (so rows still in the WAL count,
 * and a checkpoint changes nothing); for every other file (R2 object bodies) its bytes. Keys are paths under the
 * state directory, values digests. Left out, as local-dev bookkeeping rather than application writes: miniflare's
 * `__miniflare_do_name` table (written when a Durable Object is first addressed by name) and databases with nothing
 * else in them (workerd creates an empty file for every Durable Object it instantiates).
 */
export async function stateSnapshot(service: Service): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const digest = async (bytes: Uint8Array) =>
    btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource))));
  const walk = async (path: string): Promise<void> => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      const key = full.slice(service.stateDir.length);
      if (entry.isDirectory) {
        await walk(full);
      } else if (entry.isFile && entry.name.endsWith(".sqlite")) {
        const dump = sqliteDump(full);
        if (dump) out.set(key, await digest(new TextEncoder().encode(dump)));
      } else if (entry.isFile && !/\.sqlite-(wal|shm|journal)$/.test(entry.name)) {
        out.set(key, await digest(await Deno.readFile(full)));
      }
    }
  };
  await walk(service.stateDir);
  return out;
}

/** Schemas and rows of a SQLite file's tables (rows sorted), or "" when it holds no table of its own. */
function sqliteDump(path: string): string {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare(
      `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name <> '__miniflare_do_name' ORDER BY name`,
    ).all() as { name: string; sql: string }[];
    if (tables.length === 0) return "";
    return tables.map(({ name, sql }) => {
      const select = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`);
      select.setReadBigInts(true);
      const rows = select.all()
        .map((row) =>
          JSON.stringify(row, (_k, v) => typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? [...v] : v)
        )
        .sort();
      return `${sql}\n${rows.join("\n")}`;
    }).join("\n\n");
  } finally {
    db.close();
  }
}

/** What was added, removed or changed between two {@link stateSnapshot}s (empty: nothing was written). */
export function stateChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, digest] of after) {
    if (!before.has(path)) changes.push(`+ ${path}`);
    else if (before.get(path) !== digest) changes.push(`~ ${path}`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`- ${path}`);
  return changes.sort();
}

/** {@link waitForJob} as another caller (`claims`): jobs are visible to their owner only. */
export async function waitForJobAs(
  service: Service,
  jobId: string,
  claims: Partial<Claims>,
  timeoutMs = 120_000,
): Promise<JobStatusDocument> {
  const deadline = Date.now() + timeoutMs;
  const headers = await authHeaders(claims);
  let last: JobStatusDocument | undefined;
  while (Date.now() < deadline) {
    const response = await service.fetch(`/v1/jobs/${jobId}`, { headers });
    if (response.ok) {
      last = await response.json();
      if (["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"].includes(last!.status)) return last!;
    } else {
      await response.body?.cancel();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Job ${jobId} did not finish in ${timeoutMs} ms; last status ${JSON.stringify(last)}`);
}

/** {@link fetchResult} as another caller. */
export async function fetchResultAs(service: Service, jobId: string, claims: Partial<Claims>): Promise<Response> {
  return await service.fetch(`/v1/jobs/${jobId}/result`, { headers: await authHeaders(claims) });
}

/** Waits until the state stops changing (two {@link stateSnapshot}s `quietMs` apart agree), e.g. after a job's tail. */
export async function settledSnapshot(
  service: Service,
  quietMs = 250,
  timeoutMs = 30_000,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let last = await stateSnapshot(service);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, quietMs));
    const next = await stateSnapshot(service);
    if (stateChanges(last, next).length === 0) return next;
    last = next;
  }
  throw new Error(`The state of ${service.url} kept changing for ${timeoutMs} ms`);
}
