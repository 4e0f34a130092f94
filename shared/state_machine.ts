/**
 * The one state machine every job follows. The ledger refuses any transition
 * not listed here, so a bug elsewhere cannot, say, complete a cancelled job.
 */
import type { JobStatusValue } from "./contract/job.ts";

const TRANSITIONS: Record<JobStatusValue, readonly JobStatusValue[]> = {
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

export const TERMINAL_STATUSES: ReadonlySet<JobStatusValue> = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "DEAD_LETTER",
]);

/** Whether a status (as a client reads it, any string) is one a job never leaves by itself. */
export function isTerminal(status: string): boolean {
  return TERMINAL_STATUSES.has(status as JobStatusValue);
}

export class IllegalTransitionError extends Error {
  constructor(readonly jobId: string, readonly from: JobStatusValue, readonly to: JobStatusValue) {
    super(`Job "${jobId}" cannot go from ${from} to ${to}`);
    this.name = "IllegalTransitionError";
  }
}

export function canTransition(from: JobStatusValue, to: JobStatusValue): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(jobId: string, from: JobStatusValue, to: JobStatusValue): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(jobId, from, to);
}
