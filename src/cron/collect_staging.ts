/**
 * Garbage collection of staged objects, a page of R2 keys per cron tick (the
 * listing cursor is kept in the live-work index). What it deletes, once older
 * than its grace period:
 * - parts and results of attempts that were retried (never committed);
 * - everything of a job that ended without a result (FAILED, CANCELLED, DEAD_LETTER);
 * - objects of a job no ledger knows (a submit that crashed half-way);
 * - the committed attempt's parts after STAGING_RETENTION_MS (until then they
 *   let a lost result be re-materialized).
 * The committed result object itself is never deleted.
 */
import { homeCellOf } from "../routing/job_id.ts";
import { cronCursorsStub, partitionStub } from "../../shared/routing/partitions.ts";
import { JOBS_PREFIX, parseJobObjectKey } from "../../shared/r2_keys.ts";
import { config } from "../../shared/config.ts";

const PAGE = 500;

export interface CollectSummary {
  listed: number;
  deleted: number;
}

export async function collectStaging(env: Env, now = Date.now()): Promise<CollectSummary> {
  const { STAGING_GRACE_MS: graceMs, STAGING_RETENTION_MS: retentionMs } = config(env);
  const index = cronCursorsStub(env);
  const cursor = await index.cursor("staging");
  const page = await env.TILES.list({ prefix: JOBS_PREFIX, limit: PAGE, ...(cursor ? { cursor } : {}) });
  await index.setCursor("staging", page.truncated ? page.cursor : null);

  const byJob = new Map<string, { key: string; attempt: number; uploaded: number; result: boolean }[]>();
  for (const object of page.objects) {
    const parsed = parseJobObjectKey(object.key);
    if (!parsed) continue;
    const entries = byJob.get(parsed.jobId) ?? [];
    entries.push({
      key: object.key,
      attempt: parsed.attempt,
      uploaded: object.uploaded.getTime(),
      result: parsed.result,
    });
    byJob.set(parsed.jobId, entries);
  }

  const doomed: string[] = [];
  await Promise.all([...byJob].map(async ([jobId, objects]) => {
    const facts = await partitionStub(env, homeCellOf(jobId)!).stagingFacts(jobId);
    for (const o of objects) {
      if (o.key === facts?.committed) continue;
      const age = now - o.uploaded;
      const finishedWithout = facts && ["FAILED", "CANCELLED", "DEAD_LETTER"].includes(facts.status) &&
        !facts.committed;
      const retried = facts && o.attempt < facts.attempts;
      const expiredParts = facts?.committed && o.attempt === facts.attempts && now - facts.updated_at > retentionMs;
      if (age >= graceMs && (!facts || finishedWithout || retried || expiredParts)) doomed.push(o.key);
    }
  }));
  for (let i = 0; i < doomed.length; i += 1000) await env.TILES.delete(doomed.slice(i, i + 1000));
  return { listed: page.objects.length, deleted: doomed.length };
}
