/**
 * The task runner: what a partition does for its share of any job touching its cell. One bounded slice
 * per call, checkpointed in the ledger; a finished share is reported to the job's home, a failed one too.
 */
import { toJobError } from "./job_failure.ts";
import type { TaskRecord } from "./ledger.ts";
import { runTaskSlice } from "./executor.ts";
import { errorMessage, jobSpan, type Partition, RETRY_REPORT_MS } from "./context.ts";

/** Runs one slice of `task` within `workBudget`, or reports it when it is already done. */
export async function advanceTask(p: Partition, task: TaskRecord, workBudget: number): Promise<void> {
  const actor = `partition:${task.cell}`;
  if (task.status === "DONE") {
    await reportTask(p, task);
    return;
  }
  const span = jobSpan("partition.slice", task.spec, { cell: task.cell, attempt: task.attempt });
  try {
    const slice = await runTaskSlice(p.env, task, workBudget);
    const updated = p.ledger.checkpointTask(task, slice, actor);
    span.logger.debug("slice checkpointed", {
      cell: task.cell,
      next_offset: slice.next_offset,
      rows: slice.added,
      done: slice.done,
    });
    if (updated.status === "DONE") await reportTask(p, updated);
    else await Promise.resolve(p.forPartition(task.home_cell).progress(task.job_id, task.attempt)).catch(() => {});
  } catch (error) {
    const jobError = toJobError(error);
    span.logger.error("slice failed", {
      cell: task.cell,
      detail: jobError.detail,
      retryable: jobError.retryable,
      error_message: errorMessage(error),
    });
    span.setStatus("ERROR", jobError.detail);
    p.ledger.setTaskStatus(task.job_id, task.attempt, "FAILED", null, jobError);
    await Promise.resolve(p.forPartition(task.home_cell).taskFailed(task.job_id, task.attempt, jobError))
      .catch(() => {});
  } finally {
    span.end();
  }
}

/** Hands the finished share to the job's home; tried again later when the home is not reached. */
async function reportTask(p: Partition, task: TaskRecord): Promise<void> {
  try {
    const { job_id, cell, attempt, part_keys, feature_count, stats } = task;
    await p.forPartition(task.home_cell).partDone({ job_id, cell, attempt, part_keys, feature_count, stats });
    p.ledger.setTaskStatus(task.job_id, task.attempt, "REPORTED", null);
  } catch {
    p.ledger.setTaskStatus(task.job_id, task.attempt, "DONE", Date.now() + RETRY_REPORT_MS);
  }
}
