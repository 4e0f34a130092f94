/**
 * The partition's webhook outbox. {@link enqueueWebhook} runs inside the same
 * `transactionSync` as the job's terminal transition, so the event can be
 * neither lost nor recorded twice. The partition's alarm only hands rows over
 * ({@link handOverWebhooks}: one short RPC per destination host, no HTTP to a
 * receiver) to that host's `WebhookOutbox`, which delivers them on its own
 * alarm: a slow or dead receiver never holds up job work here.
 */
import { statusDocument } from "../../shared/status_document.ts";
import {
  type DeliveryRow,
  WEBHOOK_EVENTS,
  type WebhookEvent,
  type WebhookSummary,
} from "../webhook_outbox/delivery.ts";
import { backoffMs } from "./backoff.ts";
import type { JobRecord } from "../../shared/job_record.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";

export type { WebhookSummary };

export const WEBHOOK_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
    delivery_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    owner_sub TEXT NOT NULL,
    trace_id TEXT,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    handover_attempts INTEGER NOT NULL DEFAULT 0,
    next_handover_at INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (next_handover_at)`,
  `CREATE INDEX IF NOT EXISTS webhook_outbox_job ON webhook_outbox (job_id, created_at)`,
];

/** Rows handed over per alarm. */
const HANDOVER_BATCH = 64;

type Row = Record<string, SqlStorageValue>;

/**
 * Records the event of a job's transition into `job.status` when the job has
 * a `callback_url` and the status is terminal. Call it inside the transition's
 * `transactionSync`.
 */
export function enqueueWebhook(sql: SqlStorage, job: JobRecord, now = Date.now()): string | null {
  const url = job.spec.callback_url;
  const event = (WEBHOOK_EVENTS as Partial<Record<JobStatusValue, WebhookEvent>>)[job.status];
  if (!url || !event) return null;
  const deliveryId = `dlv_${crypto.randomUUID().replaceAll("-", "")}`;
  const payload = {
    event,
    delivery_id: deliveryId,
    trace_id: job.spec.trace_id,
    occurred_at: new Date(now).toISOString(),
    ...statusDocument(job),
  };
  sql.exec(
    `INSERT INTO webhook_outbox (delivery_id, job_id, event, url, owner_sub, trace_id, payload, created_at,
       next_handover_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    deliveryId,
    job.job_id,
    event,
    url,
    job.spec.owner_sub,
    job.spec.trace_id,
    JSON.stringify(payload),
    now,
    now,
  );
  return deliveryId;
}

/** When the next row is due to be handed over (for the partition's one alarm), or null. */
export function nextWebhookDueAt(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>(`SELECT MIN(next_handover_at) AS due FROM webhook_outbox`).one().due ?? null;
}

/** The destination's outbox (one per host, port included: the circuit breaker's key too). */
function webhookOutboxStub(env: Pick<Env, "WEBHOOK_OUTBOX">, url: string) {
  const host = new URL(url).host;
  return env.WEBHOOK_OUTBOX.get(env.WEBHOOK_OUTBOX.idFromName(host));
}

/**
 * Hands due rows to their destinations' outboxes and forgets the ones taken.
 * A failed handover is retried with backoff (the outbox ignores a delivery id
 * it already holds, so a handover repeated after a crash records nothing twice).
 */
export async function handOverWebhooks(env: Pick<Env, "WEBHOOK_OUTBOX">, sql: SqlStorage): Promise<void> {
  const due = sql.exec<Row>(
    `SELECT * FROM webhook_outbox WHERE next_handover_at <= ? ORDER BY next_handover_at LIMIT ?`,
    Date.now(),
    HANDOVER_BATCH,
  ).toArray();
  const byHost = Map.groupBy(due, (row) => new URL(String(row.url)).host);
  await Promise.all([...byHost.values()].map(async (rows) => {
    const deliveries: DeliveryRow[] = rows.map((r) => ({
      delivery_id: String(r.delivery_id),
      job_id: String(r.job_id),
      event: r.event as WebhookEvent,
      url: String(r.url),
      owner_sub: String(r.owner_sub),
      trace_id: r.trace_id === null ? null : String(r.trace_id),
      payload: String(r.payload),
      created_at: Number(r.created_at),
    }));
    try {
      await webhookOutboxStub(env, deliveries[0]!.url).accept(deliveries);
      for (const d of deliveries) sql.exec(`DELETE FROM webhook_outbox WHERE delivery_id = ?`, d.delivery_id);
    } catch {
      for (const r of rows) {
        const attempts = Number(r.handover_attempts) + 1;
        sql.exec(
          `UPDATE webhook_outbox SET handover_attempts = ?, next_handover_at = ? WHERE delivery_id = ?`,
          attempts,
          Date.now() + backoffMs(attempts, 1_000, 60_000),
          r.delivery_id,
        );
      }
    }
  }));
}

/** The job's latest delivery: still here (not handed over yet), else as its destination's outbox tells it. */
export async function webhookSummary(
  env: Pick<Env, "WEBHOOK_OUTBOX">,
  sql: SqlStorage,
  job: JobRecord,
): Promise<WebhookSummary | null> {
  const url = job.spec.callback_url;
  if (!url) return null;
  const local = sql.exec<Row>(
    `SELECT * FROM webhook_outbox WHERE job_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    job.job_id,
  ).toArray()[0];
  if (local) {
    return {
      url_host: new URL(String(local.url)).host,
      event: local.event as WebhookEvent,
      delivery_id: String(local.delivery_id),
      state: "PENDING",
      attempts: 0,
      last_status: null,
      last_error: null,
      next_attempt_at: new Date(Number(local.next_handover_at)).toISOString(),
      delivered_at: null,
    };
  }
  try {
    return await webhookOutboxStub(env, url).summary(job.job_id);
  } catch {
    return null; // the status document does not depend on the outbox being reachable
  }
}
