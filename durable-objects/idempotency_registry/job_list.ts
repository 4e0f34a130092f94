/**
 * The caller's jobs as their registry knows them: every claimed idempotency key names one job, so the per-caller
 * registry is also the per-caller job index (`GET /jobs` of the OGC API). Newest first, paged by a keyset cursor
 * (claim time, key) so a page stays put while newer jobs arrive.
 */

/** One claimed job: what the index knows without asking the job's home partition. */
export interface ClaimedJob {
  job_id: string;
  operation: string;
  claimed_at: number;
}

export interface ClaimedJobsPage {
  jobs: ClaimedJob[];
  /** Pass back as `after` for the next page; absent on the last page. */
  next?: string;
}

interface Row extends Record<string, SqlStorageValue> {
  job_id: string;
  operation: string;
  claimed_at: number;
  idempotency_key: string;
}

const COLUMNS = `json_extract(spec, '$.job_id') AS job_id, json_extract(spec, '$.operation') AS operation,
  claimed_at, idempotency_key`;

/** A page of at most `limit` jobs, newest first, after the cursor `after` (from a previous page). */
export function listClaimedJobs(sql: SqlStorage, limit: number, after?: string): ClaimedJobsPage {
  const cursor = after ? parseCursor(after) : null;
  const rows = cursor
    ? sql.exec<Row>(
      `SELECT ${COLUMNS} FROM claims_by_key
       WHERE claimed_at < ? OR (claimed_at = ? AND idempotency_key < ?)
       ORDER BY claimed_at DESC, idempotency_key DESC LIMIT ?`,
      cursor.claimedAt,
      cursor.claimedAt,
      cursor.key,
      limit + 1,
    ).toArray()
    : sql.exec<Row>(
      `SELECT ${COLUMNS} FROM claims_by_key ORDER BY claimed_at DESC, idempotency_key DESC LIMIT ?`,
      limit + 1,
    ).toArray();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    jobs: page.map(({ job_id, operation, claimed_at }) => ({ job_id, operation, claimed_at })),
    ...(rows.length > limit && last ? { next: `${last.claimed_at}.${last.idempotency_key}` } : {}),
  };
}

/** The claimed job `jobId`, or null when this caller never claimed it. */
export function findClaimedJob(sql: SqlStorage, jobId: string): ClaimedJob | null {
  const row = sql.exec<Row>(
    `SELECT ${COLUMNS} FROM claims_by_key WHERE json_extract(spec, '$.job_id') = ? LIMIT 1`,
    jobId,
  ).toArray()[0];
  return row ? { job_id: row.job_id, operation: row.operation, claimed_at: row.claimed_at } : null;
}

/** A cursor is `<claimed_at>.<idempotency key>`; anything else reads as "from the start". */
function parseCursor(after: string): { claimedAt: number; key: string } | null {
  const dot = after.indexOf(".");
  const claimedAt = Number(after.slice(0, dot));
  return dot > 0 && Number.isSafeInteger(claimedAt) ? { claimedAt, key: after.slice(dot + 1) } : null;
}
