/**
 * One slice of a partition's share of a job: the operation (operations/)
 * computes rows from the checkpoint until its work budget is spent; the rows
 * go to one staged part object, written before the ledger checkpoint: a
 * crash between the two redoes the slice into the same key, so output is
 * never duplicated.
 */
import pLimit from "p-limit";
import { authorizeJobSpec } from "../../shared/auth/job_policy.ts";
import { loadGeometryCore } from "../../wasm/mod.ts";
import { workerdWasmModules } from "../../wasm/workerd_modules.js";
import { stagedPartKey } from "../../shared/r2_keys.ts";
import { operationOf, OPERATIONS } from "../../operations/mod.ts";
import type { Operation } from "../../operations/operation.ts";
import { encodePart, PART_CONTENT_TYPE, partFacts } from "./part_codec.ts";
import type { TaskRecord } from "./ledger.ts";
import { PermanentJobError } from "./job_failure.ts";

/**
 * Rows a slice stops at (the one left feature that passes it finishes): the
 * merge holds one part per partition at a time, so parts stay a few MB.
 */
const MAX_SLICE_ROWS = 32_768;

export interface SliceResult {
  next_offset: number;
  part_key: string | null;
  added: number;
  stats: Record<string, number>;
  done: boolean;
}

/**
 * Slices running at once in this isolate. Locally every partition shares one
 * isolate, and a job's partitions all wake together: unbounded, they would
 * all hold their inputs at once. Two overlap one's I/O with the other's work.
 */
const sliceSlots = pLimit(2);

/**
 * Runs one slice of `task` spending at most `workBudget` work units (`SLICE_WORK_UNITS`): workerd freezes clocks
 * during computation, so CPU time cannot be read mid-slice; a unit is about 0.1 µs of compute (for the overlays:
 * one vertex visited by an exact test).
 */
export function runTaskSlice(env: Env, task: TaskRecord, workBudget: number): Promise<SliceResult> {
  return sliceSlots(() => runSlice(env, task, workBudget));
}

/** The operation a job runs. @throws {PermanentJobError} for a name this service does not run (an old job). */
export function jobOperation(name: string): Operation {
  const operation = operationOf(name);
  if (!operation) throw new PermanentJobError("Unknown operation", `This service does not run "${name}".`, 422);
  return operation;
}

async function runSlice(env: Env, task: TaskRecord, workBudget: number): Promise<SliceResult> {
  // Defence in depth: the recorded claims must still allow the job before any data is read.
  const decision = authorizeJobSpec(task.spec, task.spec.claims);
  if (!decision.ok) throw new PermanentJobError("Forbidden", decision.reason, 403, "forbidden");
  const operation = jobOperation(task.spec.operation);
  const started = Date.now();
  const slice = await operation.runSlice({
    bucket: env.TILES,
    task,
    window: decision.window,
    workBudget,
    maxRows: MAX_SLICE_ROWS,
    geometryCore: () => loadGeometryCore(workerdWasmModules),
  });
  const stats = { ...task.stats };
  for (const [name, n] of Object.entries(slice.stats)) {
    // Heap sizes and peaks keep the largest; everything else counts up.
    const peak = name.endsWith("_heap_bytes") || name.endsWith("_peak_bytes");
    stats[name] = peak ? Math.max(stats[name] ?? 0, n) : (stats[name] ?? 0) + n;
  }
  const add = (name: string, n: number) => (stats[name] = (stats[name] ?? 0) + n);
  add("compute_ms", Date.now() - started - (slice.stats.read_ms ?? 0) - (slice.stats.index_ms ?? 0));

  let partKey: string | null = null;
  const rows = slice.rows;
  if (rows.length) {
    const writeStarted = Date.now();
    partKey = stagedPartKey(task.job_id, task.attempt, task.cell, task.slices);
    await env.TILES.put(partKey, encodePart(rows), { httpMetadata: { contentType: PART_CONTENT_TYPE } });
    add("write_ms", Date.now() - writeStarted);
  }
  add("pairs", rows.length);
  Object.assign(stats, partFacts(rows, stats));
  return { next_offset: slice.next_offset, part_key: partKey, added: rows.length, stats, done: slice.done };
}

/** Frees what a cancelled job holds in this isolate. */
export function releaseJob(jobId: string): void {
  for (const operation of Object.values(OPERATIONS)) operation.releaseJob(jobId);
}
