/**
 * A partition: one H3 cell at the partition resolution. It is the home of the
 * jobs whose id names its cell (their ledger lives here) and it runs its own
 * share of every job that touches its cell, a bounded slice per alarm.
 *
 * This class is the RPC surface and the alarm; what it does as a job's home is in home.ts, what it does
 * for its share of a job in task_runner.ts, and the state both change is the ledger (ledger.ts).
 */
import { DurableObject } from "cloudflare:workers";
import pLimit from "p-limit";
import { AlarmClock } from "../alarm_clock.ts";
import { liveWorkIndexStub, partitionStub } from "../../shared/routing/partitions.ts";
import {
  enqueueWebhook,
  handOverWebhooks,
  nextWebhookDueAt,
  WEBHOOK_SCHEMA,
  type WebhookSummary,
  webhookSummary,
} from "./webhooks.ts";
import { releaseJob } from "./executor.ts";
import { authorizeJobSpec } from "../../shared/auth/job_policy.ts";
import { createLogger, setLogLevel } from "../../shared/telemetry/log.ts";
import type { JobSpec } from "../../shared/job_spec.ts";
import { Ledger, type LedgerEvent, type PartitionMetrics, type PartReport } from "./ledger.ts";
import type { JobError, JobRecord } from "../../shared/job_record.ts";
import { canTransition } from "../../shared/state_machine.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";
import { config } from "../../shared/config.ts";
import { jobSpan, type Partition, type PartitionApi, RETRY_REPORT_MS } from "./context.ts";
import { advanceJob, failJob, retryStalled } from "./home.ts";
import { advanceTask } from "./task_runner.ts";

export type SubmitOutcome =
  | { ok: true; created: boolean; job: JobRecord }
  | { ok: false; code: "FORBIDDEN"; reason: string };
export type CancelOutcome = { ok: true; job: JobRecord } | { ok: false; code: "NOT_FOUND" };
export type RedriveOutcome =
  | { ok: true; job: JobRecord }
  | { ok: false; code: "NOT_FOUND" }
  | { ok: false; code: "ILLEGAL_TRANSITION"; status: JobStatusValue };

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

const LIVE_STATUSES: JobStatusValue[] = ["QUEUED", "IN_PROGRESS"];
/** How often a working partition tells the work registry again that it works (see registerWork). */
const WORK_REFRESH_MS = 3600 * 1000;
const FAILURE_STATUSES: JobStatusValue[] = ["FAILED", "DEAD_LETTER"];
/** Jobs one advance moves on (see advance). */
const JOBS_PER_ADVANCE = 16;
/**
 * When the alarm written with a submit's rows runs, should the jobs not have advanced by then (this instance died
 * first). Long: the jobs start at once, so the alarm almost always runs to find nothing, and each one costs two writes
 * of the object's metadata (see {@link PartitionLedger.submit}).
 */
const SUBMIT_BACKSTOP_MS = 30_000;
/** How long after a record the jobs handed over meanwhile wait, to be recorded together (see submit). */
const INTAKE_MS = 20;

export class PartitionLedger extends DurableObject<Env> implements PartitionApi {
  #ledger: Ledger | undefined;
  #alarm = new AlarmClock(this.ctx.storage);
  /** The advance in progress (see {@link advanceSoon}), and whether another must follow it. */
  #advancing: Promise<void> | null = null;
  #advanceAgain = false;

  /** The handed-over jobs waiting to be recorded together (see {@link submit}), and when jobs were last recorded. */
  #intake: { specs: JobSpec[]; recorded: PromiseWithResolvers<SubmitOutcome[]> } | null = null;
  #recordedAt = 0;

  /**
   * Whether the webhook outbox may hold rows: unknown (true) until a look finds it empty; only this object's
   * transitions write to it. Most partitions never hold a webhook, and each look is a statement every advance.
   */
  #webhooksWaiting = true;

  /** Whether this partition is known to be on the live-work index (marked since the last idle sweep). */
  #listedLive = false;

