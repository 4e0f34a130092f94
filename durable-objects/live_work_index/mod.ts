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
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
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

  /** Where the staging garbage collector stopped listing R2 (null: start over). */
  cursor(name: string): string | null {
    return this.ctx.storage.sql.exec<{ value: string }>(`SELECT value FROM cursors WHERE name = ?`, name).toArray()[0]
      ?.value ?? null;
  }

  setCursor(name: string, value: string | null): void {
    if (value === null) this.ctx.storage.sql.exec(`DELETE FROM cursors WHERE name = ?`, name);
    else {
      this.ctx.storage.sql.exec(
        `INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        name,
        value,
      );
    }
  }

  /** Forgets an idle partition, unless it was marked at or after `sweptAt`. */
  removeIdle(cell: string, sweptAt: number): void {
    this.ctx.storage.sql.exec(`DELETE FROM partitions WHERE cell = ? AND marked_at < ?`, cell, sweptAt);
  }
}
