/**
 * One caller's jobs in the order their keys were claimed: the index behind `GET /v1/jobs` (and OGC `/jobs`).
 * It lives in the caller's IdempotencyRegistry, beside the claims, and a job's row is written in the same
 * synchronous block as its claim. `seq` only grows, so a page boundary ("older than seq N") stays put while
 * new jobs arrive: paging newest first never repeats or skips a job.
 */

/** A job of the index: its position and id (the id names its home partition, where its record lives). */
export interface IndexedJob {
  seq: number;
  job_id: string;
}

export class JobIndex {
  readonly #sql: SqlStorage;

  /** Creates the table; on first creation it takes in the jobs claimed before it existed, in claim order. */
  constructor(sql: SqlStorage) {
    this.#sql = sql;
    const existed = sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_index'`).toArray();
    if (existed.length > 0) return;
    sql.exec(
      `CREATE TABLE job_index (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         job_id TEXT NOT NULL UNIQUE
       )`,
    );
    sql.exec(
      `INSERT INTO job_index (job_id)
       SELECT json_extract(spec, '$.job_id') FROM claims_by_key ORDER BY claimed_at, rowid`,
    );
  }

  add(jobId: string): void {
    this.#sql.exec(`INSERT OR IGNORE INTO job_index (job_id) VALUES (?)`, jobId);
  }

  /** Up to `limit` jobs older than `beforeSeq` (all when null), newest first. */
  page(beforeSeq: number | null, limit: number): IndexedJob[] {
    return this.#sql.exec<{ seq: number; job_id: string }>(
      `SELECT seq, job_id FROM job_index WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
      beforeSeq ?? Number.MAX_SAFE_INTEGER,
      limit,
    ).toArray().map(({ seq, job_id }) => ({ seq, job_id }));
  }
}
