/**
 * The home coordinator: what a partition does for the jobs it homes (their id names its cell). It starts
 * a queued job, dispatches its tasks to the partitions, merges and commits their parts once all reported,
 * re-materializes a lost result, and decides a failed attempt's fate (retry, fail, dead-letter).
 */
import pLimit from "p-limit";
import type { JobError, JobRecord } from "../../shared/job_record.ts";
import type { JobStatusValue } from "../../shared/contract/job.ts";
import type { Span } from "../../shared/telemetry/span.ts";
import { config } from "../../shared/config.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { backoffMs } from "./backoff.ts";
import { mergeAndCommit } from "./commit.ts";
import { jobOperation } from "./executor.ts";
import { toJobError } from "./job_failure.ts";
import { COMMIT_FAILED, type Ledger } from "./ledger.ts";
import { sloDegradation, sloProjection } from "./slo.ts";
import { errorMessage, jobSpan, type Partition, RETRY_REPORT_MS } from "./context.ts";

/** Tasks a home dispatches at once. */
const DISPATCH_CONCURRENCY = 32;

/** The job moved on (cancelled, retried by the sweep) while its commit ran: the commit's result is not wanted. */
class CommitSuperseded extends Error {
  override name = "CommitSuperseded";
}

/** Moves a due job on by one step: start it, (re)dispatch its tasks, or commit its result. */
export async function advanceJob(p: Partition, job: JobRecord): Promise<void> {
  const span = jobSpan("partition.advance_job", job.spec);
  try {
    await advanceJobIn(p, job, span);
  } finally {
    span.end();
  }
}

async function advanceJobIn(p: Partition, job: JobRecord, span: Span): Promise<void> {
  const actor = `partition:${job.spec.home_cell}`;
  if (job.status === "QUEUED") {
    const pinned = await pinVersions(p, job, span);
    if (pinned === "unreachable") return;
    const degradation = jobOperation(job.spec.operation).approximates ? sloDegradation(job.spec) : null;
    job = p.ledger.transition(job.job_id, "IN_PROGRESS", actor, {
      attempts: job.attempts + 1,
      next_run_at: Date.now(),
      stats: { slo: sloProjection(job.spec) },
      ...(degradation ? { degraded: degradation } : {}),
    }, degradation ?? undefined);
    // The job's life is its advance spans' attributes, not lines of their own: in wrangler dev each line costs the
    // isolate ~0.7 ms, and a job without a partition starts and commits in one span.
    span.setAttribute("started_attempt", job.attempts);
    span.setAttribute("partitions", job.partitions_total);
    if (degradation) span.logger.warn("job degraded to meet its SLO", degradation);
    if (pinned === "deleted") {
      failJob(p.ledger, job, actor, VERSION_DELETED);
      span.logger.warn("a dataset version the job reads was deleted before it started");
      return;
    }
  }
  if (job.status !== "IN_PROGRESS") {
    if (job.result) await rematerialize(p, job, span);
    p.ledger.touch(job.job_id, null);
    return;
  }
  if (job.partitions_done >= job.partitions_total) {
    await commit(p, job, span);
    return;
  }
  // (Re)dispatch: enqueueTask is idempotent, so a crash mid-way is harmless. A bounded number in flight: a job of
  // thousands of partitions would otherwise wake thousands of Durable Objects in one instant (locally, in one
  // process, whose SQLite memory then runs out: SQLITE_NOMEM at 2,552 partitions).
  const slot = pLimit(DISPATCH_CONCURRENCY);
  const dispatched = await Promise.allSettled(
    job.spec.partitions.map((cell) =>
      slot(() =>
        p.forPartition(cell).enqueueTask(
          { ...jobOperation(job.spec.operation).specForPartition(job.spec, cell), approximate: job.degraded !== null },
          job.attempts,
          cell,
        )
      )
    ),
  );
  const failed = dispatched.filter((r) => r.status === "rejected").length;
  p.ledger.touch(job.job_id, failed ? Date.now() + RETRY_REPORT_MS : null);
  span.setAttribute("dispatched", job.partitions_total - failed);
  if (failed) span.setAttribute("dispatch_failed", failed);
}

const VERSION_DELETED: JobError = {
  type: "urn:spatial-jobs:problem:dataset-version-deleted",
  title: "Dataset version deleted",
  status: 409,
  detail: "A dataset version the job reads was deleted between its submit and its start; submit again with a " +
    "new job_idempotency_key.",
  retryable: false,
};

/**
 * Records the job as a reader of each dataset version it reads, before any partition reads one: a delete is
 * refused from then on (src/routes/datasets.ts deleteVersion). Here rather than on the submit path, which it
 * would lengthen by one Durable Object round trip; idempotent, so every start of an attempt pins again.
 */
async function pinVersions(p: Partition, job: JobRecord, span: Span): Promise<"pinned" | "deleted" | "unreachable"> {
  // Only partitions read a version: a job with none (nothing can match) reads none, and its empty result stands
  // whatever becomes of them.
  if (job.spec.partitions.length === 0) return "pinned";
  const sides = [job.spec.left, job.spec.right].flatMap((side) => side.kind === "dataset" ? [side] : []);
  try {
    const pins = await Promise.all(sides.map((side) => catalogStub(p.env, side.name).pin(side.version, job.job_id)));
    return pins.every(Boolean) ? "pinned" : "deleted";
  } catch (error) {
    span.logger.warn("dataset catalog not reached to pin the job's versions; retrying", {
      detail: errorMessage(error),
    });
    p.ledger.touch(job.job_id, Date.now() + RETRY_REPORT_MS);
    return "unreachable";
  }
}

