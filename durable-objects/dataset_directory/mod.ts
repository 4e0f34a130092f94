/**
 * The one list of dataset names, for `GET /v1/datasets`: each dataset's own DatasetCatalog knows everything
 * else about it. A catalog registers its name before it first records a version or an upload, so every
 * published dataset is listed; a name whose publish never completed lists nothing (its catalog has no
 * version, and the listing skips it).
 */
import { DurableObject } from "cloudflare:workers";

export class DatasetDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, registered_at INTEGER NOT NULL)`);
  }

  /** Idempotent. */
  register(name: string): void {
    this.ctx.storage.sql.exec(`INSERT OR IGNORE INTO names (name, registered_at) VALUES (?, ?)`, name, Date.now());
  }

  /** Up to `limit` names after `after` (from the first when null), in byte order. */
  names(after: string | null, limit: number): string[] {
    return this.ctx.storage.sql.exec<{ name: string }>(
      `SELECT name FROM names WHERE name > ? ORDER BY name LIMIT ?`,
      after ?? "",
      limit,
    ).toArray().map((row) => row.name);
  }
}
