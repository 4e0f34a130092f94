/**
 * Delivering webhook callbacks, in the destination's {@link WebhookOutbox}
 * (apart from job work: a slow receiver holds up nothing but its own host's
 * deliveries). Rows arrive from the partitions' outboxes
 * ({@link acceptDeliveries}, idempotent by delivery id); the outbox's alarm
 * POSTs due rows ({@link deliverDueWebhooks}):
 *
 * - headers `X-Spatial-Jobs-Event`, `X-Spatial-Jobs-Delivery` (stable across
 *   retries: receivers dedupe on it), `X-Spatial-Jobs-Signature` (see
 *   webhook_signing.ts), the job's `X-Request-Trace-ID` and a `traceparent`;
 * - redirects are not followed (`redirect: "manual"`): a 3xx is a failed attempt;
 * - 2xx delivers; anything else, a network error or a timeout is retried with
 *   exponential backoff and jitter (a 408/429/503 `Retry-After` is honoured as
 *   a floor) up to `WEBHOOK_MAX_ATTEMPTS`, then the row is GAVE_UP;
 * - a circuit breaker per destination host (`WebhookBreaker`) refuses
 *   deliveries while the host is failing: those rows wait for its half-open
 *   time without spending an attempt;
 * - the destination policy is checked again before every attempt, with the
 *   name resolved through `WEBHOOK_DNS_RESOLVER` (see destination_policy.ts).
 *
 * Delivery is at least once: a crash between the receiver's 2xx and the row's
 * update sends the same delivery id again.
 */
import { policyFromEnv, resolveAndCheck } from "../../shared/destination_policy.ts";
import { backoffMs } from "../partition_ledger/backoff.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";
import { SIGNATURE_HEADER, signPayload, tenantSecret } from "../../shared/webhook_signing.ts";
import { config } from "../../shared/config.ts";

export const WEBHOOK_EVENTS = {
  COMPLETED: "job.completed",
  FAILED: "job.failed",
  DEAD_LETTER: "job.dead_lettered",
  CANCELLED: "job.cancelled",
} as const satisfies Partial<Record<JobStatusValue, string>>;
export type WebhookEvent = typeof WEBHOOK_EVENTS[keyof typeof WEBHOOK_EVENTS];
export type DeliveryState = "PENDING" | "DELIVERED" | "GAVE_UP";

export const DELIVERY_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('job.completed','job.failed','job.dead_lettered','job.cancelled')),
    url TEXT NOT NULL,
    owner_sub TEXT NOT NULL,
    trace_id TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('PENDING','DELIVERED','GAVE_UP')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER
  )`,
  `CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
     WHERE state = 'PENDING'`,
  `CREATE INDEX IF NOT EXISTS webhook_deliveries_job ON webhook_deliveries (job_id, created_at)`,
];

/** The latest delivery of a job, as the status document shows it. */
export interface WebhookSummary {
  url_host: string;
  event: WebhookEvent;
  delivery_id: string;
  state: DeliveryState;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

const BACKOFF_CAP_MS = 3_600_000;
const BATCH = 16;
const MAX_ERROR_LENGTH = 300;

type Row = Record<string, SqlStorageValue>;

/** A delivery as a partition's outbox hands it over (the payload is the signed body, built at the transition). */
export interface DeliveryRow {
  delivery_id: string;
  job_id: string;
  event: WebhookEvent;
  url: string;
  owner_sub: string;
  trace_id: string | null;
  payload: string;
  created_at: number;
}

/** Records deliveries handed over by a partition; a delivery id seen before is left as it is (handover is retried). */
export function acceptDeliveries(storage: DurableObjectStorage, rows: DeliveryRow[], now = Date.now()): void {
  storage.transactionSync(() => {
    for (const r of rows) {
      storage.sql.exec(
        `INSERT OR IGNORE INTO webhook_deliveries (delivery_id, job_id, event, url, owner_sub, trace_id, payload,
           state, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)`,
        r.delivery_id,
        r.job_id,
        r.event,
        r.url,
        r.owner_sub,
        r.trace_id,
        r.payload,
        now,
        r.created_at,
        now,
      );
    }
  });
}

/** When the next pending delivery is due (for the outbox's alarm), or null. */
export function nextWebhookDueAt(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>(
    `SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE state = 'PENDING'`,
  ).one().due ?? null;
}

/** The job's latest delivery, or null when it has none. */
export function deliverySummary(sql: SqlStorage, jobId: string): WebhookSummary | null {
  const row = sql.exec<Row>(
    `SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    jobId,
  ).toArray()[0];
  if (!row) return null;
  const iso = (v: SqlStorageValue | undefined) => typeof v === "number" ? new Date(v).toISOString() : null;
  return {
    url_host: new URL(String(row.url)).host,
    event: row.event as WebhookEvent,
    delivery_id: String(row.delivery_id),
    state: row.state as DeliveryState,
    attempts: Number(row.attempts),
    last_status: row.last_status === null ? null : Number(row.last_status),
    last_error: row.last_error === null ? null : String(row.last_error),
    next_attempt_at: row.state === "PENDING" ? iso(row.next_attempt_at) : null,
    delivered_at: iso(row.delivered_at),
  };
}

