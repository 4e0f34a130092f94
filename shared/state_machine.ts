/**
 * The one state machine every job follows. The ledger refuses any transition
 * not listed here, so a bug elsewhere cannot, say, complete a cancelled job.
 */
import type { JobStatusValue } from "./contract/job.ts";

export type JobStatus = JobStatusValue;

const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  QUEUED: ["IN_PROGRESS", "CANCELLED"],
  // Back to QUEUED: a retry after a stall or a retryable failure.
  IN_PROGRESS: ["COMPLETED", "FAILED", "CANCELLED", "QUEUED", "DEAD_LETTER"],
  // An operator re-drives failed and dead-lettered jobs.
  FAILED: ["QUEUED", "CANCELLED"],
  DEAD_LETTER: ["QUEUED", "CANCELLED"],
  // Cancelling a completed job keeps its committed result.
  COMPLETED: ["CANCELLED"],
  CANCELLED: [],
};

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["COMPLETED", "FAILED", "CANCELLED", "DEAD_LETTER"]);

export class IllegalTransitionError extends Error {
  constructor(readonly jobId: string, readonly from: JobStatus, readonly to: JobStatus) {
    super(`Job "${jobId}" cannot go from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(jobId: string, from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(jobId, from, to);
}