async function commit(p: Partition, job: JobRecord, span: Span): Promise<void> {
  const actor = `partition:${job.spec.home_cell}`;
  // Between its awaits the commit checks the job is still this attempt in progress (a cancel or a sweep may
  // have moved it on) and leaves a heartbeat, so the sweep does not take a long commit for a stalled job.
  const heartbeat = () => {
    if (!isRunning(p.ledger, job)) throw new CommitSuperseded(`Job "${job.job_id}" moved on during its commit`);
    p.ledger.heartbeat(job.job_id);
  };
  try {
    heartbeat();
    const settings = config(p.env);
    const { result, stats } = await mergeAndCommit(
      p.env.TILES,
      job,
      p.ledger.parts(job.job_id),
      settings.RESULT_CHUNK_BYTES,
      true,
      heartbeat,
      settings.INLINE_RESULT_BYTES,
    );
    // The SLO as it turned out: from submit to commit.
    const slo = { ...(job.stats?.slo as object | undefined), actual_ms: Date.now() - job.created_at };
    const committed = p.ledger.transitionIf(job.job_id, job.attempts, "COMPLETED", actor, {
      result,
      stats: { ...stats, slo },
      next_run_at: null,
    });
    if (!committed) {
      if (!result.inline) await p.env.TILES.delete(result.key);
      throw new CommitSuperseded(`Job "${job.job_id}" moved on during its commit`);
    }
    span.setAttribute("committed", result.key);
    span.setAttribute("features", result.feature_count);
    span.setAttribute("bytes", result.bytes);
  } catch (error) {
    if (error instanceof CommitSuperseded || !isRunning(p.ledger, job)) {
      span.logger.info("commit abandoned: the job moved on", { status: p.ledger.getJob(job.job_id)?.status });
      return;
    }
    const jobError = toJobError(error);
    span.logger.error("commit failed", { detail: jobError.detail, error_message: errorMessage(error) });
    p.ledger.appendEvent(job.job_id, actor, "note", null, null, job.attempts, job.spec.trace_id, {
      reason: COMMIT_FAILED,
      detail: jobError.detail,
    });
    span.setStatus("ERROR", jobError.detail);
    failJob(p.ledger, job, actor, jobError);
  }
}

/** Rewrites a lost committed result from the staged parts: the same bytes under the same key. */
async function rematerialize(p: Partition, job: JobRecord, span: Span): Promise<void> {
  const committed = job.result!;
  // A result kept in the record cannot be lost apart from it.
  if (committed.inline || await p.env.TILES.head(committed.key)) return;
  try {
    const { result } = await mergeAndCommit(
      p.env.TILES,
      job,
      p.ledger.parts(job.job_id),
      config(p.env).RESULT_CHUNK_BYTES,
      committed.encoding === "gzip",
    );
    if (result.key !== committed.key || result.etag !== committed.etag) {
      throw new Error(`re-materialized ${result.key} ${result.etag} differs from committed ${committed.etag}`);
    }
    p.ledger.appendEvent(
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
function isRunning(ledger: Ledger, job: JobRecord): boolean {
  const fresh = ledger.jobState(job.job_id);
  return fresh?.status === "IN_PROGRESS" && fresh.attempts === job.attempts;
}

/** A failed attempt: FAILED if retrying cannot help, else QUEUED with backoff, or DEAD_LETTER out of retries. */
export function failJob(ledger: Ledger, job: JobRecord, actor: string, error: JobError): JobStatusValue | null {
  const fresh = ledger.getJob(job.job_id);
  if (!fresh || fresh.status !== "IN_PROGRESS" || fresh.attempts !== job.attempts) return null;
  const retriesUsed = fresh.attempts - fresh.retry_base;
  const to: JobStatusValue = !error.retryable
    ? "FAILED"
    : retriesUsed > fresh.spec.max_retries
    ? "DEAD_LETTER"
    : "QUEUED";
  ledger.transition(job.job_id, to, actor, {
    error,
    next_run_at: to === "QUEUED" ? Date.now() + backoffMs(retriesUsed) : null,
  });
  return to;
}

/** Fails the attempt of every job with no progress since `stalledBefore`: retried with backoff or dead-lettered. */
export async function retryStalled(
  p: Partition,
  stalledBefore: number,
  stallAfterMs: number,
): Promise<{ retried: string[]; dead_lettered: string[] }> {
  const out = { retried: [] as string[], dead_lettered: [] as string[] };
  for (const job of p.ledger.stalledJobs(stalledBefore)) {
    const error: JobError = {
      type: "urn:spatial-jobs:problem:stalled",
      title: "Job stalled",
      status: 503,
      detail: `No progress for ${stallAfterMs} ms (attempt ${job.attempts}).`,
      retryable: true,
    };
    const outcome = failJob(p.ledger, job, "cron:sweep", error);
    if (outcome === "DEAD_LETTER") out.dead_lettered.push(job.job_id);
    if (outcome === "QUEUED") {
      out.retried.push(job.job_id);
      await Promise.allSettled(job.spec.partitions.map((cell) => p.forPartition(cell).cancelTask(job.job_id)));
    }
  }
  return out;
}
