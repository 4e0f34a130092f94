/**
 * A partition: one H3 cell at the partition resolution. It is the home of the
 * jobs whose id names its cell (their ledger lives here) and it runs its own
 * share of every job that touches its cell, a bounded slice per alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { partitionStub } from "../../src/routing/partitions.ts";
import { mergeAndCommit } from "./commit.ts";
import { DEFAULT_SLICE_WORK, runTaskSlice, TaskFailure } from "./executor.ts";
import type { JobSpec } from "./job_spec.ts";
import { type JobError, type JobRecord, Ledger, type LedgerEvent, type TaskRecord } from "./ledger.ts";
import { type JobStatus, TERMINAL_STATUSES } from "./state_machine.ts";

const RETRY_REPORT_MS = 2_000;

export type CancelOutcome = { ok: true; job: JobRecord } | { ok: false; code: "NOT_FOUND" };

export class PartitionLedger extends DurableObject<Env> {
  private readonly ledger: Ledger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ledger = new Ledger(ctx.storage);
  }

  // --- RPC: the edge ---

  /** Records the job (idempotent by job id) and wakes this partition to start it. */
  async submit(spec: JobSpec): Promise<{ created: boolean; job: JobRecord }> {
    this.ledger.ownCell(spec.home_cell);
    const outcome = this.ledger.createJob(spec, "edge");
    await this.rearm();
    return outcome;
  }

  job(jobId: string): JobRecord | null {
    return this.ledger.getJob(jobId);
  }

  events(jobId?: string): LedgerEvent[] {
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
    return { ok: true, job: cancelled };
  }

  // --- RPC: other partitions ---

  async enqueueTask(spec: JobSpec, attempt: number, cell: string): Promise<void> {
    this.ledger.ownCell(cell);
    if (this.ledger.enqueueTask(spec, attempt, cell)) await this.rearm();
  }

  cancelTask(jobId: string): void {
    this.ledger.cancelTasks(jobId);
  }

  /** A partition reports its finished share; once all have, the home merges and commits. */
  async partDone(
    jobId: string,
    cell: string,
    attempt: number,
    partKeys: string[],
    featureCount: number,
    stats: Record<string, number>,
  ): Promise<void> {
    this.ledger.recordPartDone(jobId, cell, attempt, partKeys, featureCount, stats, `partition:${cell}`);
    await this.rearm();
  }

  // --- the one alarm ---

  /** Advances due jobs, then runs at most one task slice: each invocation's work stays bounded. */
  override async alarm(): Promise<void> {
    for (const job of this.ledger.dueJobs(Date.now())) {
      await this.advanceJob(job);
    }
    const task = this.ledger.dueTasks(Date.now())[0];
    if (task) await this.advanceTask(task, Number(this.env.SLICE_WORK_UNITS ?? DEFAULT_SLICE_WORK));
    await this.rearm();
  }

  private async rearm(): Promise<void> {
    const due = this.ledger.nextDueAt();
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
    const actor = `partition:${job.spec.home_cell}`;
    if (job.status === "QUEUED") {
      job = this.ledger.transition(job.job_id, "IN_PROGRESS", actor, {
        attempts: job.attempts + 1,
        next_run_at: Date.now(),
      });
    }
    if (job.status !== "IN_PROGRESS") {
      this.ledger.touch(job.job_id, null);
      return;
    }
    if (job.partitions_done >= job.partitions_total) {
      await this.commit(job);
      return;
    }
    // (Re)dispatch: enqueueTask is idempotent, so a crash mid-way is harmless.
    const dispatched = await Promise.allSettled(
      job.spec.partitions.map((cell) => this.forPartition(cell).enqueueTask(job.spec, job.attempts, cell)),
    );
    const failed = dispatched.filter((r) => r.status === "rejected").length;
    this.ledger.touch(job.job_id, failed ? Date.now() + RETRY_REPORT_MS : null);
  }

  private async commit(job: JobRecord): Promise<void> {
    const actor = `partition:${job.spec.home_cell}`;
    try {
      const { result, stats } = await mergeAndCommit(this.env.TILES, job, this.ledger.parts(job.job_id));
      this.ledger.transition(job.job_id, "COMPLETED", actor, { result, stats, next_run_at: null });
    } catch (error) {
      this.failJob(job, actor, toJobError(error));
    }
  }

  private failJob(job: JobRecord, actor: string, error: JobError): void {
    const fresh = this.ledger.getJob(job.job_id);
    if (!fresh || fresh.status !== "IN_PROGRESS" || fresh.attempts !== job.attempts) return;
    if (!error.retryable) {
      this.ledger.transition(job.job_id, "FAILED", actor, { error, next_run_at: null });
    } else if (fresh.attempts > fresh.spec.max_retries) {
      this.ledger.transition(job.job_id, "DEAD_LETTER", actor, { error, next_run_at: null });
    } else {
      this.ledger.transition(job.job_id, "QUEUED", actor, {
        error,
        next_run_at: Date.now() + backoffMs(fresh.attempts),
      });
    }
  }

  private async advanceTask(task: TaskRecord, workBudget: number): Promise<void> {
    const actor = `partition:${task.cell}`;
    if (task.status === "DONE") {
      await this.reportTask(task);
      return;
    }
    try {
      const slice = await runTaskSlice(this.env, task, workBudget);
      const updated = this.ledger.checkpointTask(task, slice, actor);
      if (updated.status === "DONE") await this.reportTask(updated);
    } catch (error) {
      const jobError = toJobError(error);
      this.ledger.setTaskStatus(task.job_id, task.attempt, "FAILED", null, jobError);
      await Promise.resolve(this.forPartition(task.home_cell).taskFailed(task.job_id, task.attempt, jobError))
        .catch(() => {});
    }
  }

  private async reportTask(task: TaskRecord): Promise<void> {
    try {
      await this.forPartition(task.home_cell).partDone(
        task.job_id,
        task.cell,
        task.attempt,
        task.part_keys,
        task.feature_count,
        task.stats,
      );
      this.ledger.setTaskStatus(task.job_id, task.attempt, "REPORTED", null);
    } catch {
      this.ledger.setTaskStatus(task.job_id, task.attempt, "DONE", Date.now() + RETRY_REPORT_MS);
    }
  }

  /** A partition's share failed: the job fails (or retries, if the failure may pass). */
  taskFailed(jobId: string, attempt: number, error: JobError): void {
    const job = this.ledger.getJob(jobId);
    if (!job || job.attempts !== attempt) return;
    this.failJob(job, `partition:${job.spec.home_cell}`, error);
  }
}

interface PartitionApi {
  enqueueTask(spec: JobSpec, attempt: number, cell: string): Promise<void>;
  cancelTask(jobId: string): void | Promise<void>;
  partDone(
    jobId: string,
    cell: string,
    attempt: number,
    partKeys: string[],
    featureCount: number,
    stats: Record<string, number>,
  ): Promise<void>;
  taskFailed(jobId: string, attempt: number, error: JobError): void | Promise<void>;
}

/** Exponential backoff with full jitter: 1 s, 2 s, 4 s ... capped at 5 min. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(300_000, 1_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
}

function toJobError(error: unknown): JobError {
  if (error instanceof TaskFailure) return error.toJobError();
  return {
    type: "https://spatial-jobs.dev/problems/internal",
    title: "Internal error",
    status: 500,
    detail: error instanceof Error ? error.message : String(error),
    retryable: true,
  };
}

export type { JobStatus };
export { TERMINAL_STATUSES };