/** What delivery needs from the Worker's bindings. */
export type WebhookEnv = Pick<Env, "WEBHOOK_BREAKER">;

/**
 * Attempts every due delivery (at most a batch per call, concurrently) and
 * records each outcome. Never throws: a failed delivery is a row update.
 * Returns how many HTTP attempts were made.
 */
export async function deliverDueWebhooks(env: WebhookEnv, sql: SqlStorage, now = Date.now()): Promise<number> {
  const due = sql.exec<Row>(
    `SELECT * FROM webhook_deliveries WHERE state = 'PENDING' AND next_attempt_at <= ?
     ORDER BY next_attempt_at LIMIT ?`,
    now,
    BATCH,
  ).toArray();
  const attempted = await Promise.all(due.map((row) => deliverOne(env, sql, row).catch(() => false)));
  return attempted.filter(Boolean).length;
}

async function deliverOne(env: WebhookEnv, sql: SqlStorage, row: Row): Promise<boolean> {
  const deliveryId = String(row.delivery_id);
  const attempts = Number(row.attempts);
  const url = String(row.url);
  const verdict = await resolveAndCheck(url, policyFromEnv(env), config(env).WEBHOOK_DNS_RESOLVER);
  if (!verdict.ok && !verdict.retry) {
    settle(sql, deliveryId, attempts, { state: "GAVE_UP", attempts, error: `destination refused: ${verdict.reason}` });
    return false;
  }
  if (!verdict.ok) {
    recordFailure(env, sql, deliveryId, attempts, { status: null, error: verdict.reason });
    return true;
  }
  const host = verdict.url.host;
  const breaker = env.WEBHOOK_BREAKER.get(env.WEBHOOK_BREAKER.idFromName(host));
  const admission = await breaker.admit();
  if (!admission.allowed) {
    // Not an attempt: the host is known to be failing. Wait for the breaker's half-open time.
    sql.exec(
      `UPDATE webhook_deliveries SET next_attempt_at = ?, last_error = ?, updated_at = ?
       WHERE delivery_id = ? AND state = 'PENDING' AND attempts = ?`,
      admission.retry_at,
      `circuit open for ${host}; next try at ${new Date(admission.retry_at).toISOString()}`,
      Date.now(),
      deliveryId,
      attempts,
    );
    return false;
  }

  const outcome = await post(env, row, verdict.url);
  await Promise.resolve(breaker.report(outcome.healthy)).catch(() => {});
  if (outcome.delivered) {
    settle(sql, deliveryId, attempts, {
      state: "DELIVERED",
      attempts: attempts + 1,
      status: outcome.status,
      at: Date.now(),
    });
  } else {
    recordFailure(env, sql, deliveryId, attempts, outcome);
  }
  return true;
}

