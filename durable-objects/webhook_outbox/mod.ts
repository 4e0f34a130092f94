/**
 * The webhook outbox of one destination host (`idFromName(host)`, port
 * included): deliveries handed over by the partitions wait here and go out on
 * this object's own alarm, signed, retried with backoff, behind the host's
 * circuit breaker (see delivery.ts). Job work never waits for a receiver, and
 * a slow receiver delays only deliveries to itself.
 */
import { DurableObject } from "cloudflare:workers";
import {
  acceptDeliveries,
  deliverDueWebhooks,
  DELIVERY_SCHEMA,
  type DeliveryRow,
  deliverySummary,
  nextWebhookDueAt,
  type WebhookSummary,
} from "./delivery.ts";

export class WebhookOutbox extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    for (const statement of DELIVERY_SCHEMA) ctx.storage.sql.exec(statement);
  }

  /** Takes deliveries over from a partition (idempotent by delivery id) and wakes to send them. */
  async accept(rows: DeliveryRow[]): Promise<void> {
    acceptDeliveries(this.ctx.storage, rows);
    await this.rearm();
  }

  /** The job's latest delivery to this host, or null. */
  summary(jobId: string): WebhookSummary | null {
    return deliverySummary(this.ctx.storage.sql, jobId);
  }

  override async alarm(): Promise<void> {
    await deliverDueWebhooks(this.env, this.ctx.storage.sql);
    await this.rearm();
  }

  private async rearm(): Promise<void> {
    const due = nextWebhookDueAt(this.ctx.storage.sql);
    if (due === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(Math.max(due, Date.now()));
  }
}
