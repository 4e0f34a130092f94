/**
 * Which jobs read which version of a dataset, and deleting a version none of them still needs. A submit pins
 * every dataset version it reads (a row per job) before its home records it; a delete is refused while a live
 * job pins the version, and a pin is refused once the version is gone. Version numbers are never reused: a
 * deleted version's number is kept in `deleted_versions`.
 */
import type { DatasetManifest } from "../../shared/dataset_manifest.ts";

export const VERSION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS pins (
     version INTEGER NOT NULL,
     job_id TEXT NOT NULL,
     pinned_at INTEGER NOT NULL,
     PRIMARY KEY (version, job_id)
   )`,
  `CREATE TABLE IF NOT EXISTS deleted_versions (
     version INTEGER PRIMARY KEY,
     deleted_at INTEGER NOT NULL,
     deleted_by TEXT NOT NULL
   )`,
];

export interface Pin {
  job_id: string;
  pinned_at: number;
}

export type DeleteVersionOutcome =
  | { ok: true; manifest: DatasetManifest }
  | { ok: false; code: "NOT_FOUND" | "LAST_VERSION" | "PINS_CHANGED" }
  | { ok: false; code: "FOREIGN_DOMAIN"; owner_domain: string };

export class Versions {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Creates the tables (with a publish, a pin or a delete: reads never write). */
  #createSchema(): void {
    for (const statement of VERSION_SCHEMA) this.#sql.exec(statement);
  }

  #hasSchema(): boolean {
    return this.#sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pins'`).toArray().length > 0;
  }

  /** The number the next published version takes: past every version ever published, deleted ones included. */
  nextVersion(): number {
    this.#createSchema();
    const row = this.#sql.exec<{ last: number | null }>(
      `SELECT max(v) AS last FROM (SELECT max(version) AS v FROM versions UNION ALL
                                    SELECT max(version) FROM deleted_versions)`,
    ).one();
    return (row.last ?? 0) + 1;
  }

  /** Records that `jobId` reads `version`; false when there is no such version (any more). */
  pin(version: number, jobId: string, now: number): boolean {
    if (!this.#manifest(version)) return false;
    this.#createSchema();
    this.#sql.exec(`INSERT OR IGNORE INTO pins (version, job_id, pinned_at) VALUES (?, ?, ?)`, version, jobId, now);
    return true;
  }

  /** The jobs that pinned `version`, or null when there is no such version. */
  pins(version: number): Pin[] | null {
    if (!this.#manifest(version)) return null;
    if (!this.#hasSchema()) return [];
    return this.#sql.exec<{ job_id: string; pinned_at: number }>(
      `SELECT job_id, pinned_at FROM pins WHERE version = ? ORDER BY job_id`,
      version,
    ).toArray().map(({ job_id, pinned_at }) => ({ job_id, pinned_at }));
  }

  /**
   * Deletes `version` if `domain` owns the dataset, another version remains, and the version's pins are still
   * those in `checked` (the caller found none of them live). Returns the deleted manifest (its tiles to delete).
   * The caller holds a `transactionSync`.
   */
  delete(version: number, checked: readonly string[], domain: string, actor: string, now: number) {
    const manifest = this.#manifest(version);
    if (!manifest) return { ok: false, code: "NOT_FOUND" } as const;
    if (manifest.owner_domain !== domain) {
      return { ok: false, code: "FOREIGN_DOMAIN", owner_domain: manifest.owner_domain } as const;
    }
    const remaining = this.#sql.exec<{ n: number }>(`SELECT count(*) AS n FROM versions`).one().n;
    if (remaining <= 1) return { ok: false, code: "LAST_VERSION" } as const;
    const known = new Set(checked);
    if (this.pins(version)!.some((pin) => !known.has(pin.job_id))) return { ok: false, code: "PINS_CHANGED" } as const;
    this.#createSchema();
    this.#sql.exec(`DELETE FROM versions WHERE version = ?`, version);
    this.#sql.exec(`DELETE FROM pins WHERE version = ?`, version);
    this.#sql.exec(
      `INSERT INTO deleted_versions (version, deleted_at, deleted_by) VALUES (?, ?, ?)`,
      version,
      now,
      actor,
    );
    return { ok: true, manifest } as const;
  }

  #manifest(version: number): DatasetManifest | null {
    const row = this.#sql.exec<{ manifest: string }>(`SELECT manifest FROM versions WHERE version = ?`, version)
      .toArray()[0];
    return row ? JSON.parse(row.manifest) as DatasetManifest : null;
  }
}
