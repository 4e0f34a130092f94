/**
 * A caller's own jobs, newest first, a page at a time: `GET /v1/jobs` and the OGC job list (`/jobs`) both read
 * them through {@link listOwnJobs}. The order and the page boundaries come from the caller's job index (in its
 * IdempotencyRegistry, durable-objects/idempotency_registry/job_index.ts); the records, and so the statuses a
 * filter tests, from the jobs' home partitions, read when the page is built: a listing never shows a stale status
 * (a job still in the registry's outbox is QUEUED).
 */
import type { JobListQuery } from "../../shared/contract/status.ts";
import { type JobRecord, queuedJob } from "../../shared/job_record.ts";
import { ValidationError } from "../../shared/problem.ts";
import { idempotencyStub, partitionStub } from "../../shared/routing/partitions.ts";
import { homeCellOf } from "../routing/job_id.ts";

export interface JobPage {
  jobs: JobRecord[];
  /** Present while older jobs may remain. */
  next_cursor?: string;
}

/** Index rows read per round trip, and at most per page: a selective filter answers a short page with a cursor. */
const BATCH = 100;
const MAX_SCANNED = 1_000;

/**
 * One page of `ownerSub`'s jobs (`query.status` empty: any status). A page may hold fewer than `limit` jobs and still have a `next_cursor` (a status
 * filter that matched few of the jobs scanned); the listing ends when `next_cursor` is absent. Jobs submitted
 * while a client pages are newer than its cursor: they appear on a fresh first page, never mid-way.
 *
 * @example
 * ```ts
 * let page = await listOwnJobs(env, "alice", { status: ["FAILED"], limit: 20 });
 * while (page.next_cursor) page = await listOwnJobs(env, "alice", { status: [], limit: 20, cursor: page.next_cursor });
 * ```
 */
export async function listOwnJobs(env: Env, ownerSub: string, query: JobListQuery): Promise<JobPage> {
  const wanted = query.status.length ? new Set(query.status) : null;
  const index = idempotencyStub(env, ownerSub);
  const jobs: JobRecord[] = [];
  let before = query.cursor === undefined ? null : decodeCursor(query.cursor);
  for (let scanned = 0; scanned < MAX_SCANNED;) {
    const rows = await index.jobs(before, Math.min(BATCH, MAX_SCANNED - scanned));
    const records = await recordsOf(env, rows.map((row) => row.job_id));
    for (const row of rows) {
      before = row.seq;
      scanned++;
      const record = records.get(row.job_id) ?? (row.pending ? queuedJob(row.pending) : undefined);
      // A claim whose held payload never reached R2 (its submit died before it answered) is no job; another
      // owner's record never is.
      if (!record || record.spec.owner_sub !== ownerSub || (wanted && !wanted.has(record.status))) continue;
      jobs.push(record);
      if (jobs.length === query.limit) return { jobs, next_cursor: encodeCursor(row.seq) };
    }
    if (rows.length < BATCH) return { jobs };
  }
  return before === null ? { jobs } : { jobs, next_cursor: encodeCursor(before) };
}

/** The records of `jobIds`, one call per home partition. */
async function recordsOf(env: Env, jobIds: string[]): Promise<Map<string, JobRecord>> {
  const byHome = new Map<string, string[]>();
  for (const id of jobIds) {
    const cell = homeCellOf(id);
    if (cell) byHome.set(cell, [...byHome.get(cell) ?? [], id]);
  }
  const pages = await Promise.all([...byHome].map(([cell, ids]) => partitionStub(env, cell).jobsById(ids)));
  return new Map(pages.flat().map((job) => [job.job_id, job]));
}

const CURSOR_PREFIX = "j1.";

function encodeCursor(seq: number): string {
  return CURSOR_PREFIX + seq.toString(36);
}

function decodeCursor(cursor: string): number {
  const seq = cursor.startsWith(CURSOR_PREFIX) ? parseInt(cursor.slice(CURSOR_PREFIX.length), 36) : NaN;
  if (!Number.isSafeInteger(seq) || seq < 1 || encodeCursor(seq) !== cursor) {
    throw new ValidationError("The cursor is not one this service returned.", [
      { path: "cursor", message: "pass next_cursor of the previous page as it is" },
    ]);
  }
  return seq;
}
