/**
 * The one list of dataset names, for `GET /v1/datasets`: each dataset's own DatasetCatalog knows everything
 * else about it. A catalog registers its name before it first records a version or an upload, so every
 * published dataset is listed; a name whose publish never completed lists nothing (its catalog has no
 * version, and the listing skips it).
 */
import { DurableObject } from "cloudflare:workers";

export class DatasetDirectory extends DurableObject<Env> {
  /** Idempotent. The table comes with the first name: listing an empty directory writes nothing. */
  register(name: string): void {
    const sql = this.ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, registered_at INTEGER NOT NULL)`);
    sql.exec(`INSERT OR IGNORE INTO names (name, registered_at) VALUES (?, ?)`, name, Date.now());
  }

  /** Up to `limit` names after `after` (from the first when null), in byte order. */
  names(after: string | null, limit: number): string[] {
    const sql = this.ctx.storage.sql;
    if (sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'names'`).toArray().length === 0) {
      return [];
    }
    return sql.exec<{ name: string }>(
      `SELECT name FROM names WHERE name > ? ORDER BY name LIMIT ?`,
      after ?? "",
      limit,
    ).toArray().map((row) => row.name);
  }
}
