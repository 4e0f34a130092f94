/**
 * A partition: one H3 cell at the partition resolution. It is the home of the
 * jobs whose id names its cell (their ledger lives here) and it runs its own
 * share of every job that touches its cell, a bounded slice per alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { liveWorkIndexStub, partitionStub } from "../../shared/routing/partitions.ts";
import { mergeAndCommit } from "./commit.ts";
import { backoffMs } from "./backoff.ts";
import {
  enqueueWebhook,
  handOverWebhooks,
  nextWebhookDueAt,
  WEBHOOK_SCHEMA,
  type WebhookSummary,
  webhookSummary,
} from "./webhooks.ts";
import { sloDegradation, sloProjection } from "./slo.ts";
import { DEFAULT_SLICE_WORK, jobOperation, releaseJob, runTaskSlice } from "./executor.ts";
import { toJobError } from "./job_failure.ts";
import { authorizeJobSpec } from "../../shared/auth/job_policy.ts";
import { createLogger, setLogLevel } from "../../shared/telemetry/log.ts";
import { type Span, startSpan } from "../../shared/telemetry/span.ts";
import type { JobSpec } from "../../shared/job_spec.ts";
import { Ledger, type LedgerEvent, type PartitionMetrics, type PartReport, type TaskRecord } from "./ledger.ts";
import type { JobError, JobRecord } from "../../shared/job_record.ts";
import { canTransition, type JobStatus, TERMINAL_STATUSES } from "../../shared/state_machine.ts";

const RETRY_REPORT_MS = 2_000;
/** The ledger note of a failed commit: what the P1 alert counts. */
export const COMMIT_FAILED = "commit failed";

export type SubmitOutcome =
  | { ok: true; created: boolean; job: JobRecord }
  | { ok: false; code: "FORBIDDEN"; reason: string };
export type CancelOutcome = { ok: true; job: JobRecord } | { ok: false; code: "NOT_FOUND" };
export type RedriveOutcome =
  | { ok: true; job: JobRecord }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "ILLEGAL_TRANSITION"; status: JobStatus };

export interface SweepReport {
  retried: string[];
  dead_lettered: string[];
  /** QUEUED jobs overdue by a whole stall interval: their alarm was re-set. */
  woken: string[];
  /** Jobs queued or running here: 0 means no live work. */
  live: number;
  /** FAILED or DEAD_LETTER jobs here (what an operator may re-drive). */
  failures: number;
}

const LIVE_STATUSES: JobStatus[] = ["QUEUED", "IN_PROGRESS"];
const FAILURE_STATUSES: JobStatus[] = ["FAILED", "DEAD_LETTER"];

/** The job moved on (cancelled, retried by the sweep) while its commit ran: the commit's result is not wanted. */
class CommitSuperseded extends Error {
  override name = "CommitSuperseded";
}

export class PartitionLedger extends DurableObject<Env> {
  #ledger: Ledger | undefined;