/** A failed attempt: retried after a backoff, or GAVE_UP once `WEBHOOK_MAX_ATTEMPTS` are spent. */
function recordFailure(
  env: WebhookEnv,
  sql: SqlStorage,
  deliveryId: string,
  attempts: number,
  outcome: { status: number | null; error: string | null; retryAfterMs?: number },
): void {
  const attempt = attempts + 1;
  const maxAttempts = config(env).WEBHOOK_MAX_ATTEMPTS;
  if (attempt >= maxAttempts) {
    settle(sql, deliveryId, attempts, {
      state: "GAVE_UP",
      attempts: attempt,
      status: outcome.status,
      error: outcome.error,
    });
    return;
  }
  const base = config(env).WEBHOOK_BACKOFF_BASE_MS;
  const wait = Math.max(backoffMs(attempt, base, BACKOFF_CAP_MS), outcome.retryAfterMs ?? 0);
  settle(sql, deliveryId, attempts, {
    state: "PENDING",
    attempts: attempt,
    status: outcome.status,
    error: outcome.error,
    next: Date.now() + wait,
  });
}

interface PostOutcome {
  delivered: boolean;
  /** The host answered like a live endpoint (for the breaker): any response but 5xx, 408 and 429. */
  healthy: boolean;
  status: number | null;
  error: string | null;
  retryAfterMs?: number;
}

async function post(env: WebhookEnv, row: Row, url: URL): Promise<PostOutcome> {
  const body = String(row.payload);
  const traceId = row.trace_id === null ? null : String(row.trace_id);
  let signature: string;
  try {
    const secret = await tenantSecret(config(env).WEBHOOK_SIGNING_KEY ?? "", String(row.owner_sub));
    signature = await signPayload(secret, body, Math.floor(Date.now() / 1000));
  } catch (error) {
    return { delivered: false, healthy: true, status: null, error: describe(error) };
  }
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": "spatial-jobs-webhooks/1",
    "X-Spatial-Jobs-Event": String(row.event),
    "X-Spatial-Jobs-Delivery": String(row.delivery_id),
    [SIGNATURE_HEADER]: signature,
    traceparent: `00-${traceId && /^[0-9a-f]{32}$/.test(traceId) ? traceId : randomHex(16)}-${randomHex(8)}-01`,
  };
  if (traceId) headers["X-Request-Trace-ID"] = traceId;
  try {
    const response = await fetch(url, {
      method: "POST",
      redirect: "manual",
      body,
      headers,
      signal: AbortSignal.timeout(config(env).WEBHOOK_TIMEOUT_MS),
    });
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    if (status >= 200 && status < 300) return { delivered: true, healthy: true, status, error: null };
    const overloaded = status >= 500 || status === 408 || status === 429;
    const retryAfter = Number(response.headers.get("retry-after"));
    return {
      delivered: false,
      healthy: !overloaded,
      status,
      error: status >= 300 && status < 400
        ? `redirect (HTTP ${status}) not followed${
          response.headers.get("location") ? ` to ${response.headers.get("location")!.slice(0, 200)}` : ""
        }`
        : `HTTP ${status}`,
      ...(overloaded && Number.isFinite(retryAfter) && retryAfter > 0
        ? { retryAfterMs: Math.min(retryAfter, 3_600) * 1000 }
        : {}),
    };
  } catch (error) {
    return { delivered: false, healthy: false, status: null, error: describe(error) };
  }
}

function settle(
  sql: SqlStorage,
  deliveryId: string,
  expectedAttempts: number,
  u: {
    state: DeliveryState;
    attempts: number;
    status?: number | null;
    error?: string | null;
    next?: number;
    at?: number;
  },
): void {
  sql.exec(
    `UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, last_error = ?,
       next_attempt_at = ?, delivered_at = ?, updated_at = ?
     WHERE delivery_id = ? AND state = 'PENDING' AND attempts = ?`,
    u.state,
    u.attempts,
    u.status ?? null,
    u.error ? u.error.slice(0, MAX_ERROR_LENGTH) : null,
    u.next ?? null,
    u.at ?? null,
    Date.now(),
    deliveryId,
    expectedAttempts,
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    return error.name === "TimeoutError" ? "timed out" : `${error.name}: ${error.message}`;
  }
  return String(error);
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}
