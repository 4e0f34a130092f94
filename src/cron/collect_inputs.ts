/**
 * Garbage collection of job inputs, a page of R2 keys per prefix per cron
 * tick (listing cursors kept in the live-work index), decided from ledger and
 * catalog facts, once an object is older than STAGING_GRACE_MS (a submit or
 * publish still writing it is younger):
 * - payload tiles (`payloads/<hash>/…`, each naming its job in its metadata):
 *   collected once the job can never read them again: COMPLETED or CANCELLED,
 *   or no ledger knows the job (a submit that crashed before its home
 *   recorded it; a replay uploads them again). A FAILED or DEAD_LETTER job may
 *   be re-driven, so its payload is kept for STAGING_RETENTION_MS after the
 *   failure; a re-drive after that fails at once ("Input no longer stored").
 *   QUEUED and IN_PROGRESS jobs keep theirs.
 * - dataset tiles (`datasets/<name>/<uuid>/…`): collected when the dataset's
 *   catalog has no version and no upload under that prefix (a publish that
 *   never became a version). Every published version is kept: a job may have
 *   pinned any of them and there is no way to unpublish one.
 */
import { homeCellOf } from "../routing/job_id.ts";
import { catalogStub, cronCursorsStub, partitionStub } from "../../shared/routing/partitions.ts";
import type { CollectSummary } from "./collect_staging.ts";
import { DATASETS_PREFIX, parseDatasetObjectKey, PAYLOADS_PREFIX } from "../../shared/r2_keys.ts";
import { config } from "../../shared/config.ts";

const PAGE = 500;

/** Collects what a page of each input prefix holds that nothing can read any more. */
export async function collectInputs(env: Env, now = Date.now()): Promise<CollectSummary> {
  const { STAGING_GRACE_MS: graceMs, STAGING_RETENTION_MS: retentionMs } = config(env);
  const [payloads, datasets] = await Promise.all([
    collectPage(env, PAYLOADS_PREFIX, now - graceMs, async (objects) => {
      const byJob = groupBy(objects, (o) => o.customMetadata?.job_id);
      const doomed: string[] = [];
      await Promise.all([...byJob].map(async ([jobId, keys]) => {
        const cell = homeCellOf(jobId);
        if (!cell) return; // not a job id: not ours to judge
        const facts = await partitionStub(env, cell).stagingFacts(jobId);
        const done = !facts || facts.status === "COMPLETED" || facts.status === "CANCELLED" ||
          ((facts.status === "FAILED" || facts.status === "DEAD_LETTER") && now - facts.updated_at > retentionMs);
        if (done) doomed.push(...keys);
      }));
      return doomed;
    }),
    collectPage(env, DATASETS_PREFIX, now - graceMs, async (objects) => {
      const byPrefix = groupBy(objects, (o) => parseDatasetObjectKey(o.key)?.prefix);
      const doomed: string[] = [];
      await Promise.all([...byPrefix].map(async ([prefix, keys]) => {
        const name = parseDatasetObjectKey(prefix)!.name;
        if (!(await catalogStub(env, name).holdsPrefix(prefix))) doomed.push(...keys);
      }));
      return doomed;
    }),
  ]);
  return { listed: payloads.listed + datasets.listed, deleted: payloads.deleted + datasets.deleted };
}

/** Lists the next page under `prefix` and deletes what `judge` dooms among objects uploaded before `before`. */
async function collectPage(
  env: Env,
  prefix: string,
  before: number,
  judge: (objects: R2Object[]) => Promise<string[]>,
): Promise<CollectSummary> {
  const index = cronCursorsStub(env);
  const cursor = await index.cursor(prefix);
  const page = await env.TILES.list({
    prefix,
    limit: PAGE,
    include: ["customMetadata"],
    ...(cursor ? { cursor } : {}),
  });
  await index.setCursor(prefix, page.truncated ? page.cursor : null);
  const doomed = await judge(page.objects.filter((o) => o.uploaded.getTime() <= before));
  for (let i = 0; i < doomed.length; i += 1000) await env.TILES.delete(doomed.slice(i, i + 1000));
  return { listed: page.objects.length, deleted: doomed.length };
}

function groupBy(objects: R2Object[], keyOf: (o: R2Object) => string | undefined): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const object of objects) {
    const key = keyOf(object);
    if (key !== undefined) groups.set(key, [...(groups.get(key) ?? []), object.key]);
  }
  return groups;
}