  /** What the work registry last heard from this isolate: busy or not (undefined: nothing yet), and when. */
  #registeredBusy: boolean | undefined;
  #registeredAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(config(env).LOG_LEVEL);
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
      await liveWorkIndexStub(this.env, cell).mark(cell);
      this.#listedLive = true;
    } catch (error) {
      createLogger({ cell }).warn("live-work index not reached; retrying", { detail: String(error) });
    }
  }

  /**
   * Tells the work registry (beside the live-work index) whether this partition holds unfinished jobs or tasks
   * once an alarm has run, so the operator endpoints see it whether or not it is a live home: when that changed,
   * and at least every {@link WORK_REFRESH_MS} while it works (the registry visits a cell for a day after its last
   * report). Work that starts and ends within one alarm (a job without a partition) changes nothing to report:
   * reporting it at the alarm's start too cost two index calls a job. A failed call is tried again at the next
   * alarm, and the first alarm of an isolate always reports. Returns whether it is busy when nothing was awaited (the
   * state still as read), else undefined.
   */
  private async registerWork(): Promise<boolean | undefined> {
    const cell = this.ledger.ownCell();
    const busy = this.ledger.hasUnfinishedWork();
    const now = Date.now();
    if (!cell || (busy === this.#registeredBusy && now - this.#registeredAt < WORK_REFRESH_MS)) return busy;
    try {
      await liveWorkIndexStub(this.env, cell).registerWork(cell, busy);
      this.#registeredBusy = busy;
      this.#registeredAt = now;
    } catch (error) {
      createLogger({ cell }).warn("work registry not reached; retrying", { detail: String(error) });
    }
  }

  /** Tells the live-work index what this partition holds now (the sweep does the same for live partitions). */
  private async reportToIndex(): Promise<void> {
    const cell = this.ledger.ownCell();
    if (!cell) return;
    const live = this.ledger.countByStatus(LIVE_STATUSES) > 0;
    // Not live: the index may forget this partition, so the next job's alarm must list it again.
    if (!live) this.#listedLive = false;
    await liveWorkIndexStub(this.env, cell).report(
      cell,
      Date.now(),
      live,
      this.ledger.countByStatus(FAILURE_STATUSES) > 0,
    );
  }

  /** The ledger, its schema created on first use: a partition nobody wrote to stays without one. */
  private get ledger(): Ledger {
    if (!this.#ledger) {
      const sql = this.ctx.storage.sql;
      for (const statement of WEBHOOK_SCHEMA) sql.exec(statement);
      // A terminal transition of a job with a callback_url writes its webhook outbox row in the same transaction.
      this.#ledger = new Ledger(this.ctx.storage, Date.now, {
        afterTransition: (job) => {
          if (enqueueWebhook(sql, job)) this.#webhooksWaiting = true;
        },
      });
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
   * Records the jobs (each idempotent by job id) and wakes this partition to start them, after re-checking each
   * caller's recorded claims (defence in depth). A registry hands over every job of its outbox homed here in one
   * call: one write and one alarm for all of them.
   *
   * Calls that arrive within {@link INTAKE_MS} of the last record are recorded together when that time is up (a group
   * commit): every record is a commit, locally an fsync that blocks the one thread, and one advance then starts all of
   * their jobs. An idle home records at once. The callers are registries handing over claimed jobs, off their
   * submits' path, and rarely the edge (a replay whose claim its home never recorded, which then waits up to
   * INTAKE_MS); each call answers once its jobs are recorded, as before.
   */
  async submit(specs: JobSpec[]): Promise<SubmitOutcome[]> {
    let intake = this.#intake;
    if (!intake) {
      const wait = this.#recordedAt + INTAKE_MS - Date.now();
      if (wait <= 0) return await this.#record(specs);
      intake = this.#intake = { specs: [], recorded: Promise.withResolvers() };
      const due = intake;
      setTimeout(() => {
        this.#intake = null;
        this.#record(due.specs).then(due.recorded.resolve, due.recorded.reject);
      }, wait);
    }
    const from = intake.specs.length;
    intake.specs.push(...specs);
    return (await intake.recorded.promise).slice(from, from + specs.length);
  }

  async #record(specs: JobSpec[]): Promise<SubmitOutcome[]> {
    this.#recordedAt = Date.now();
    const outcomes = specs.map((spec): SubmitOutcome => {
      // A debug line: at info a job's one line is its advance span (started, committed), ~0.7 ms a line in
      // wrangler dev. A refusal is a warning.
      const span = jobSpan("partition.submit", spec, {}, "debug");
      try {
        const decision = authorizeJobSpec(spec, spec.claims);
        if (!decision.ok) {
          span.logger.warn("job refused by policy", { rule: decision.rule, reason: decision.reason });
          span.setStatus("ERROR", decision.reason);
          return { ok: false, code: "FORBIDDEN", reason: decision.reason };
        }
        this.ledger.ownCell(spec.home_cell);
        const outcome = this.ledger.createJob(spec, "edge");
        // The span's line says the job was recorded.
        span.setAttribute("created", outcome.created);
        span.setAttribute("partitions", spec.partitions.length);
        return { ok: true, ...outcome };
      } finally {
        span.end();
      }
    });
    if (outcomes.some((o) => o.ok && o.created)) {
      // The new jobs start now, not in an alarm of their own: an alarm is an event and two writes of the object's
      // metadata (set, then deleted once it ran), each locally a commit and an fsync on the one thread every object
      // runs on. The alarm stays the backstop (this instance dies before the jobs advance), written in the same
      // synchronous block as the rows (no await between), so a recorded job always has an alarm that will run it;
      // one written for an earlier job serves every job of the next SUBMIT_BACKSTOP_MS.
      const backstop = this.#alarm.setBy(Date.now() + SUBMIT_BACKSTOP_MS);
      this.ctx.waitUntil(this.#advanceSoon());
      await backstop;
    } else await this.rearm();
    return outcomes;
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
  ): { status: JobStatusValue; attempts: number; updated_at: number; committed: string | null } | null {
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
    await this.#alarm.setBy(Date.now()); // with the row, as on submit
    return { ok: true, job: queued };
  }

  listJobs(statuses: JobStatusValue[], limit: number, stalledBefore?: number): JobRecord[] {
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
    if (report.woken.length) await this.#alarm.setBy(now);
    Object.assign(report, await retryStalled(this.#partition(), now - stallAfterMs, stallAfterMs));
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

  /** A partition's share failed: the job fails (or retries, if the failure may pass). */
  async taskFailed(jobId: string, attempt: number, error: JobError): Promise<void> {
    const job = this.ledger.getJob(jobId);
    if (!job || job.attempts !== attempt) return;
    failJob(this.ledger, job, `partition:${job.spec.home_cell}`, error);
    await this.rearm(); // a retry's backoff, or the job.failed/job.dead_lettered webhook
  }

  // --- the one alarm ---

  override async alarm(): Promise<void> {
    this.#alarm.ran();
    if (!this.hasLedger()) return;
    await this.#advanceSoon();
  }

  /**
   * Runs {@link PartitionLedger.advance} now, or once more after the run in progress (which read its due jobs before
   * the jobs that came since): never two at once, so a job is never advanced twice side by side.
   */
  #advanceSoon(): Promise<void> {
    if (this.#advancing) {
      this.#advanceAgain = true;
      return this.#advancing;
    }
    const run = async () => {
      try {
        do {
          this.#advanceAgain = false;
          await this.advance();
        } while (this.#advanceAgain);
      } finally {
        this.#advancing = null;
      }
    };
    this.#advancing = run();
    return this.#advancing;
  }

  /** Advances due jobs, then runs at most one task slice: each invocation's work stays bounded. */
  private async advance(): Promise<void> {
    await this.listLive();
    // Side by side, so that their writes share commits (each commit is a write of the database: locally an fsync on
    // the one thread every object runs on); one merge of staged parts at a time, each holding a part per partition
    // and an output chunk. At most JOBS_PER_ADVANCE: a job without a partition advances without awaiting any I/O, so
    // a backlog would run as one block, and requests to every object of the isolate would wait behind it; the rest
    // are due still, and rearm sets the alarm to run again at once.
    const merges = pLimit(1);
    await Promise.all(
      this.ledger.dueJobs(Date.now(), JOBS_PER_ADVANCE).map((job) =>
        mergesParts(job) ? merges(() => advanceJob(this.#partition(), job)) : advanceJob(this.#partition(), job)
      ),
    );
    const task = this.ledger.dueTasks(Date.now())[0];
    if (task) await advanceTask(this.#partition(), task, config(this.env).SLICE_WORK_UNITS);
    // Delivered by the destination's WebhookOutbox.
    if (this.#webhooksWaiting) await handOverWebhooks(this.env, this.ctx.storage.sql);
    await this.rearm(await this.registerWork());
  }

  /** Sets the one alarm to the first thing due; `busy`: whether unfinished work is here, when just read. */
  private async rearm(busy = this.ledger.hasUnfinishedWork()): Promise<void> {
    const unlisted = !this.#listedLive && this.ledger.countByStatus(LIVE_STATUSES) > 0;
    const unregistered = this.#registeredBusy === undefined ? busy : this.#registeredBusy !== busy;
    const jobsDue = minDue(this.ledger.nextDueAt(), unlisted || unregistered ? Date.now() + RETRY_REPORT_MS : null);
    const hooksDue = this.#webhooksWaiting ? nextWebhookDueAt(this.ctx.storage.sql) : null;
    if (hooksDue === null) this.#webhooksWaiting = false;
    const due = jobsDue === null ? hooksDue : hooksDue === null ? jobsDue : Math.min(jobsDue, hooksDue);
    // Nothing due: an alarm still pending (a submit's backstop) is left to run and find nothing, rather than
    // deleted by a write of its own after every job.
    if (due !== null) await this.#alarm.setBy(Math.max(due, Date.now()));
  }

  /** Calls on this very object stay local; others go through the partition's stub. */
  private forPartition(cell: string): PartitionApi {
    return cell === this.ledger.ownCell() ? this : partitionStub(this.env, cell);
  }

  /** This partition as the home coordinator and the task runner see it. */
  #partition(): Partition {
    return { env: this.env, ledger: this.ledger, forPartition: (cell) => this.forPartition(cell) };
  }
}

/** Whether the job's next step merges its partitions' staged parts: its commit, or the rewrite of a lost result. */
function mergesParts(job: JobRecord): boolean {
  if (job.status !== "IN_PROGRESS") return job.result !== null;
  return job.partitions_total > 0 && job.partitions_done >= job.partitions_total;
}

function minDue(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