  /** Whether this partition is known to be on the live-work index (marked since the last idle sweep). */
  #listedLive = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(env.LOG_LEVEL);
  }

  /**
   * Puts this partition on the live-work index while it homes live jobs, once per busy period rather than once
   * per job. Called from the alarm, never on the submit path: a failed call here leaves the job's alarm armed
   * (see {@link rearm}), so it is tried again.
   */
  private async listLive(): Promise<void> {
    if (this.#listedLive || this.ledger.countByStatus(LIVE_STATUSES) === 0) return;
    const cell = this.ledger.ownCell();
    if (!cell) return;
    try {
      await liveWorkIndexStub(this.env).mark(cell);
      this.#listedLive = true;
    } catch (error) {
      createLogger({ cell }).warn("live-work index not reached; retrying", { detail: String(error) });
    }
  }

  /** Tells the live-work index what this partition holds now (the sweep does the same for live partitions). */
  private async reportToIndex(): Promise<void> {
    const cell = this.ledger.ownCell();
    if (!cell) return;
    const live = this.ledger.countByStatus(LIVE_STATUSES) > 0;
    // Not live: the index may forget this partition, so the next job's alarm must list it again.
    if (!live) this.#listedLive = false;
    await liveWorkIndexStub(this.env).report(cell, Date.now(), live, this.ledger.countByStatus(FAILURE_STATUSES) > 0);
  }

  /** The ledger, its schema created on first use: a partition nobody wrote to stays without one. */
  private get ledger(): Ledger {
    if (!this.#ledger) {
      const sql = this.ctx.storage.sql;
      for (const statement of WEBHOOK_SCHEMA) sql.exec(statement);
      // A terminal transition of a job with a callback_url writes its webhook outbox row in the same transaction.
      this.#ledger = new Ledger(this.ctx.storage, Date.now, { afterTransition: (job) => enqueueWebhook(sql, job) });
    }
    return this.#ledger;
  }

  /** Whether anything was ever recorded here; read-only calls on a fresh partition (a made-up job id) write nothing. */
  private hasLedger(): boolean {
    return this.#ledger !== undefined ||
      this.ctx.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'`).toArray().length >
        0;
  }

  // --- RPC: the edge ---

  /**
   * Records the job (idempotent by job id) and wakes this partition to start
   * it, after re-checking the caller's recorded claims (defence in depth).
   */
  async submit(spec: JobSpec): Promise<SubmitOutcome> {
    const span = jobSpan("partition.submit", spec);
    try {
      const decision = authorizeJobSpec(spec, spec.claims);
      if (!decision.ok) {
        span.logger.warn("job refused by policy", { rule: decision.rule, reason: decision.reason });
        span.setStatus("ERROR", decision.reason);
        return { ok: false, code: "FORBIDDEN", reason: decision.reason };
      }
      this.ledger.ownCell(spec.home_cell);
      const outcome = this.ledger.createJob(spec, "edge");
      // The alarm is written in the same synchronous block as the row (no await between): both are committed
      // together or neither is, so a recorded job always has an alarm that will run it.
      if (outcome.created) await this.ctx.storage.setAlarm(Date.now());
      else await this.rearm();
      span.logger.info(outcome.created ? "job recorded" : "job already recorded", {
        partitions: spec.partitions.length,
      });
      return { ok: true, ...outcome };
    } finally {
      span.end();
    }
  }

  /** The job, with its latest webhook delivery when it has a callback_url. */
  async job(jobId: string): Promise<(JobRecord & { webhook?: WebhookSummary }) | null> {
    if (!this.hasLedger()) return null;
    const job = this.ledger.getJob(jobId);
    const webhook = job ? await webhookSummary(this.env, this.ctx.storage.sql, job) : null;
    return job && webhook ? { ...job, webhook } : job;
  }

  /** The records of those of `jobIds` homed here (a caller's job list reads a page of them at once). */
  jobsById(jobIds: string[]): JobRecord[] {
    if (!this.hasLedger()) return [];
    return jobIds.flatMap((id) => this.ledger.getJob(id) ?? []);
  }

  events(jobId?: string): LedgerEvent[] {
    if (!this.hasLedger()) return [];
    return this.ledger.events(jobId);
  }

  /** Cancels the job (idempotent); running partitions stop at their next slice boundary. */
  async cancel(jobId: string, actor: string): Promise<CancelOutcome> {
    const job = this.ledger.getJob(jobId);
    if (!job) return { ok: false, code: "NOT_FOUND" };
    if (job.status === "CANCELLED") return { ok: true, job };
    const cancelled = this.ledger.transition(jobId, "CANCELLED", actor, { next_run_at: null });
    if (job.status === "QUEUED" || job.status === "IN_PROGRESS") {
      await Promise.allSettled(job.spec.partitions.map((cell) => this.forPartition(cell).cancelTask(jobId)));
    }
    // A cancelled failure is nothing left to re-drive: the index may forget this partition.
    if (FAILURE_STATUSES.includes(job.status)) await this.reportToIndex().catch(() => {});
    const span = jobSpan("partition.cancel", job.spec);
    span.logger.info("job cancelled", { from: job.status, actor });
    span.end();
    await this.rearm(); // the job.cancelled webhook
    return { ok: true, job: cancelled };
  }

  /**
   * A reader found the committed result object missing: schedule its
   * re-materialization (from the staged parts, in the alarm — never on the
   * request path). Returns false when the job has no committed result.
   */
  async reconcile(jobId: string): Promise<boolean> {
    const job = this.ledger.getJob(jobId);
    if (!job?.result) return false;
    this.ledger.touch(jobId, Date.now());
    await this.rearm();
    return true;
  }

  // --- RPC: operators and the cron sweep ---

  /** What the staging garbage collector needs to know of a job: null when this partition has no such job. */
  stagingFacts(
    jobId: string,
  ): { status: JobStatus; attempts: number; updated_at: number; committed: string | null } | null {
    const job = this.ledger.getJob(jobId);
    return job
      ? { status: job.status, attempts: job.attempts, updated_at: job.updated_at, committed: job.result?.key ?? null }
      : null;
  }

  /** Re-queues a FAILED or DEAD_LETTER job with a fresh retry budget. */
  async redrive(jobId: string, actor: string): Promise<RedriveOutcome> {
    const job = this.ledger.getJob(jobId);
    if (!job) return { ok: false, code: "NOT_FOUND" };
    if (!canTransition(job.status, "QUEUED") || job.status === "IN_PROGRESS") {
      return { ok: false, code: "ILLEGAL_TRANSITION", status: job.status };
    }
    const queued = this.ledger.transition(jobId, "QUEUED", actor, {
      retry_base: job.attempts,
      next_run_at: Date.now(),
    }, { reason: "operator re-drive" });
    await this.ctx.storage.setAlarm(Date.now()); // with the row, as on submit
    return { ok: true, job: queued };
  }

  listJobs(statuses: JobStatus[], limit: number, stalledBefore?: number): JobRecord[] {
    return stalledBefore === undefined
      ? this.ledger.jobsByStatus(statuses, limit)
      : this.ledger.stalledJobs(stalledBefore).slice(0, limit);
  }

  metrics(): PartitionMetrics {
    return this.ledger.metrics(Date.now());
  }

  /**
   * Retries jobs that made no progress for `stallAfterMs` (backoff with
   * jitter), dead-letters those out of retries, wakes QUEUED jobs overdue by
   * as long, and re-arms a lost alarm.
   */
  async sweep(stallAfterMs: number): Promise<SweepReport> {
    const now = Date.now();
    const report: SweepReport = { retried: [], dead_lettered: [], woken: [], live: 0, failures: 0 };
    for (const job of this.ledger.overdueQueued(now - stallAfterMs)) {
      this.ledger.touch(job.job_id, now);
      report.woken.push(job.job_id);
    }
    if (report.woken.length) await this.ctx.storage.setAlarm(now);
    for (const job of this.ledger.stalledJobs(now - stallAfterMs)) {
      const error: JobError = {
        type: "urn:spatial-jobs:problem:stalled",
        title: "Job stalled",
        status: 503,
        detail: `No progress for ${stallAfterMs} ms (attempt ${job.attempts}).`,
        retryable: true,
      };
      const outcome = this.failJob(job, "cron:sweep", error);
      if (outcome === "DEAD_LETTER") report.dead_lettered.push(job.job_id);
      if (outcome === "QUEUED") {
        report.retried.push(job.job_id);
        await Promise.allSettled(job.spec.partitions.map((cell) => this.forPartition(cell).cancelTask(job.job_id)));
      }
    }
    report.live = this.ledger.countByStatus(LIVE_STATUSES);
    report.failures = this.ledger.countByStatus(FAILURE_STATUSES);
    // Idle: the sweep takes this partition off the index, so the next job must list it again.
    if (report.live === 0) this.#listedLive = false;
    await this.rearm();
    return report;
  }

  // --- RPC: other partitions ---

  /** A partition finished a slice of the job: the job is making progress. */
  progress(jobId: string, attempt: number): void {
    const job = this.ledger.getJob(jobId);
    if (job && job.status === "IN_PROGRESS" && job.attempts === attempt) this.ledger.touch(jobId, job.next_run_at);
  }

  async enqueueTask(spec: JobSpec, attempt: number, cell: string): Promise<void> {
    this.ledger.ownCell(cell);
    if (this.ledger.enqueueTask(spec, attempt, cell)) await this.rearm();
  }

  /** Stops the job's share here at the next slice boundary and frees the GEOS memory it held. */
  cancelTask(jobId: string): void {
    this.ledger.cancelTasks(jobId);
    releaseJob(jobId);
  }

  /** A partition reports its finished share; once all have, the home merges and commits. */
  async partDone(report: PartReport): Promise<void> {
    this.ledger.recordPartDone(report, `partition:${report.cell}`);
    await this.rearm();
  }

  // --- the one alarm ---

  /** Advances due jobs, then runs at most one task slice: each invocation's work stays bounded. */
  override async alarm(): Promise<void> {
    if (!this.hasLedger()) return;
    await this.listLive();
    for (const job of this.ledger.dueJobs(Date.now())) {
      await this.advanceJob(job);
    }
    const task = this.ledger.dueTasks(Date.now())[0];
    if (task) await this.advanceTask(task, Number(this.env.SLICE_WORK_UNITS ?? DEFAULT_SLICE_WORK));
    await handOverWebhooks(this.env, this.ctx.storage.sql); // delivered by the destination's WebhookOutbox
    await this.rearm();
  }

  private get resultChunkBytes(): number | undefined {
    return this.env.RESULT_CHUNK_BYTES ? Number(this.env.RESULT_CHUNK_BYTES) : undefined;
  }

  private async rearm(): Promise<void> {
    const unlisted = !this.#listedLive && this.ledger.countByStatus(LIVE_STATUSES) > 0;
    const jobsDue = minDue(this.ledger.nextDueAt(), unlisted ? Date.now() + RETRY_REPORT_MS : null);
    const hooksDue = nextWebhookDueAt(this.ctx.storage.sql);
    const due = jobsDue === null ? hooksDue : hooksDue === null ? jobsDue : Math.min(jobsDue, hooksDue);
    if (due === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > due) await this.ctx.storage.setAlarm(Math.max(due, Date.now()));
  }

  /** Calls on this very object stay local; others go through the partition's stub. */
  private forPartition(cell: string): PartitionApi {
    return cell === this.ledger.ownCell() ? this : partitionStub(this.env, cell);
  }

  private async advanceJob(job: JobRecord): Promise<void> {
    const span = jobSpan("partition.advance_job", job.spec);
    try {
      await this.advanceJobIn(job, span);
    } finally {
      span.end();
    }
  }

  private async advanceJobIn(job: JobRecord, span: Span): Promise<void> {
    const actor = `partition:${job.spec.home_cell}`;
    if (job.status === "QUEUED") {
      const degradation = jobOperation(job.spec.operation).approximates ? sloDegradation(job.spec) : null;
      job = this.ledger.transition(job.job_id, "IN_PROGRESS", actor, {
        attempts: job.attempts + 1,
        next_run_at: Date.now(),
        stats: { slo: sloProjection(job.spec) },
        ...(degradation ? { degraded: degradation } : {}),
      }, degradation ?? undefined);
      span.logger.info("job started", { attempt: job.attempts, partitions: job.partitions_total });
      if (degradation) span.logger.warn("job degraded to meet its SLO", degradation);
    }
    if (job.status !== "IN_PROGRESS") {
      if (job.result) await this.rematerialize(job, span);
      this.ledger.touch(job.job_id, null);
      return;
    }
    if (job.partitions_done >= job.partitions_total) {
      await this.commit(job, span);
      return;
    }
    // (Re)dispatch: enqueueTask is idempotent, so a crash mid-way is harmless.
    const dispatched = await Promise.allSettled(
      job.spec.partitions.map((cell) =>
        this.forPartition(cell).enqueueTask(
          { ...jobOperation(job.spec.operation).specForPartition(job.spec, cell), approximate: job.degraded !== null },
          job.attempts,
          cell,
        )
      ),
    );
    const failed = dispatched.filter((r) => r.status === "rejected").length;
    this.ledger.touch(job.job_id, failed ? Date.now() + RETRY_REPORT_MS : null);
    span.logger.info("tasks dispatched", { partitions: job.partitions_total, failed });
  }

  private async commit(job: JobRecord, span: Span): Promise<void> {
    const actor = `partition:${job.spec.home_cell}`;
    // Between its awaits the commit checks the job is still this attempt in progress (a cancel or a sweep may
    // have moved it on) and leaves a heartbeat, so the sweep does not take a long commit for a stalled job.
    const heartbeat = () => {
      if (!this.isRunning(job)) throw new CommitSuperseded(`Job "${job.job_id}" moved on during its commit`);
      this.ledger.heartbeat(job.job_id);
    };
    try {
      heartbeat();
      const { result, stats } = await mergeAndCommit(
        this.env.TILES,
        job,
        this.ledger.parts(job.job_id),
        this.resultChunkBytes,
        true,
        heartbeat,
      );
      if (!this.isRunning(job)) {
        await this.env.TILES.delete(result.key);
        throw new CommitSuperseded(`Job "${job.job_id}" moved on during its commit`);
      }
      // The SLO as it turned out: from submit to commit.
      const slo = { ...(job.stats?.slo as object | undefined), actual_ms: Date.now() - job.created_at };
      this.ledger.transition(job.job_id, "COMPLETED", actor, { result, stats: { ...stats, slo }, next_run_at: null });
      span.logger.info("job committed", {
        result_key: result.key,
        features: result.feature_count,
        bytes: result.bytes,
      });
    } catch (error) {
      if (error instanceof CommitSuperseded || !this.isRunning(job)) {
        span.logger.info("commit abandoned: the job moved on", { status: this.ledger.getJob(job.job_id)?.status });
        return;
      }
      const jobError = toJobError(error);
      span.logger.error("commit failed", { detail: jobError.detail, error_message: errorMessage(error) });
      this.ledger.appendEvent(job.job_id, actor, "note", null, null, job.attempts, job.spec.trace_id, {
        reason: COMMIT_FAILED,
        detail: jobError.detail,
      });
      span.setStatus("ERROR", jobError.detail);
      this.failJob(job, actor, jobError);
    }
  }

  /** Rewrites a lost committed result from the staged parts: the same bytes under the same key. */
  private async rematerialize(job: JobRecord, span: Span): Promise<void> {
    const committed = job.result!;
    if (await this.env.TILES.head(committed.key)) return;
    try {
      const { result } = await mergeAndCommit(
        this.env.TILES,
        job,
        this.ledger.parts(job.job_id),
        this.resultChunkBytes,
        committed.encoding === "gzip",
      );
      if (result.key !== committed.key || result.etag !== committed.etag) {
        throw new Error(`re-materialized ${result.key} ${result.etag} differs from committed ${committed.etag}`);
      }
      this.ledger.appendEvent(
        job.job_id,
        `partition:${job.spec.home_cell}`,
        "note",
        null,
        null,
        job.attempts,
        job.spec.trace_id,
        {
          reason: "committed result object was missing; re-materialized from staged parts",
          key: result.key,
        },
      );
      span.logger.warn("result re-materialized", { result_key: result.key });
    } catch (error) {
      span.logger.error("result could not be re-materialized", { detail: String(error) });
    }
  }

  /** Whether `job` is still IN_PROGRESS at the same attempt in the ledger. */
  private isRunning(job: JobRecord): boolean {
    const fresh = this.ledger.getJob(job.job_id);
    return fresh?.status === "IN_PROGRESS" && fresh.attempts === job.attempts;
  }

  /** A failed attempt: FAILED if retrying cannot help, else QUEUED with backoff, or DEAD_LETTER out of retries. */
  private failJob(job: JobRecord, actor: string, error: JobError): JobStatus | null {
    const fresh = this.ledger.getJob(job.job_id);
    if (!fresh || fresh.status !== "IN_PROGRESS" || fresh.attempts !== job.attempts) return null;
    const retriesUsed = fresh.attempts - fresh.retry_base;
    const to: JobStatus = !error.retryable ? "FAILED" : retriesUsed > fresh.spec.max_retries ? "DEAD_LETTER" : "QUEUED";
    this.ledger.transition(job.job_id, to, actor, {
      error,
      next_run_at: to === "QUEUED" ? Date.now() + backoffMs(retriesUsed) : null,
    });
    return to;
  }

  private async advanceTask(task: TaskRecord, workBudget: number): Promise<void> {
    const actor = `partition:${task.cell}`;
    if (task.status === "DONE") {
      await this.reportTask(task);
      return;
    }
    const span = jobSpan("partition.slice", task.spec, { cell: task.cell, attempt: task.attempt });
    try {
      const slice = await runTaskSlice(this.env, task, workBudget);
      const updated = this.ledger.checkpointTask(task, slice, actor);
      span.logger.debug("slice checkpointed", {
        cell: task.cell,
        next_offset: slice.next_offset,
        rows: slice.added,
        done: slice.done,
      });
      if (updated.status === "DONE") await this.reportTask(updated);
      else await Promise.resolve(this.forPartition(task.home_cell).progress(task.job_id, task.attempt)).catch(() => {});
    } catch (error) {
      const jobError = toJobError(error);
      span.logger.error("slice failed", {
        cell: task.cell,
        detail: jobError.detail,
        retryable: jobError.retryable,
        error_message: errorMessage(error),
      });
      span.setStatus("ERROR", jobError.detail);
      this.ledger.setTaskStatus(task.job_id, task.attempt, "FAILED", null, jobError);
      await Promise.resolve(this.forPartition(task.home_cell).taskFailed(task.job_id, task.attempt, jobError))
        .catch(() => {});
    } finally {
      span.end();
    }
  }

  private async reportTask(task: TaskRecord): Promise<void> {
    try {
      const { job_id, cell, attempt, part_keys, feature_count, stats } = task;
      await this.forPartition(task.home_cell).partDone({ job_id, cell, attempt, part_keys, feature_count, stats });
      this.ledger.setTaskStatus(task.job_id, task.attempt, "REPORTED", null);
    } catch {
      this.ledger.setTaskStatus(task.job_id, task.attempt, "DONE", Date.now() + RETRY_REPORT_MS);
    }
  }

  /** A partition's share failed: the job fails (or retries, if the failure may pass). */
  async taskFailed(jobId: string, attempt: number, error: JobError): Promise<void> {
    const job = this.ledger.getJob(jobId);
    if (!job || job.attempts !== attempt) return;
    this.failJob(job, `partition:${job.spec.home_cell}`, error);
    await this.rearm(); // a retry's backoff, or the job.failed/job.dead_lettered webhook
  }
}

interface PartitionApi {
  enqueueTask(spec: JobSpec, attempt: number, cell: string): Promise<void>;
  cancelTask(jobId: string): void | Promise<void>;
  partDone(report: PartReport): Promise<void>;
  taskFailed(jobId: string, attempt: number, error: JobError): void | Promise<void>;
  progress(jobId: string, attempt: number): void | Promise<void>;
}

/** A span of the job's life in this partition, child of the submitting request's span; its lines carry job_id. */
function jobSpan(name: string, spec: JobSpec, attributes: Record<string, string | number> = {}): Span {
  return startSpan(name, {
    traceId: spec.trace_id,
    parentSpanId: spec.parent_span_id,
    attributes: { job_id: spec.job_id, ...attributes },
    logger: createLogger({ job_id: spec.job_id }),
  });
}

export { backoffMs };

function minDue(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** The error's own message, for the logs only. */
function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export type { JobStatus };
export { TERMINAL_STATUSES };
