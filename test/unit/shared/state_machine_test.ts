import { equal, throws } from "node:assert/strict";
import {
  assertTransition,
  canTransition,
  IllegalTransitionError,
  TERMINAL_STATUSES,
} from "../../../shared/state_machine.ts";
import { JOB_STATUSES } from "../../../shared/contract/job.ts";

Deno.test("a job moves QUEUED → IN_PROGRESS → COMPLETED and no status is reachable from CANCELLED", () => {
  equal(canTransition("QUEUED", "IN_PROGRESS"), true);
  equal(canTransition("IN_PROGRESS", "COMPLETED"), true);
  for (const to of JOB_STATUSES) equal(canTransition("CANCELLED", to), false);
});

Deno.test("completing a job that never started, or reopening a completed one, is refused", () => {
  throws(() => assertTransition("j1", "QUEUED", "COMPLETED"), IllegalTransitionError);
  throws(() => assertTransition("j1", "COMPLETED", "IN_PROGRESS"), IllegalTransitionError);
  throws(() => assertTransition("j1", "COMPLETED", "QUEUED"), IllegalTransitionError);
  throws(() => assertTransition("j1", "FAILED", "COMPLETED"), IllegalTransitionError);
});

Deno.test("only failed and dead-lettered jobs can be re-driven to QUEUED from a terminal status", () => {
  const redrivable = [...TERMINAL_STATUSES].filter((s) => canTransition(s, "QUEUED")).sort();
  equal(redrivable.join(","), "DEAD_LETTER,FAILED");
});
