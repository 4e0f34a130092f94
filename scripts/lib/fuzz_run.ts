/**
 * Runs the fuzzer's cases (fuzz_cases.ts) against a running service and
 * checks what must hold whatever the input:
 * - no answer is a 5xx, and /health keeps answering 200;
 * - a rejected request wrote nothing: read back from the service's own
 *   records (partition ledgers, idempotency claims, dataset catalogs, R2
 *   keys, in the local state directory), no job, claim, dataset version or
 *   tile belongs to it;
 * - an accepted dataset round-trips (its manifest reads back, and a job over
 *   it ends COMPLETED or FAILED for a reason about its data, never an internal
 *   error); an accepted job ends the same way.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { devToken } from "./dev_token.ts";
import { FUZZ_DATASETS, type FuzzCase, fuzzGenerator, readVectorSeeds, seedCounties } from "./fuzz_cases.ts";
import { isTerminal } from "../../shared/state_machine.ts";

export interface FuzzTarget {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The service's local state directory (wrangler dev `--persist-to`). */
  stateDir: string;
}

export interface FuzzOptions {
  cases: number;
  seed: number;
  concurrency?: number;
  /** Accepted datasets a job is run over (the rest are read back only). Default 25. */
  roundTrips?: number;
  /** How long accepted jobs may take to end. Default 120 s. */
  jobTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  seconds: number;
  /** kind → outcome → count. */
  tally: Map<string, Map<string | number, number>>;
  /** kind → milliseconds spent answering its cases (summed). */
  millis: Map<string, number>;
  acceptedDatasets: number;
  acceptedJobs: number;
  /** What broke a rule; empty when the service held. */
  findings: string[];
}

/** wrangler dev's proxy answers this (not the service) when its connection to workerd drops; sent again. */
const DEV_PROXY_503 = "Your worker restarted mid-request";

