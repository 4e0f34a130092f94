/**
 * The cron trigger: visits only the partitions the live-work index lists as
 * live, asks each to retry or dead-letter its stalled jobs, wake its overdue
 * queued ones (and re-arm a lost alarm), and reports what it found to the
 * index, which forgets partitions left with no live work and no failed jobs.
 */
import { createLogger } from "../../shared/telemetry/log.ts";
import { liveWorkIndexes, partitionStub } from "../../shared/routing/partitions.ts";
import { config } from "../../shared/config.ts";

export interface SweepSummary {
  partitions: number;
  retried: string[];
  dead_lettered: string[];
  woken: string[];
  idle: number;
  failed_partitions: number;
}

export async function sweepStalledJobs(env: Env): Promise<SweepSummary> {
  const startedAt = Date.now();
  const logger = createLogger({ trace_id: crypto.randomUUID().replaceAll("-", ""), span_id: "cron-sweep" });
  // Each cell is reported back to the shard that listed it (a cell listed before the index was sharded: shard 0).
  const listed = (await Promise.all(
    liveWorkIndexes(env).map(async (index) => (await index.liveCells()).map((cell) => ({ cell, index }))),
  )).flat();
  const stallAfterMs = config(env).STALL_AFTER_MS;
  const summary: SweepSummary = {
    partitions: listed.length,
    retried: [],
    dead_lettered: [],
    woken: [],
    idle: 0,
    failed_partitions: 0,
  };
  await Promise.all(listed.map(async ({ cell, index }) => {
    try {
      const report = await partitionStub(env, cell).sweep(stallAfterMs);
      summary.retried.push(...report.retried);
      summary.dead_lettered.push(...report.dead_lettered);
      summary.woken.push(...report.woken);
      if (report.live === 0) summary.idle++;
      await index.report(cell, startedAt, report.live > 0, report.failures > 0);
    } catch (error) {
      summary.failed_partitions++;
      logger.error("sweep of a partition failed", {
        cell,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }));
  logger.info("stall sweep", { ...summary, ms: Date.now() - startedAt });
  return summary;
}
