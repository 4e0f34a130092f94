/**
 * The ops service behind src/routes/ops_app.ts (operators only, checked there): list jobs by status or stall
 * across every partition with work (the live-work index's entries: live, holding failures, or busy or recently
 * busy in its work registry), re-drive a job, a job's objects, export a partition's ledger as NDJSON, and service
 * metrics.
 */
import type { JobStatusValue } from "../../shared/contract/job.ts";
import type { OpsService } from "./ops_app.ts";
import { ConflictError, NotFoundError } from "../../shared/problem.ts";
import { homeCellOf } from "../routing/job_id.ts";
import { liveWorkEntries, partitionStub } from "../../shared/routing/partitions.ts";
import { statusDocument } from "../../shared/status_document.ts";
import { jobResultsPrefix, jobStagingPrefix } from "../../shared/r2_keys.ts";
import { config } from "../../shared/config.ts";

/** Alert thresholds, documented in the README (Operating the service): P3 latency, P2 backlog, P1 commit failure. */
const ALERT_THRESHOLDS = { p3_oldest_queued_ms: 45_000, p2_backlog: 10_000, p1_commit_failures: 1 } as const;

export const opsService: OpsService = {
  async jobObjects(c, jobId) {
    const cell = homeCellOf(jobId);
    const job = cell ? await partitionStub(c.env, cell).job(jobId) : null;
    if (!job) throw new NotFoundError(`No job "${jobId}".`);
    const keys = async (prefix: string) => {
      const found: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await c.env.TILES.list({ prefix, ...(cursor ? { cursor } : {}) });
        found.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return found;
    };
    return {
      job_id: jobId,
      status: job.status,
      // A small result kept in the job's record has no object.
      committed: job.result && !job.result.inline ? job.result.key : null,
      ...(job.result?.inline ? { inline_result: true } : {}),
      results: await keys(jobResultsPrefix(jobId)),
      staged_parts: await keys(jobStagingPrefix(jobId)),
    };
  },

  async listJobs(c, query) {
    const cells = (await liveWorkEntries(c.env)).map((e) => e.cell);
    const stalledBefore = query.stalled ? Date.now() - config(c.env).STALL_AFTER_MS : undefined;
    const pages = await Promise.all(
      cells.map((cell) =>
        partitionStub(c.env, cell).listJobs([query.status as JobStatusValue], query.limit, stalledBefore)
      ),
    );
    const jobs = pages.flat().sort((a, b) => a.created_at - b.created_at || (a.job_id < b.job_id ? -1 : 1));
    return { jobs: jobs.slice(0, query.limit).map(statusDocument) };
  },

  async redriveJob(c, jobId, claims) {
    const cell = homeCellOf(jobId);
    if (!cell) throw new NotFoundError(`No job "${jobId}".`);
    const outcome = await partitionStub(c.env, cell).redrive(jobId, `operator:${claims.sub}`);
    if (outcome.ok) return statusDocument(outcome.job);
    if (outcome.code === "NOT_FOUND") throw new NotFoundError(`No job "${jobId}".`);
    throw new ConflictError(
      `Job "${jobId}" is ${outcome.status}; only FAILED or DEAD_LETTER jobs can be re-driven.`,
      "illegal-transition",
    );
  },

  async exportEvents(c, cell, jobId) {
    const events = await partitionStub(c.env, cell).events(jobId);
    return events.map((e) => JSON.stringify(e)).join("\n") + (events.length ? "\n" : "");
  },

  metrics: (c) => serviceMetrics(c.env),
};

async function serviceMetrics(env: Env) {
  const entries = await liveWorkEntries(env);
  const all = await Promise.all(entries.map(({ cell }) => partitionStub(env, cell).metrics()));
  const count = (status: string) => all.reduce((n, m) => n + (m.by_status[status] ?? 0), 0);
  const oldest = Math.max(-1, ...all.map((m) => m.oldest_queued_age_ms ?? -1));
  const withWork = entries.flatMap((entry, i) => {
    const m = all[i]!;
    const work = {
      cell: entry.cell,
      on_live_index: entry.listed,
      queued: m.by_status.QUEUED ?? 0,
      in_progress: m.by_status.IN_PROGRESS ?? 0,
      running_tasks: m.running_tasks,
    };
    return work.queued + work.in_progress + work.running_tasks > 0 ? [work] : [];
  });
  const metrics = {
    live_partitions: entries.filter((e) => e.live).length,
    indexed_partitions: entries.filter((e) => e.listed).length,
    visited_partitions: entries.length,
    queue_depth: count("QUEUED"),
    oldest_queued_age_ms: oldest < 0 ? null : oldest,
    in_flight: count("IN_PROGRESS"),
    running_tasks: all.reduce((n, m) => n + m.running_tasks, 0),
    retries: all.reduce((n, m) => n + m.retries, 0),
    failed: count("FAILED"),
    dead_letters: count("DEAD_LETTER"),
    commit_failures_last_hour: all.reduce((n, m) => n + m.commit_failures_last_hour, 0),
    partitions_with_work: withWork,
  };
  const alerts = [
    ...(metrics.oldest_queued_age_ms !== null && metrics.oldest_queued_age_ms > ALERT_THRESHOLDS.p3_oldest_queued_ms
      ? [{ severity: "P3", reason: "oldest queued job older than 45 s" }]
      : []),
    ...(metrics.queue_depth > ALERT_THRESHOLDS.p2_backlog
      ? [{ severity: "P2", reason: "backlog over 10,000 jobs" }]
      : []),
    ...(metrics.commit_failures_last_hour >= ALERT_THRESHOLDS.p1_commit_failures
      ? [{ severity: "P1", reason: "a result commit failed in the last hour" }]
      : []),
  ];
  return { ...metrics, thresholds: ALERT_THRESHOLDS, alerts };
}
