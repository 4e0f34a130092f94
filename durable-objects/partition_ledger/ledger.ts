/**
 * The partition ledger: jobs homed in this partition and the tasks it runs,
 * in the Durable Object's SQLite storage. Every job state change goes through
 * `transition`, which checks the state machine and appends the event in the
 * same `transactionSync` as the state update.
 */
import { type JobError, type JobRecord, type JobResult, queuedJob } from "../../shared/job_record.ts";
import type { JobSpec } from "../../shared/job_spec.ts";
import { SCHEMA } from "./schema.ts";
import { assertTransition } from "../../shared/state_machine.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";

/** The ledger note of a failed commit: what the P1 alert counts. */
export const COMMIT_FAILED = "commit failed";

export interface LedgerEvent {
  seq: number;
  job_id: string;
  at: number;
  actor: string;
  kind: "transition" | "partition_done" | "slice" | "commit" | "note";
  from_status: JobStatusValue | null;
  to_status: JobStatusValue | null;
  attempt: number;
  trace_id: string | null;
  detail: Record<string, unknown> | null;
}

/** A partition's finished share of one attempt of a job, as it reports it to the job's home. */
export interface PartReport {
  job_id: string;
  cell: string;
  attempt: number;
  part_keys: string[];
  feature_count: number;
  stats: Record<string, number>;
}

export interface PartitionMetrics {
  by_status: Record<string, number>;
  commit_failures_last_hour: number;
  oldest_queued_age_ms: number | null;
  retries: number;
  running_tasks: number;
}

export type TaskStatus = "PENDING" | "RUNNING" | "DONE" | "REPORTED" | "CANCELLED" | "FAILED";

export interface TaskRecord {
  job_id: string;
  attempt: number;
  cell: string;
  home_cell: string;
  spec: JobSpec;
  status: TaskStatus;
  next_offset: number;
  slices: number;
  part_keys: string[];
  feature_count: number;
  stats: Record<string, number>;
  error: JobError | null;
  next_run_at: number | null;
}

export interface TransitionPatch {
  attempts?: number;
  retry_base?: number;
  next_run_at?: number | null;
  result?: JobResult;
  error?: JobError | null;
  stats?: Record<string, unknown>;
  degraded?: { reason: string } | null;
}

type Row = Record<string, SqlStorageValue>;

/** Called inside a transition's own transaction (e.g. to write an outbox row atomically with it). */
export interface LedgerHooks {
  afterTransition?(job: JobRecord, from: JobStatusValue): void;
}

const json = <T>(value: SqlStorageValue | undefined): T | null =>
  typeof value === "string" ? JSON.parse(value) as T : null;

