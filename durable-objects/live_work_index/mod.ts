/**
 * The partitions that may hold live work (queued, running, failed or
 * dead-lettered jobs), so the cron sweep and the operator endpoints visit
 * those partitions only, never every Durable Object. A home partition marks
 * itself when it records or re-drives a job; the sweep removes a partition it
 * found idle, unless it was marked again after the sweep began.
 */
import { DurableObject } from "cloudflare:workers";

export class LiveWorkIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS partitions (cell TEXT PRIMARY KEY, marked_at INTEGER NOT NULL)`);
  }

  mark(cell: string): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO partitions (cell, marked_at) VALUES (?, ?) ON CONFLICT (cell) DO UPDATE SET marked_at = excluded.marked_at`,
      cell,
      Date.now(),
    );
  }

  cells(): string[] {
    return this.ctx.storage.sql.exec<{ cell: string }>(`SELECT cell FROM partitions ORDER BY cell`).toArray()
      .map((r) => r.cell);
  }

  /** Forgets an idle partition, unless it was marked at or after `sweptAt`. */
  removeIdle(cell: string, sweptAt: number): void {
    this.ctx.storage.sql.exec(`DELETE FROM partitions WHERE cell = ? AND marked_at < ?`, cell, sweptAt);
  }
}
