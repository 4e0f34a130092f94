/**
 * The skeleton of a submit, for scripts/bench/submit_floor.ts: what the design makes every submit do on the runtime,
 * and nothing else. The edge checks the bearer token (HS256, WebCrypto), reads the JSON body, asks the dataset's
 * catalog for its current version (a read), claims the idempotency key in the caller's registry (one commit, which
 * also arms the registry's backstop alarm when none is set), writes one access-log line and answers 202. Off the
 * request path the registry hands the job to its home, which records it (one commit) and then completes it (one
 * more). No validation, planning, policy, events or result: a floor under any implementation of the design.
 */
/// <reference path="./runtime.d.ts" />
import { DurableObject, type Namespace, type ObjectState } from "cloudflare:workers";

interface FloorEnv {
  JWT_SECRET: string;
  CATALOG: Namespace<Catalog>;
  IDEMPOTENCY: Namespace<Registry>;
  PARTITION: Namespace<Home>;
}

interface Job {
  job_id: string;
  key: string;
  dataset: string;
  version: number;
  home: string;
  body: string;
}

/** As the service's registry (durable-objects/idempotency_registry/handoff.ts): 5 s before 1bf5e88. */
const BACKSTOP_MS = 30_000;

export class Catalog extends DurableObject<FloorEnv> {
  constructor(ctx: ObjectState, env: FloorEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, manifest TEXT)");
    ctx.storage.sql.exec("INSERT OR IGNORE INTO versions VALUES (1, '{}')");
  }
  current(): number {
    return this.ctx.storage.sql.exec<{ version: number }>("SELECT MAX(version) AS version FROM versions").one()
      .version;
  }
}

export class Registry extends DurableObject<FloorEnv> {
  #alarmSet = false;
  readonly #delivered: string[] = [];
  constructor(ctx: ObjectState, env: FloorEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, job_id TEXT, spec TEXT)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS handoff (job_id TEXT PRIMARY KEY)");
  }
  claim(job: Job): string {
    const sql = this.ctx.storage.sql;
    const existing = sql.exec<{ job_id: string }>("SELECT job_id FROM claims WHERE key = ?", job.key).toArray()[0];
    if (existing) return existing.job_id;
    this.#forget();
    sql.exec("INSERT INTO claims VALUES (?, ?, ?)", job.key, job.job_id, JSON.stringify(job));
    sql.exec("INSERT INTO handoff VALUES (?)", job.job_id);
    if (!this.#alarmSet) {
      this.ctx.storage.setAlarm(Date.now() + BACKSTOP_MS);
      this.#alarmSet = true;
    }
    // Sent once the claim is committed; the caller's answer does not wait for it.
    this.ctx.waitUntil(
      this.env.PARTITION.get(this.env.PARTITION.idFromName(job.home)).record(job).then(() => {
        this.#delivered.push(job.job_id);
      }),
    );
    return job.job_id;
  }
  #forget(): void {
    if (this.#delivered.length === 0) return;
    this.ctx.storage.sql.exec(
      "DELETE FROM handoff WHERE job_id IN (SELECT value FROM json_each(?))",
      JSON.stringify(this.#delivered.splice(0)),
    );
  }
  alarm(): void {
    this.#alarmSet = false;
    this.#forget();
  }
}

export class Home extends DurableObject<FloorEnv> {
  readonly #queued: string[] = [];
  constructor(ctx: ObjectState, env: FloorEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, status TEXT, spec TEXT)");
  }
  record(job: Job): void {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO jobs VALUES (?, 'QUEUED', ?)", job.job_id, JSON.stringify(job));
    // Completed in a later turn (its own commit), with every job recorded by then.
    if (this.#queued.push(job.job_id) > 1) return;
    scheduler.wait(0).then(() => {
      this.ctx.storage.sql.exec(
        "UPDATE jobs SET status = 'COMPLETED' WHERE job_id IN (SELECT value FROM json_each(?))",
        JSON.stringify(this.#queued.splice(0)),
      );
    });
  }
}

let key: Promise<CryptoKey> | null = null;

async function subject(request: Request, secret: string): Promise<string | null> {
  const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
  const [header, payload, signature] = token.split(".");
  if (!header || !payload || !signature) return null;
  key ??= crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  const bytes = Uint8Array.from(atob(signature.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const ok = await crypto.subtle.verify("HMAC", await key, bytes, new TextEncoder().encode(`${header}.${payload}`));
  if (!ok) return null;
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: string };
  return claims.sub ?? null;
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ status: "ok", geos_version: "none" });
    if (url.pathname !== "/v1/jobs" || request.method !== "POST") return new Response(null, { status: 404 });
    const started = Date.now();
    const sub = await subject(request, env.JWT_SECRET);
    if (!sub) return new Response(null, { status: 401 });
    const body = await request.text();
    const submit = JSON.parse(body) as { job_idempotency_key: string; dataset: string };
    const version = await env.CATALOG.get(env.CATALOG.idFromName(submit.dataset)).current();
    const job: Job = {
      job_id: crypto.randomUUID(),
      key: submit.job_idempotency_key,
      dataset: submit.dataset,
      version,
      home: "8029fffffffffff",
      body,
    };
    const jobId = await env.IDEMPOTENCY.get(env.IDEMPOTENCY.idFromName(sub)).claim(job);
    console.log(
      JSON.stringify({
        level: "info",
        msg: "span",
        name: "POST /v1/jobs",
        status: 202,
        job_id: jobId,
        duration_ms: Date.now() - started,
      }),
    );
    return Response.json({ job_id: jobId, status: "QUEUED" }, { status: 202 });
  },
};