export async function runFuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const token = await devToken({ sub: "fuzzer" }, { secret: "dev-secret" });
  const owner = await devToken({ sub: "fuzz-owner" }, { secret: "dev-secret" });
  const flatgeobufs = await Promise.all(
    ["fuzz_counties.fgb", "fuzz_counties_noindex.fgb", "fuzz_points.fgb", "counties_sample_3857.fgb"].map((f) =>
      Deno.readFile(new URL(`../../test/fixtures/gdal/${f}`, import.meta.url))
    ),
  );
  const findings: string[] = [];
  const found = (finding: string) => {
    findings.push(finding);
    log(`FINDING ${finding}`);
  };
  const tally = new Map<string, Map<string | number, number>>();
  const millis = new Map<string, number>();
  const count = (kind: string, outcome: string | number) => {
    const m = tally.get(kind) ?? new Map();
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
    tally.set(kind, m);
  };

  // The datasets job cases read.
  const zones = { type: "FeatureCollection", features: seedCounties().slice(0, 30) };
  const points = {
    type: "FeatureCollection",
    features: Array.from({ length: 300 }, (_, i) => ({
      type: "Feature",
      id: i,
      properties: { n: i },
      geometry: { type: "Point", coordinates: [-100 + (i % 20), 30 + Math.floor(i / 20)] },
    })),
  };
  for (const [name, fc] of [[FUZZ_DATASETS.zones, zones], [FUZZ_DATASETS.points, points]] as const) {
    const r = await target.fetch(`/v1/datasets/${name}?classification=public&repair=true`, {
      method: "PUT",
      headers: { authorization: `Bearer ${owner}`, "content-type": "application/geo+json" },
      body: JSON.stringify(fc),
    });
    if (r.status !== 201) throw new Error(`publishing ${name}: ${r.status} ${await r.text()}`);
    await r.body?.cancel();
  }

  const send = async (c: FuzzCase): Promise<{ status: number; body: string }> => {
    for (let attempt = 0;; attempt++) {
      const response = await target.fetch(c.path, {
        method: c.method,
        headers: c.headers,
        ...(c.body !== undefined ? { body: c.body as BodyInit } : {}),
      });
      const body = c.target || response.status >= 500 ? await response.text() : "";
      if (!c.target && response.status < 500) await response.body?.cancel();
      if (response.status >= 500 && body.startsWith(DEV_PROXY_503) && attempt < 2) continue;
      return { status: response.status, body };
    }
  };
  const health = async (when: string) => {
    const r = await target.fetch("/health");
    await r.body?.cancel();
    if (r.status !== 200) found(`/health answered ${r.status} ${when}`);
  };

  const vectorSeeds = await readVectorSeeds(new URL("../../test/fixtures/gdal/", import.meta.url));
  const next = fuzzGenerator(options.seed, { token, owner, flatgeobufs, vectorSeeds });
  const acceptedDatasets = new Set<string>(), rejectedDatasets = new Set<string>();
  const acceptedJobs = new Map<string, string>(), rejectedKeys = new Set<string>();
  let index = 0;
  const worker = async () => {
    while (index < options.cases) {
      const i = index++;
      const c = next(i);
      let outcome: { status: number; body: string };
      const sent = performance.now();
      try {
        outcome = await send(c);
        millis.set(c.kind, (millis.get(c.kind) ?? 0) + performance.now() - sent);
      } catch (error) {
        count(c.kind, "network-error");
        found(`case ${i} ${c.kind} ${c.method} ${c.path.slice(0, 80)} → ${error}`);
        continue;
      }
      count(c.kind, outcome.status);
      if (outcome.status >= 500) {
        found(
          `case ${i} ${c.kind} ${c.method} ${c.path.slice(0, 80)} → ${outcome.status} ${outcome.body.slice(0, 300)}`,
        );
      }
      const ok = outcome.status >= 200 && outcome.status < 300;
      if (c.target && "dataset" in c.target) (ok ? acceptedDatasets : rejectedDatasets).add(c.target.dataset);
      if (c.target && "jobKey" in c.target) {
        if (ok) acceptedJobs.set(c.target.jobKey, JSON.parse(outcome.body).job_id);
        else if (outcome.status !== 401) rejectedKeys.add(c.target.jobKey);
      }
      if (i % 1000 === 999) {
        await health(`after case ${i}`);
        log(`  ${i + 1} cases, ${((performance.now() - started) / 1000).toFixed(0)} s`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 12 }, worker));
  await health("after the run");

  // Accepted datasets: the manifest reads back; a join over some of them runs.
  const roundTrips = [...acceptedDatasets].slice(0, options.roundTrips ?? 25);
  const auth = { authorization: `Bearer ${token}` };
  for (const name of acceptedDatasets) {
    const r = await target.fetch(`/v1/datasets/${name}`, { headers: auth });
    const text = await r.text();
    if (r.status !== 200) found(`accepted dataset ${name}: GET answered ${r.status} ${text.slice(0, 200)}`);
  }
  const roundTripJobs = new Map<string, string>();
  for (const name of roundTrips) {
    const key = crypto.randomUUID();
    const r = await target.fetch("/v1/jobs", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        job_idempotency_key: key,
        spatial_operation: "spatial_join",
        left_dataset: name,
        dataset: FUZZ_DATASETS.zones,
      }),
    });
    const text = await r.text();
    if (r.status !== 202) {
      found(`a join over accepted dataset ${name} answered ${r.status} ${text.slice(0, 200)}`);
    } else roundTripJobs.set(key, JSON.parse(text).job_id);
  }
  // Every accepted job ends, and not for an internal reason.
  const deadline = Date.now() + (options.jobTimeoutMs ?? 120_000);
  for (const [what, jobs] of [["job", acceptedJobs], ["round-trip job", roundTripJobs]] as const) {
    for (const jobId of new Set(jobs.values())) {
      let doc: { status: string; error?: { status: number; detail: string } } | undefined;
      while (Date.now() < deadline) {
        const r = await target.fetch(`/v1/jobs/${jobId}`, { headers: auth });
        doc = r.status === 200 ? await r.json() : (await r.body?.cancel(), undefined);
        if (doc && isTerminal(doc.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (!doc || !isTerminal(doc.status)) found(`${what} ${jobId} did not end: ${JSON.stringify(doc)}`);
      else if (doc.status === "DEAD_LETTER" || (doc.error && doc.error.status >= 500)) {
        found(`${what} ${jobId} ended ${doc.status}: ${JSON.stringify(doc.error)}`);
      }
    }
  }

  // Rejected requests wrote nothing, read back from the service's own records.
  const records = readRecords(target.stateDir);
  const knownJobs = new Set([...acceptedJobs.values(), ...roundTripJobs.values()]);
  for (const jobId of records.jobIds) {
    if (!knownJobs.has(jobId)) found(`a ledger holds job ${jobId}, never accepted`);
  }
  for (const key of records.claimKeys) {
    if (rejectedKeys.has(key) && !acceptedJobs.has(key)) {
      found(`idempotency key ${key} was rejected but claimed`);
    }
  }
  for (const name of records.datasets) {
    if (rejectedDatasets.has(name) && !acceptedDatasets.has(name)) {
      found(`rejected dataset ${name} has a version`);
    }
  }
  for (const key of records.objectKeys) {
    const name = /^datasets\/([^/]+)\//.exec(key)?.[1];
    if (name && rejectedDatasets.has(name) && !acceptedDatasets.has(name)) {
      found(`rejected dataset ${name} left ${key}`);
    }
  }

  return {
    seed: options.seed,
    cases: options.cases,
    seconds: (performance.now() - started) / 1000,
    tally,
    millis,
    acceptedDatasets: acceptedDatasets.size,
    acceptedJobs: acceptedJobs.size,
    findings,
  };
}

/** The tally as lines: kind, count, mean answer time, outcomes. */
export function formatTally(report: FuzzReport): string[] {
  return [...report.tally].sort(([a], [b]) => a < b ? -1 : 1).map(([kind, outcomes]) => {
    const n = [...outcomes.values()].reduce((a, b) => a + b, 0);
    const list = [...outcomes].sort(([a], [b]) => String(a) < String(b) ? -1 : 1).map(([s, k]) => `${s}×${k}`);
    const mean = `${Math.round((report.millis.get(kind) ?? 0) / n)} ms`;
    return `  ${kind.padEnd(28)} ${String(n).padStart(6)} ${mean.padStart(8)}  ${list.join(" ")}`;
  });
}

/** Job ids in the partition ledgers, claimed idempotency keys, published dataset names and R2 keys. */
export function readRecords(stateDir: string): {
  jobIds: string[];
  claimKeys: string[];
  datasets: string[];
  objectKeys: string[];
} {
  const rows = (dir: string, sql: string): string[] => {
    const out: string[] = [];
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(`${stateDir}/v3/${dir}`)];
    } catch {
      return out;
    }
    for (const entry of entries) {
      if (!entry.name.endsWith(".sqlite") || entry.name === "metadata.sqlite") continue;
      const db = new DatabaseSync(`${stateDir}/v3/${dir}/${entry.name}`, { readOnly: true });
      try {
        for (const row of db.prepare(sql).all() as { v: string }[]) out.push(row.v);
      } catch {
        // A Durable Object that never created this table: nothing of it.
      } finally {
        db.close();
      }
    }
    return out;
  };
  return {
    jobIds: rows("do/spatial-jobs-PartitionLedger", "SELECT job_id AS v FROM jobs"),
    claimKeys: rows("do/spatial-jobs-IdempotencyRegistry", "SELECT idempotency_key AS v FROM claims_by_key"),
    datasets: rows("do/spatial-jobs-DatasetCatalog", "SELECT json_extract(manifest, '$.name') AS v FROM versions"),
    objectKeys: rows("r2/miniflare-R2BucketObject", "SELECT key AS v FROM _mf_objects"),
  };
}