export class Ledger {
  /** This partition's cell once recorded (see ownCell). */
  #cell: string | undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly now: () => number = Date.now,
    private readonly hooks: LedgerHooks = {},
  ) {
    for (const statement of SCHEMA) storage.sql.exec(statement);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Records a new QUEUED job; a second call with the same id returns the existing record untouched. */
  createJob(spec: JobSpec, actor: string): { created: boolean; job: JobRecord } {
    return this.storage.transactionSync(() => {
      const at = this.now();
      // Inserted unless the id is taken: a new job (every one but a resent handoff's) is not read first.
      const inserted = this.sql.exec(
        `INSERT INTO jobs (job_id, spec, status, attempts, created_at, updated_at, next_run_at, partitions_total)
         VALUES (?, ?, 'QUEUED', 0, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`,
        spec.job_id,
        JSON.stringify(spec),
        at,
        at,
        at,
        spec.partitions.length,
      ).rowsWritten > 0;
      if (!inserted) return { created: false, job: this.getJob(spec.job_id)! };
      this.appendEvent(spec.job_id, actor, "transition", null, "QUEUED", 0, spec.trace_id, null, at);
      // The row just written, without reading it back; its alarm finds the spec parsed.
      rememberSpec(specKey(spec.job_id), spec);
      const job: JobRecord = { ...queuedJob(spec), created_at: at, updated_at: at, next_run_at: at };
      return { created: true, job };
    });
  }

  getJob(jobId: string): JobRecord | null {
    const row = this.sql.exec<Row>(`SELECT * FROM jobs WHERE job_id = ?`, jobId).toArray()[0];
    return row ? toJobRecord(row) : null;
  }

  /** The job's status and attempt alone, without its spec and result (checked between a commit's steps). */
  jobState(jobId: string): { status: JobStatusValue; attempts: number } | null {
    const row = this.sql.exec<Row>(`SELECT status, attempts FROM jobs WHERE job_id = ?`, jobId).toArray()[0];
    return row ? { status: row.status as JobStatusValue, attempts: Number(row.attempts) } : null;
  }

  /** Moves a job to `to`, refusing illegal transitions, and appends the event in the same transaction. */
  transition(
    jobId: string,
    to: JobStatusValue,
    actor: string,
    patch: TransitionPatch = {},
    detail?: object,
  ): JobRecord {
    return this.transitionIf(jobId, null, to, actor, patch, detail)!;
  }

  /**
   * {@link transition}, only if the job is still IN_PROGRESS at attempt `runningAttempt` (null: whatever its state);
   * null when it moved on. The check and the move read the job once, in one transaction.
   */
  transitionIf(
    jobId: string,
    runningAttempt: number | null,
    to: JobStatusValue,
    actor: string,
    patch: TransitionPatch = {},
    detail?: object,
  ): JobRecord | null {
    return this.storage.transactionSync(() => {
      const job = this.getJob(jobId);
      if (!job) throw new Error(`No job "${jobId}" in this partition`);
      if (runningAttempt !== null && (job.status !== "IN_PROGRESS" || job.attempts !== runningAttempt)) return null;
      assertTransition(jobId, job.status, to);
      const at = this.now();
      const attempts = patch.attempts ?? job.attempts;
      const retryBase = patch.retry_base ?? job.retry_base;
      const nextRunAt = patch.next_run_at === undefined ? job.next_run_at : patch.next_run_at;
      const error = patch.error === undefined ? job.error : patch.error;
      this.sql.exec(
        `UPDATE jobs SET status = ?, attempts = ?, retry_base = ?, updated_at = ?, next_run_at = ?,
           result = COALESCE(?, result), error = ?, stats = COALESCE(?, stats), degraded = COALESCE(?, degraded)
         WHERE job_id = ?`,
        to,
        attempts,
        retryBase,
        at,
        nextRunAt,
        patch.result ? JSON.stringify(patch.result) : null,
        error ? JSON.stringify(error) : null,
        patch.stats ? JSON.stringify(patch.stats) : null,
        patch.degraded ? JSON.stringify(patch.degraded) : null,
        jobId,
      );
      if (to === "QUEUED") {
        // A new attempt starts from nothing: earlier attempts' parts are ignored.
        this.sql.exec(`DELETE FROM job_parts WHERE job_id = ?`, jobId);
        this.sql.exec(`UPDATE jobs SET partitions_done = 0 WHERE job_id = ?`, jobId);
      }
      this.appendEvent(jobId, actor, "transition", job.status, to, attempts, job.spec.trace_id, detail ?? null, at);
      // The row as just written (the UPDATE above), not read back.
      const updated: JobRecord = {
        ...job,
        status: to,
        attempts,
        retry_base: retryBase,
        updated_at: at,
        next_run_at: nextRunAt,
        partitions_done: to === "QUEUED" ? 0 : job.partitions_done,
        result: patch.result ?? job.result,
        error,
        stats: patch.stats ?? job.stats,
        degraded: patch.degraded ?? job.degraded,
      };
      this.hooks.afterTransition?.(updated, job.status);
      return updated;
    });
  }

  /** A heartbeat of long work on the job (a commit): the stall sweep sees progress; nothing is rescheduled. */
  heartbeat(jobId: string): void {
    this.sql.exec(`UPDATE jobs SET updated_at = ? WHERE job_id = ?`, this.now(), jobId);
  }

  /** Touches a running job so the stall sweep sees progress, and reschedules its coordinator. */
  touch(jobId: string, nextRunAt: number | null): void {
    this.sql.exec(`UPDATE jobs SET updated_at = ?, next_run_at = ? WHERE job_id = ?`, this.now(), nextRunAt, jobId);
  }

  /**
   * Records a partition's finished share of the current attempt; a repeated
   * report of the same partition changes nothing. Returns the updated job.
   */
  recordPartDone(report: PartReport, actor: string): JobRecord | null {
    const { job_id: jobId, cell, attempt, part_keys: partKeys, feature_count: featureCount, stats } = report;
    return this.storage.transactionSync(() => {
      const job = this.getJob(jobId);
      if (!job || job.status !== "IN_PROGRESS" || job.attempts !== attempt) return job;
      const inserted = this.sql.exec(
        `INSERT INTO job_parts (job_id, cell, attempt, part_keys, feature_count, stats) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, cell) DO NOTHING`,
        jobId,
        cell,
        attempt,
        JSON.stringify(partKeys),
        featureCount,
        JSON.stringify(stats),
      ).rowsWritten;
      if (inserted === 0) return job;
      const at = this.now();
      this.sql.exec(
        `UPDATE jobs SET partitions_done = partitions_done + 1, updated_at = ?,
           next_run_at = CASE WHEN partitions_done + 1 >= partitions_total THEN ? ELSE next_run_at END
         WHERE job_id = ?`,
        at,
        at,
        jobId,
      );
      this.appendEvent(jobId, actor, "partition_done", null, null, attempt, job.spec.trace_id, {
        cell,
        feature_count: featureCount,
      }, at);
      return this.getJob(jobId);
    });
  }

  parts(jobId: string): { cell: string; part_keys: string[]; feature_count: number; stats: Record<string, number> }[] {
    return this.sql.exec<Row>(`SELECT * FROM job_parts WHERE job_id = ? ORDER BY cell`, jobId).toArray().map((r) => ({
      cell: String(r.cell),
      part_keys: json<string[]>(r.part_keys) ?? [],
      feature_count: Number(r.feature_count),
      stats: json<Record<string, number>>(r.stats) ?? {},
    }));
  }

  events(jobId?: string): LedgerEvent[] {
    const cursor = jobId === undefined
      ? this.sql.exec<Row>(`SELECT * FROM job_events ORDER BY seq`)
      : this.sql.exec<Row>(`SELECT * FROM job_events WHERE job_id = ? ORDER BY seq`, jobId);
    return cursor.toArray().map(toLedgerEvent);
  }

  appendEvent(
    jobId: string,
    actor: string,
    kind: LedgerEvent["kind"],
    from: JobStatusValue | null,
    to: JobStatusValue | null,
    attempt: number,
    traceId: string | null,
    detail: object | null,
    at = this.now(),
  ): void {
    this.sql.exec(
      `INSERT INTO job_events (job_id, at, actor, kind, from_status, to_status, attempt, trace_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      jobId,
      at,
      actor,
      kind,
      from,
      to,
      attempt,
      traceId,
      detail ? JSON.stringify(detail) : null,
    );
  }

  /** The jobs due by `now`, the longest waiting first, at most `limit`. */
  dueJobs(now: number, limit: number): JobRecord[] {
    return this.sql.exec<Row>(
      `SELECT * FROM jobs WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at LIMIT ?`,
      now,
      limit,
    )
      .toArray().map(toJobRecord);
  }

  jobsByStatus(statuses: JobStatusValue[], limit = 1000): JobRecord[] {
    const marks = statuses.map(() => "?").join(",");
    return this.sql.exec<Row>(
      `SELECT * FROM jobs WHERE status IN (${marks}) ORDER BY created_at, job_id LIMIT ?`,
      ...statuses,
      limit,
    ).toArray().map(toJobRecord);
  }

  /** IN_PROGRESS jobs with no recorded progress since `before` (the stall sweep's candidates). */
  stalledJobs(before: number): JobRecord[] {
    return this.sql.exec<Row>(
      `SELECT * FROM jobs WHERE status = 'IN_PROGRESS' AND updated_at < ? ORDER BY updated_at`,
      before,
    ).toArray().map(toJobRecord);
  }

  /**
   * QUEUED jobs untouched since `before` and due since then (or never scheduled): their alarm did not run
   * them, so the sweep wakes the partition.
   */
  overdueQueued(before: number): JobRecord[] {
    return this.sql.exec<Row>(
      `SELECT * FROM jobs WHERE status = 'QUEUED' AND updated_at < ? AND (next_run_at IS NULL OR next_run_at < ?)
       ORDER BY updated_at`,
      before,
      before,
    ).toArray().map(toJobRecord);
  }

  /** How many jobs here are in any of `statuses`. */
  countByStatus(statuses: readonly JobStatusValue[]): number {
    return this.sql.exec<{ n: number }>(
      `SELECT COUNT(*) AS n FROM jobs WHERE status IN (${statuses.map(() => "?").join(",")})`,
      ...statuses,
    ).one().n;
  }

  /** Whether this partition holds a queued or running job, or a task not yet finished. */
  hasUnfinishedWork(): boolean {
    return this.sql.exec<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM jobs WHERE status IN ('QUEUED','IN_PROGRESS'))
            + (SELECT COUNT(*) FROM tasks WHERE status IN ('PENDING','RUNNING')) AS n`,
    ).one().n > 0;
  }

  /** Counts for the metrics endpoint. */
  metrics(now: number): PartitionMetrics {
    const byStatus = Object.fromEntries(
      this.sql.exec<{ status: string; n: number }>(`SELECT status, COUNT(*) AS n FROM jobs GROUP BY status`)
        .toArray().map((r) => [r.status, r.n]),
    );
    const oldest = this.sql.exec<{ t: number | null }>(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'QUEUED'`)
      .one().t;
    const retries = this.sql.exec<{ n: number | null }>(
      `SELECT SUM(MAX(attempts - 1, 0)) AS n FROM jobs`,
    ).one().n ?? 0;
    const commitFailures = this.sql.exec<{ n: number }>(
      `SELECT COUNT(*) AS n FROM job_events WHERE kind = 'note' AND at >= ? AND json_extract(detail, '$.reason') = ?`,
      now - 3_600_000,
      COMMIT_FAILED,
    ).one().n;
    return {
      by_status: byStatus,
      commit_failures_last_hour: commitFailures,
      oldest_queued_age_ms: oldest === null ? null : now - oldest,
      retries,
      running_tasks:
        this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks WHERE status IN ('PENDING','RUNNING')`)
          .one().n,
    };
  }

  /** The earliest time anything in this partition is due, for the one alarm. */
  nextDueAt(): number | null {
    const row = this.sql.exec<{ due: number | null }>(
      `SELECT MIN(due) AS due FROM (
         SELECT MIN(next_run_at) AS due FROM jobs WHERE next_run_at IS NOT NULL
         UNION ALL SELECT MIN(next_run_at) FROM tasks WHERE next_run_at IS NOT NULL)`,
    ).one();
    return row.due ?? null;
  }

  /** This partition's own H3 cell, learnt from the first request that names it. */
  ownCell(cell?: string): string | null {
    // Once written the cell never changes: every job's record and every alarm ask for it.
    if (this.#cell) return this.#cell;
    if (cell) this.sql.exec(`INSERT INTO meta (key, value) VALUES ('cell', ?) ON CONFLICT (key) DO NOTHING`, cell);
    const row = this.sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'cell'`).toArray()[0];
    this.#cell = row?.value;
    return row?.value ?? null;
  }

  // --- tasks: this partition's share of a job ---

  /** Adds the task for (job, attempt) unless present; returns whether it was added. */
  enqueueTask(spec: JobSpec, attempt: number, cell: string): boolean {
    const at = this.now();
    return this.sql.exec(
      `INSERT INTO tasks (job_id, attempt, cell, home_cell, spec, status, next_run_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?) ON CONFLICT (job_id, attempt) DO NOTHING`,
      spec.job_id,
      attempt,
      cell,
      spec.home_cell,
      JSON.stringify(spec),
      at,
      at,
    ).rowsWritten > 0;
  }

  getTask(jobId: string, attempt: number): TaskRecord | null {
    const row = this.sql.exec<Row>(`SELECT * FROM tasks WHERE job_id = ? AND attempt = ?`, jobId, attempt).toArray()[0];
    return row ? toTaskRecord(row) : null;
  }

  dueTasks(now: number): TaskRecord[] {
    return this.sql.exec<Row>(
      `SELECT * FROM tasks WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at`,
      now,
    ).toArray().map(toTaskRecord);
  }

  /** Checkpoints a slice: its part object is already durable in R2 when this runs. */
  checkpointTask(
    task: TaskRecord,
    update: {
      next_offset: number;
      part_key: string | null;
      added: number;
      stats: Record<string, number>;
      done: boolean;
    },
    actor: string,
  ): TaskRecord {
    return this.storage.transactionSync(() => {
      const current = this.getTask(task.job_id, task.attempt);
      if (!current || current.next_offset !== task.next_offset || current.status === "CANCELLED") {
        return current ?? task;
      }
      const partKeys = update.part_key ? [...current.part_keys, update.part_key] : current.part_keys;
      const at = this.now();
      this.sql.exec(
        `UPDATE tasks SET status = ?, next_offset = ?, slices = slices + 1, part_keys = ?,
           feature_count = feature_count + ?, stats = ?, next_run_at = ?, updated_at = ?
         WHERE job_id = ? AND attempt = ?`,
        update.done ? "DONE" : "RUNNING",
        update.next_offset,
        JSON.stringify(partKeys),
        update.added,
        JSON.stringify(update.stats),
        at,
        at,
        task.job_id,
        task.attempt,
      );
      this.appendEvent(task.job_id, actor, "slice", null, null, task.attempt, task.spec.trace_id, {
        next_offset: update.next_offset,
        added: update.added,
        done: update.done,
      }, at);
      return this.getTask(task.job_id, task.attempt)!;
    });
  }

  setTaskStatus(jobId: string, attempt: number, status: TaskStatus, nextRunAt: number | null, error?: JobError): void {
    this.sql.exec(
      `UPDATE tasks SET status = ?, next_run_at = ?, error = COALESCE(?, error), updated_at = ? WHERE job_id = ? AND attempt = ?`,
      status,
      nextRunAt,
      error ? JSON.stringify(error) : null,
      this.now(),
      jobId,
      attempt,
    );
  }

  cancelTasks(jobId: string): void {
    this.sql.exec(
      `UPDATE tasks SET status = 'CANCELLED', next_run_at = NULL, updated_at = ?
       WHERE job_id = ? AND status IN ('PENDING','RUNNING')`,
      this.now(),
      jobId,
    );
  }
}

/**
 * Parsed specs by their row: a spec never changes once recorded, and a big
 * job's spec (every tile reference) is read on each progress report.
 */
const parsedSpecs = new Map<string, JobSpec>();
const PARSED_SPECS_MAX = 256;

const specKey = (jobId: unknown) => `job/${jobId}`;

function specOf(rowKey: string, text: SqlStorageValue | undefined): JobSpec {
  return parsedSpecs.get(rowKey) ?? rememberSpec(rowKey, json<JobSpec>(text)!);
}

function rememberSpec(rowKey: string, spec: JobSpec): JobSpec {
  if (parsedSpecs.size >= PARSED_SPECS_MAX) parsedSpecs.clear();
  parsedSpecs.set(rowKey, spec);
  return spec;
}

function toJobRecord(row: Row): JobRecord {
  return {
    job_id: String(row.job_id),
    spec: specOf(specKey(row.job_id), row.spec),
    status: row.status as JobStatusValue,
    attempts: Number(row.attempts),
    retry_base: Number(row.retry_base),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    next_run_at: row.next_run_at === null ? null : Number(row.next_run_at),
    partitions_total: Number(row.partitions_total),
    partitions_done: Number(row.partitions_done),
    result: json<JobResult>(row.result),
    error: json<JobError>(row.error),
    stats: json<Record<string, unknown>>(row.stats),
    degraded: json<{ reason: string }>(row.degraded),
  };
}

function toLedgerEvent(row: Row): LedgerEvent {
  return {
    seq: Number(row.seq),
    job_id: String(row.job_id),
    at: Number(row.at),
    actor: String(row.actor),
    kind: row.kind as LedgerEvent["kind"],
    from_status: row.from_status as JobStatusValue | null,
    to_status: row.to_status as JobStatusValue | null,
    attempt: Number(row.attempt),
    trace_id: row.trace_id === null ? null : String(row.trace_id),
    detail: json<Record<string, unknown>>(row.detail),
  };
}

function toTaskRecord(row: Row): TaskRecord {
  return {
    job_id: String(row.job_id),
    attempt: Number(row.attempt),
    cell: String(row.cell),
    home_cell: String(row.home_cell),
    spec: specOf(`task/${row.job_id}/${row.attempt}/${row.cell}`, row.spec),
    status: row.status as TaskStatus,
    next_offset: Number(row.next_offset),
    slices: Number(row.slices),
    part_keys: json<string[]>(row.part_keys) ?? [],
    feature_count: Number(row.feature_count),
    stats: json<Record<string, number>>(row.stats) ?? {},
    error: json<JobError>(row.error),
    next_run_at: row.next_run_at === null ? null : Number(row.next_run_at),
  };
}
