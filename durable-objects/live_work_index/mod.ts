/**
 * The partitions the cron sweep and the operator endpoints visit, so neither
 * ever visits every Durable Object: those with live work (queued or running
 * jobs; the sweep visits these) and those holding failed or dead-lettered
 * jobs an operator may re-drive (listed by the operator endpoints only). A
 * home partition marks itself live from its alarm when it has live work; the
 * sweep reports what it found, and a partition with neither is forgotten,
 * unless it was marked again after the sweep began.
 *
 * Beside it, the work registry: every partition, home or not, says from its
 * alarm when it starts holding work (jobs or tasks not finished) and when it
 * stops. The operator endpoints visit those busy and those idle for less than
 * {@link RECENT_WORK_MS}, so a partition running another home's tasks, or one
 * the live set has forgotten, is still seen.
 *
 * The index is sharded by cell (shared/routing/partitions.ts): each object of
 * this class holds the partitions whose cells hash to it; readers visit all.
 */
import { DurableObject } from "cloudflare:workers";

/** How long the operator endpoints keep visiting a partition after its last work ended (24 h). */
export const RECENT_WORK_MS = 24 * 3600 * 1000;

export interface IndexEntry {
  cell: string;
  /** Has (or had at its last sweep) queued or running jobs. */
  live: boolean;
  /** On the live set (live, or holding failures): what the sweep reports on. */
  listed: boolean;
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
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS work (cell TEXT PRIMARY KEY, busy INTEGER NOT NULL, changed_at INTEGER NOT NULL)`,
    );
  }

  mark(cell: string): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO partitions (cell, marked_at, live) VALUES (?, ?, 1)
       ON CONFLICT (cell) DO UPDATE SET marked_at = excluded.marked_at, live = 1`,
      cell,
      Date.now(),
    );
  }

  /**
   * Every partition the operator endpoints visit: those on the live set (live ones and those holding failed or
   * dead-lettered jobs) and those with work now or within {@link RECENT_WORK_MS}.
   */
  entries(): IndexEntry[] {
    return this.ctx.storage.sql.exec<{ cell: string; live: number; listed: number }>(
      `SELECT cell, MAX(live) AS live, MAX(listed) AS listed FROM (
         SELECT cell, live, 1 AS listed FROM partitions
         UNION ALL SELECT cell, 0, 0 FROM work WHERE busy = 1 OR changed_at >= ?
       ) GROUP BY cell ORDER BY cell`,
      Date.now() - RECENT_WORK_MS,
    ).toArray().map((r) => ({ cell: r.cell, live: r.live === 1, listed: r.listed === 1 }));
  }

  /** A partition's alarm: `cell` now holds unfinished work (`busy`) or no longer does. Forgets long-idle ones. */
  registerWork(cell: string, busy: boolean): void {
    const now = Date.now();
    this.ctx.storage.sql.exec(
      `INSERT INTO work (cell, busy, changed_at) VALUES (?, ?, ?)
       ON CONFLICT (cell) DO UPDATE SET busy = excluded.busy, changed_at = excluded.changed_at`,
      cell,
      busy ? 1 : 0,
      now,
    );
    this.ctx.storage.sql.exec(`DELETE FROM work WHERE busy = 0 AND changed_at < ?`, now - RECENT_WORK_MS);
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
