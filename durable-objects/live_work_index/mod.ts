/**
 * The partitions the cron sweep and the operator endpoints visit, so neither
 * ever visits every Durable Object: those with live work (queued or running
 * jobs; the sweep visits these) and those holding failed or dead-lettered
 * jobs an operator may re-drive (listed by the operator endpoints only). A
 * home partition marks itself live from its alarm when it has live work; the
 * sweep reports what it found, and a partition with neither is forgotten,
 * unless it was marked again after the sweep began.
 */
import { DurableObject } from "cloudflare:workers";

export interface IndexEntry {
  cell: string;
  /** Has (or had at its last sweep) queued or running jobs. */
  live: boolean;
}

export class LiveWorkIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS partitions (cell TEXT PRIMARY KEY, marked_at INTEGER NOT NULL,
         live INTEGER NOT NULL DEFAULT 1, failures INTEGER NOT NULL DEFAULT 0)`,
    );
    const columns = ctx.storage.sql.exec<{ name: string }>(`PRAGMA table_info(partitions)`).toArray();
    if (!columns.some((c) => c.name === "live")) {
      // An index written before partitions with only failed jobs stopped counting as live.
      ctx.storage.sql.exec(`ALTER TABLE partitions ADD COLUMN live INTEGER NOT NULL DEFAULT 1`);
      ctx.storage.sql.exec(`ALTER TABLE partitions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0`);
    }
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  }

  mark(cell: string): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO partitions (cell, marked_at, live) VALUES (?, ?, 1)
       ON CONFLICT (cell) DO UPDATE SET marked_at = excluded.marked_at, live = 1`,
      cell,
      Date.now(),
    );
  }

  /** Every listed partition: live ones and those holding failed or dead-lettered jobs. */
  entries(): IndexEntry[] {
    return this.ctx.storage.sql.exec<{ cell: string; live: number }>(`SELECT cell, live FROM partitions ORDER BY cell`)
      .toArray().map((r) => ({ cell: r.cell, live: r.live === 1 }));
  }

  /** The partitions with live work: what the sweep visits. */
  liveCells(): string[] {
    return this.ctx.storage.sql.exec<{ cell: string }>(`SELECT cell FROM partitions WHERE live = 1 ORDER BY cell`)
      .toArray().map((r) => r.cell);
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

  /**
   * What a visit of `cell` found, as of `since`: without live work it stops being live, and without failed
   * jobs either it is forgotten; a mark at or after `since` (new work) keeps it live.
   */
  report(cell: string, since: number, live: boolean, failures: boolean): void {
    if (!live && !failures) {
      this.ctx.storage.sql.exec(`DELETE FROM partitions WHERE cell = ? AND marked_at < ?`, cell, since);
    }
    this.ctx.storage.sql.exec(
      `UPDATE partitions SET failures = ?, live = CASE WHEN ? OR marked_at >= ? THEN 1 ELSE 0 END WHERE cell = ?`,
      failures ? 1 : 0,
      live ? 1 : 0,
      since,
      cell,
    );
  }
}
