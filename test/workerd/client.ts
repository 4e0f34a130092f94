/** A small client of the public HTTP contract for runtime tests: tokens, publishing, submitting, polling. */
import { DatabaseSync } from "node:sqlite";
import { SignJWT } from "jose";
import { seededPoints } from "../../scripts/lib/seeded_random.ts";
import { pointCollection } from "../../scripts/lib/geojson_payloads.ts";
import { type Service, snapshotState, stateChanges } from "./harness.ts";
import { isTerminal } from "../../shared/state_machine.ts";
import type { Classification } from "../../shared/contract/common.ts";

export { stateChanges };

export const DEV_SECRET = "dev-secret";

export interface Claims {
  sub: string;
  domain: string;
  spatial_scope: [number, number, number, number];
  data_classification: Classification;
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

/** The PostGIS fixture inputs as datasets: file and publish query (counties need repair: 9 are invalid). */
/**
 * Publishes `count` seeded points in `box` (ids 1..count) as dataset `name`; the publish must answer 201.
 * Returns the points' coordinates (x, y interleaved; point `id` at `2 * (id - 1)`).
 */
export async function publishSeededPoints(
  service: Service,
  name: string,
  count: number,
  seed: number,
  box: readonly [number, number, number, number],
): Promise<ReturnType<typeof seededPoints>> {
  const xy = seededPoints(count, seed, box);
  const published = await publish(service, name, JSON.stringify(pointCollection(xy)));
  if (published.status !== 201) {
    throw new Error(`publishing ${name} answered ${published.status}: ${await published.text()}`);
  }
  return xy;
}

export const FIXTURE_DATASETS = {
  counties: { file: "inputs/counties_sample.geojson", query: "classification=public&repair=true" },
  grid: { file: "inputs/grid_1deg.geojson", query: "classification=public" },
  points: { file: "inputs/points_sample.geojson", query: "classification=public" },
} as const;

/** Publishes the named fixture datasets under their own names; each must answer 201. */
export async function publishFixtures(
  service: Service,
  names: readonly (keyof typeof FIXTURE_DATASETS)[],
): Promise<void> {
  for (const name of names) {
    const { file, query } = FIXTURE_DATASETS[name];
    const response = await publish(service, name, await readFixture(file), { query });
    if (response.status !== 201) {
      throw new Error(`publishing ${name}: HTTP ${response.status} ${await response.text()}`);
    }
    await response.body?.cancel();
  }
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
  result?: {
    href: string;
    format: string;
    feature_count: number;
    bytes: number;
    etag: string;
    signed_href?: string;
  };
  error?: { detail: string };
  stats?: Record<string, unknown>;
  degraded: boolean;
  degraded_reason?: string;
  slo?: {
    deadline_ms: number;
    projected_ms: number;
    fallback: "bbox" | "none";
    projected_overrun_ms: number;
    actual_ms?: number;
    actual_overrun_ms?: number;
  };
}

/** Polls the status document until the job reaches a terminal status (or `timeoutMs` passes). */
export function waitForJob(service: Service, jobId: string, timeoutMs = 120_000): Promise<JobStatusDocument> {
  return waitForJobAs(service, jobId, {}, timeoutMs);
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

/** The service's local state, as {@link snapshotState} reads it. */
export function stateSnapshot(service: Service): Promise<Map<string, string>> {
  return snapshotState(service.stateDir);
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
      if (isTerminal(last!.status)) return last!;
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

/**
 * Waits until the state stops changing (two {@link stateSnapshot}s `quietMs` apart agree) and no Durable Object's
 * alarm is due within `alarmHorizonMs` (e.g. a registry's backstop a few seconds after a claim), e.g. after a job's
 * tail.
 */
export async function settledSnapshot(
  service: Service,
  quietMs = 250,
  timeoutMs = 30_000,
  alarmHorizonMs = 6_000,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  let last = await stateSnapshot(service);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, quietMs));
    const next = await stateSnapshot(service);
    if (stateChanges(last, next).length === 0 && !(await alarmDueWithin(service, alarmHorizonMs))) return next;
    last = next;
  }
  throw new Error(`The state of ${service.url} kept changing for ${timeoutMs} ms`);
}

/** Whether any Durable Object's alarm is due within `ms` or overdue (workerd's `_cf_ALARM` rows, every namespace). */
async function alarmDueWithin(service: Service, ms: number): Promise<boolean> {
  const root = `${service.stateDir}/v3/do`;
  const namespaces = await Array.fromAsync(Deno.readDir(root)).catch(() => []);
  for (const namespace of namespaces) {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(`${root}/${namespace.name}/metadata.sqlite`, { readOnly: true });
    } catch {
      continue; // No alarm was ever set in this namespace.
    }
    try {
      const { next } = db.prepare(`SELECT MIN(scheduled_time) AS next FROM _cf_ALARM`).get() as { next: number | null };
      // Stored in ms since the epoch (or a finer unit: scaled by magnitude).
      const at = next === null ? null : next > 1e17 ? next / 1e6 : next > 1e14 ? next / 1e3 : next;
      if (at !== null && at <= Date.now() + ms) return true;
    } catch {
      // The table is not created yet.
    } finally {
      db.close();
    }
  }
  return false;
}

/** Keys of the local R2 bucket's objects under `prefix` (miniflare's object table, read while the server runs). */
export async function r2Keys(service: Service, prefix: string): Promise<string[]> {
  const dir = `${service.stateDir}/v3/r2/miniflare-R2BucketObject`;
  const keys: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".sqlite") || entry.name === "metadata.sqlite") continue;
    const db = new DatabaseSync(`${dir}/${entry.name}`, { readOnly: true });
    try {
      const rows = db.prepare(`SELECT key FROM _mf_objects WHERE key LIKE ? ORDER BY key`).all(`${prefix}%`);
      keys.push(...rows.map((r) => String(r.key)));
    } finally {
      db.close();
    }
  }
  return keys;
}
