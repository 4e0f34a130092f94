/**
 * `deno task bench:e2e`: the service end to end through its public HTTP contract, beside PostGIS and turf
 * on the same inputs in the same run. Not a test: it prints tables.
 *
 * - J1: us-atlas counties-10m (repaired) × N seeded points (seed 42, contiguous-US bbox), point_in_polygon,
 *   both sides published datasets (`left_dataset` = counties); N = 100,000 and 1,000,000 by default.
 * - J2: counties (repaired) × 1°×1° grid over lon −125…−66, lat 24…50, polygon_intersection.
 * - J3: Natural Earth countries (world-atlas countries-50m, repaired) × a 1° grid over the world.
 * - Service: publish time per dataset (over one request's limits, e.g. J1's 1,000,000 points: the multipart
 *   upload, parts of ≤ 200,000 features, open → parts → complete → COMPLETED), submit → COMPLETED (polling every 100 ms), result download, the
 *   job's own stats, workerd peak RSS (VmHWM, reset before each publish/job), GEOS cold start (first /health),
 *   and the isolate's peak memory during each job (`Runtime.getHeapUsage` over wrangler's inspector every 100 ms:
 *   JS heap + array-buffer backing stores, WASM memory included). Locally the Worker and every Durable Object share
 *   that one isolate, so its peak is an upper bound for any one Durable Object isolate (the platform's 128 MB).
 * - PostGIS (throwaway cluster, GiST indexes): `CREATE TABLE … AS SELECT … ORDER BY left_id, right_id`,
 *   single-threaded (`max_parallel_workers_per_gather = 0`) and with default parallelism.
 * - turf in-process (flatbush candidates, as scripts/bench_core.ts).
 * - Submit latency: p50/p99 of `POST /v1/jobs` at a constant arrival rate from a second process (loadtest),
 *   spread over many token subjects so the per-subject rate limit (20/s by default) is not what is measured.
 *
 * The dev server runs from a snapshot of git `--ref` (default HEAD) with a fresh state dir, so edits in
 * the work tree cannot hot-reload it mid-run.
 *
 * @example
 * ```sh
 * deno task bench:e2e                                   # everything
 * deno task bench:e2e --only J1 --points 100000         # piecemeal
 * deno task bench:e2e --only J2,J3 --no-turf
 * deno task bench:e2e --only load --load-rate 200 --load-seconds 10
 * deno task bench:e2e --only load --load-rate 50,200,500 --load-seconds 10 --load-points offshore --profile /tmp/prof
 * deno task bench:e2e --only J1 --points 1000000 --lift-limits   # experiment: dataset limits raised in the snapshot
 * deno task bench:e2e --only J2 --no-turf --no-postgis --profile /tmp/prof   # CPU profile of each service job
 * deno task bench:e2e --only J1,J3 --no-postgis --no-turf --fresh-isolate    # each job's isolate peak alone
 * deno task bench:e2e --only N1 --repeat 5                    # network traversal beside pgRouting (scripts/bench/network.ts)
 * ```
 */
import { parseArgs } from "node:util";
import * as data from "./bench/datasets.ts";
import { devToken } from "./lib/dev_token.ts";
import { benchZonal, ZONAL_DEFAULTS } from "./bench/zonal.ts";
import { benchZonalBig } from "./bench/zonal_big.ts";
import { downloadResult, type JobRun, ledgerMs, runJob, summarizeGeoJsonResult } from "./bench/jobs_client.ts";
import { type PgRun, type PostGis, startPostGis } from "./bench/postgis.ts";
import { resetPeaks, runtimeUrl, snapshotTree, startBenchService, workerdMemory } from "./bench/service.ts";
import { turfPointInPolygon, turfPolygonIntersection, type TurfRun } from "./bench/turf_engine.ts";
import { fitsOneRequest, publishDataset, publishMultipart, splitGeoJson } from "./bench/upload.ts";
import { freePort } from "./lib/wrangler_dev.ts";
import {
  bundleResolver,
  type CpuProfile,
  formatSummary,
  summarizeProfile,
  withSourcePositions,
} from "./lib/cpu_profile.ts";
import { type HeapPeak, isolateLimitNote } from "./lib/heap_usage.ts";
import { type IsolateWatch, watchIsolate } from "./bench/isolate_watch.ts";
import { runNetworkBench } from "./bench/network.ts";
import { LOAD_HEADER, type LoadKind, type LoadResult, loadRow, stagesLine } from "./bench/load_table.ts";
import { loadGeometryCore } from "../wasm/mod.ts";
import { flatFromGeoJSON, geoJSONFromFlat } from "../wasm/geojson.ts";
import { denoWasmModules } from "../test/unit/wasm/load_core.ts";
import { writeFlatGeobuf } from "../shared/tiles/fgb_writer.ts";

const HELP = `Usage: deno task bench:e2e [options]
  --only <parts>        comma list of J1,J2,J3,load,startup (default all); Z1 (zonal statistics: counties × CONUS
                        raster vs PostGIS raster and rasterio, scripts/bench/zonal.ts; --repeat = runs, min 2) and Z2
                        run on their own; N1,N2,N3 (network traversal beside pgRouting; N2/N3 publish the generated
                        1M-edge network: with --lift-limits)
  --points <list>       J1 point counts (default 100000,1000000)
  --skewed              J1 also over skewed points of each count (80% around county seats, Zipf-weighted)
  --land                J1 also over points of each count uniform over the counties' land (every point in a county)
  --no-service          skip the service (PostGIS/turf only)
  --no-postgis          skip PostGIS (and pgRouting for N1–N3)
  --no-turf             skip turf
  --no-parallel         skip the PostGIS run with default parallelism
  --load-rate <list>    submit requests per second, one load step per value, e.g. 50,200,500 (default 500)
  --load-seconds <n>    load duration of each step (default 30)
  --load-pause <s>      pause after each submit step so its jobs finish (default 15)
  --load-points <where> conus (jobs that run against counties) or offshore (Pacific points: jobs without a
                        partition, so the load measures the submit path alone) (default conus)
  --load-subjects <n>   token subjects the load is spread over (default 100)
  --load-kinds <list>   what each rate sends, in order: edge (a job id naming no partition, 404: the edge alone),
                        status (a job read: the edge and one Durable Object call), submit (default edge,status,submit)
  --load-via <list>     proxy (wrangler dev's public port) and/or direct (the runtime's own socket, behind the
                        proxy) (default direct,proxy)
  --ref <git ref>       tree the dev server runs: a commit, or "worktree" for the files as they are (default HEAD)
  --job-timeout <s>     give up polling a job after this many seconds (default 600)
  --lift-limits         experiment: raise dataset body/feature limits in the snapshot (not src/)
  --vars <list>         service settings for the run (shared/config.ts), e.g. PARTITION_RESOLUTION=2,PARTITION_GROUP_BYTES=0
                        (J3 over more than 1,000 partitions)
  --json <file>         also write every measurement as JSON
  --profile <dir>       CPU-profile each service job (submit → COMPLETED) and each load step into
                        <dir>/<label>.cpuprofile and print its top-15 self-time functions (times then include the
                        profiler's overhead)
  --no-isolate-heap     do not sample the isolate's memory (Runtime.getHeapUsage every 100 ms) during jobs and load
  --fresh-isolate       restart wrangler dev (same state) before each job (J and N), so its isolate peak is the job's alone
                        (times then include a cold start)
  --repeat <n>          run each job n times on the service and in PostGIS (new submits, tables rebuilt); the
                        engines table compares medians and lists every run (default 1)
  --n2-origins <n>      N2 from the first n of its 1,000 origins (to all 1,000 destinations), both engines (default 1000)`;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string", default: "J1,J2,J3,load,startup" },
    points: { type: "string", default: "100000,1000000" },
    skewed: { type: "boolean", default: false },
    land: { type: "boolean", default: false },
    "no-service": { type: "boolean", default: false },
    "no-postgis": { type: "boolean", default: false },
    "no-turf": { type: "boolean", default: false },
    "no-parallel": { type: "boolean", default: false },
    "load-rate": { type: "string", default: "500" },
    "load-seconds": { type: "string", default: "30" },
    "load-pause": { type: "string", default: "15" },
    "load-points": { type: "string", default: "conus" },
    "load-subjects": { type: "string", default: "100" },
    "load-kinds": { type: "string", default: "edge,status,submit" },
    "load-via": { type: "string", default: "direct,proxy" },
    ref: { type: "string", default: "HEAD" },
    "lift-limits": { type: "boolean", default: false },
    vars: { type: "string", default: "" },
    "job-timeout": { type: "string", default: "600" },
    json: { type: "string" },
    profile: { type: "string" },
    "no-isolate-heap": { type: "boolean", default: false },
    "fresh-isolate": { type: "boolean", default: false },
    repeat: { type: "string", default: "1" },
    "n2-origins": { type: "string", default: "1000" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  Deno.exit(0);
}
const parts = new Set(flags.only.split(",").map((s) => s.trim().toLowerCase()));
if (parts.has("z1") || parts.has("z2")) {
  // The zonal benchmarks run their own service, PostGIS and rasterio (scripts/bench/zonal.ts).
  if (parts.has("z1")) await benchZonal({ ...ZONAL_DEFAULTS, runs: Math.max(2, Number(flags.repeat) || 2) });
  if (parts.has("z2")) await benchZonalBig();
  Deno.exit(0);
}
const repeat = Math.max(1, Math.floor(Number(flags.repeat)) || 1);
/** A job's label for run `i` (0-based) of a repeated run; the label itself when jobs run once. */
const runLabel = (label: string, i: number) => (repeat > 1 ? `${label} (run ${i + 1}/${repeat})` : label);
const serviceVars = Object.fromEntries(
  flags.vars.split(",").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);
const pointCounts = flags.points.split(",").map((s) => Number(s.trim())).filter((n) => n > 0);
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
/** The isolate's peak (JS heap + buffers) and its parts, as table cells. */
function heapCells(h: HeapPeak | undefined): string[] {
  if (!h) return ["?", "?"];
  const buffers = h.backingStorageSize === undefined ? "?" : mib(h.backingStorageSize);
  return [mib(h.bytes), `${mib(h.usedSize)} (${mib(h.totalSize)}) / ${buffers}`];
}

/** A row of the publish table: the manifest's summary when it was published, else the problem's detail. */
function publishRow(
  name: string,
  format: string,
  features: number,
  body: Uint8Array,
  out: { ok: boolean; status: number; ms: number; body: unknown },
  workerdPeak: number,
  summary: (manifest: { feature_count?: number; tiles?: unknown[]; repaired_count?: number }) => string,
): string[] {
  const answer = out.body as { feature_count?: number; tiles?: unknown[]; repaired_count?: number; detail?: string };
  return [
    name,
    format,
    String(features),
    mib(body.byteLength),
    String(out.status),
    (out.ms / 1000).toFixed(2),
    mib(workerdPeak),
    out.ok ? summary(answer) : String(answer.detail ?? JSON.stringify(out.body)).slice(0, 120),
  ];
}

// ---------------------------------------------------------------- the jobs
type Op = "point_in_polygon" | "polygon_intersection";
interface JobDef {
  label: string;
  op: Op;
  left: string;
  right: string;
}
interface DatasetDef {
  name: string;
  features: () => data.Feature[];
  repair: boolean;
  idType: "text" | "bigint";
}

const datasets = new Map<string, DatasetDef>();
const jobs: JobDef[] = [];
const def = (d: DatasetDef) => datasets.set(d.name, d);
if (parts.has("j1") || parts.has("j2") || parts.has("load")) {
  def({ name: "counties", features: data.counties, repair: true, idType: "text" });
}
if (parts.has("j1")) {
  for (const n of pointCounts) {
    def({ name: `points_${n}`, features: () => data.points(n), repair: false, idType: "bigint" });
    jobs.push({
      label: `J1 PIP ${n.toLocaleString("en-US")} pts`,
      op: "point_in_polygon",
      left: "counties",
      right: `points_${n}`,
    });
    const variants = [
      ...(flags.skewed ? [{ name: "skewed", features: data.skewedPoints }] : []),
      ...(flags.land ? [{ name: "land", features: data.landPoints }] : []),
    ];
    for (const variant of variants) {
      def({ name: `${variant.name}_${n}`, features: () => variant.features(n), repair: false, idType: "bigint" });
      jobs.push({
        label: `J1 PIP ${n.toLocaleString("en-US")} pts ${variant.name}`,
        op: "point_in_polygon",
        left: "counties",
        right: `${variant.name}_${n}`,
      });
    }
  }
}
if (parts.has("j2")) {
  def({ name: "conus_grid", features: data.conusGrid, repair: false, idType: "text" });
  jobs.push({
    label: "J2 counties × 1° CONUS grid",
    op: "polygon_intersection",
    left: "counties",
    right: "conus_grid",
  });
}
if (parts.has("j3")) {
  def({ name: "countries", features: data.countries, repair: true, idType: "text" });
  def({ name: "world_grid", features: data.worldGrid, repair: false, idType: "text" });
  jobs.push({
    label: "J3 countries × 1° world grid",
    op: "polygon_intersection",
    left: "countries",
    right: "world_grid",
  });
}
const featureCache = new Map<string, data.Feature[]>();
const featuresOf = (name: string) => {
  let f = featureCache.get(name);
  if (!f) featureCache.set(name, f = datasets.get(name)!.features());
  return f;
};

interface Engine {
  seconds: number;
  pairs: number;
  area: number;
  areaM2: number;
  keys?: string[];
  note?: string;
  /** Every run's seconds when a job ran more than once (`--repeat`); `seconds` is then their median. */
  runs?: number[];
}
const results = new Map<string, Record<string, Engine | undefined>>();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Records one run of `engine` on a job; a repeated run adds its seconds to the earlier runs' (median kept). */
const record = (label: string, engine: string, e: Engine | undefined) => {
  const earlier = results.get(label)?.[engine];
  if (e && earlier) {
    const runs = [...(earlier.runs ?? [earlier.seconds]), e.seconds];
    const changed = e.pairs !== earlier.pairs ? `run ${runs.length} gave ${e.pairs} pairs, run 1 ${earlier.pairs}` : "";
    e = {
      ...earlier,
      seconds: median(runs),
      runs,
      note: [earlier.note, changed].filter(Boolean).join("; ") || undefined,
    };
  }
  results.set(label, { ...results.get(label), [engine]: e });
};
const report: Record<string, unknown> = { started_at: new Date().toISOString(), flags };
const notes: string[] = [];

// ---------------------------------------------------------------- PostGIS
/**
 * PostGIS is started and loaded before the service's jobs, so each service run is followed at once by the same job
 * in PostGIS (A, B, A, B …): the machine's drift hits both sides of a pair, and the pairs' ratios are compared.
 */
const pg: PostGis | undefined = !flags["no-postgis"] && jobs.length ? await loadPostGis() : undefined;
/** Per job label and engine: the candidate pairs its exact test ran on (PostGIS: bboxes overlap, `&&`). */
const candidates = new Map<string, { service?: number; pg?: number }>();
/** Per job label: [service s, PostGIS single-threaded s] of each paired run. */
const pairs = new Map<string, [number | undefined, number | undefined][]>();
const pairOf = (label: string, r: number) => {
  const runs = pairs.get(label) ?? [];
  pairs.set(label, runs);
  return runs[r] ??= [undefined, undefined];
};

async function loadPostGis(): Promise<PostGis> {
  log("starting PostGIS");
  const pg = await startPostGis();
  report.postgis = pg.version;
  for (const name of new Set(jobs.flatMap((job) => [job.left, job.right]))) {
    const d = datasets.get(name)!;
    const t0 = performance.now();
    const n = await pg.load(name, featuresOf(name), { repair: d.repair, idType: d.idType });
    log(`PostGIS loaded ${name}: ${n} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return pg;
}

/** Run `r` of `job` in PostGIS: single-threaded, then (unless --no-parallel) with default parallelism. */
async function runPostGis(job: JobDef, r: number): Promise<void> {
  for (const parallel of flags["no-parallel"] ? [false] : [false, true]) {
    log(`PostGIS ${runLabel(job.label, r)} ${parallel ? "parallel" : "single"}`);
    const out = `r_${job.right}_${parallel ? "p" : "s"}`;
    const run: PgRun = job.op === "point_in_polygon"
      ? await pg!.pointInPolygon(out, job.left, job.right, parallel)
      : await pg!.polygonIntersection(out, job.left, job.right, parallel);
    if (!parallel) pairOf(job.label, r)[1] = run.seconds;
    if (!parallel && r === 0) {
      candidates.set(job.label, { ...candidates.get(job.label), pg: await pg!.candidates(job.left, job.right) });
    }
    record(job.label, parallel ? "pg_parallel" : "pg_single", {
      ...run,
      // The agreement check reads the first run's pairs: later runs' would be read for nothing.
      ...(parallel || r > 0 ? {} : { keys: await pg!.keys(out) }),
    });
  }
}

// ---------------------------------------------------------------- the service
const serviceRows: string[][] = [];
const loadRows: string[][] = [];
const publishRows: string[][] = [];
if (!flags["no-service"] && (jobs.length || parts.has("load") || parts.has("startup"))) {
  const tree = await snapshotTree(flags.ref, { liftLimits: flags["lift-limits"] });
  const stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-state-" });
  const logFile = `${stateDir}.log`;
  log(`starting wrangler dev on ${tree.commit.slice(0, 10)} (state ${stateDir}, log ${logFile})`);
  // The inspector, for the isolate's heap and CPU profiles, on a free port (another dev server's may be on 9229).
  const inspectorPort = freePort();
  let service = await startBenchService(freePort(), stateDir, logFile, tree.dir, inspectorPort, serviceVars);
  const heapPeaks: { label: string; peak: HeapPeak }[] = [];
  const watch = (label: string, profile: boolean): Promise<IsolateWatch | undefined> =>
    !profile && flags["no-isolate-heap"] ? Promise.resolve(undefined) : watchIsolate(`127.0.0.1:${inspectorPort}`, {
      heap: !flags["no-isolate-heap"],
      profile,
    }).catch((error) => {
      notes.push(`${label}: no inspector session (${error instanceof Error ? error.message : error})`);
      return undefined;
    });
  if (flags.profile) await Deno.mkdir(flags.profile, { recursive: true });
  /** Writes `<--profile dir>/<label>.cpuprofile` (bundle positions resolved while wrangler runs) and prints its top. */
  const saveProfile = (label: string, raw: CpuProfile) => {
    const file = `${flags.profile}/${label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}.cpuprofile`;
    const profile = withSourcePositions(raw, bundleResolver(tree.dir));
    Deno.writeTextFileSync(file, JSON.stringify(profile));
    console.log(`\n${label}: ${file}\n${formatSummary(summarizeProfile(profile, { top: 15 }), { selfOnly: true })}`);
  };
  report.commit = tree.commit;
  report.startup = {
    listen_ms: service.listenMs,
    first_health_ms: service.firstHealthMs,
    warm_health_ms: service.warmHealthMs,
    geos: service.geosVersion,
  };
  const pids = () => workerdMemory(service.pgid).map((p) => p.pid);
  const peak = () => Math.max(0, ...workerdMemory(service.pgid).map((p) => p.hwm));
  const startupMem = workerdMemory(service.pgid);
  log(
    `listening after ${service.listenMs.toFixed(0)} ms; first /health ${service.firstHealthMs.toFixed(0)} ms, warm ${
      service.warmHealthMs.toFixed(1)
    } ms; workerd ${startupMem.map((p) => `${p.pid}: ${mib(p.hwm)} MiB`).join(", ")}`,
  );
  const token = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 6 * 3600 });
  const published = new Set<string>();
  try {
    // Publish what the jobs (and the load) need.
    for (const d of datasets.values()) {
      const features = featuresOf(d.name);
      let body = data.geoJsonBytes(features);
      let contentType: "application/geo+json" | "application/flatgeobuf" = "application/geo+json";
      if (!fitsOneRequest(body, contentType)) {
        const partBodies = splitGeoJson(body);
        resetPeaks(pids());
        log(
          `publishing ${d.name}: ${features.length} features, ${
            mib(body.byteLength)
          } MiB GeoJSON in ${partBodies.length} parts`,
        );
        const out = await publishMultipart({
          url: service.url,
          name: d.name,
          parts: partBodies.map((p) => ({ body: p, contentType })),
          token,
          repair: d.repair,
          classification: "public",
          onStep: (step) => log(`  ${d.name}: ${step}`),
        });
        publishRows.push(
          publishRow(
            d.name,
            `GeoJSON ×${partBodies.length} parts`,
            features.length,
            body,
            out,
            peak(),
            (m) => `${m.feature_count} features, ${m.tiles?.length} tiles (multipart)`,
          ),
        );
        if (out.ok) published.add(d.name);
        continue;
      }
      for (let attempt = 0; attempt < 2; attempt++) {
        resetPeaks(pids());
        log(`publishing ${d.name}: ${features.length} features, ${mib(body.byteLength)} MiB ${contentType}`);
        const out = await publishDataset({
          url: service.url,
          name: d.name,
          body,
          contentType,
          token,
          repair: d.repair,
          classification: "public",
        });
        const format = contentType === "application/geo+json" ? "GeoJSON" : "FlatGeobuf";
        publishRows.push(
          publishRow(
            d.name,
            format,
            features.length,
            body,
            out,
            peak(),
            (m) => `${m.feature_count} features, ${m.tiles?.length} tiles, ${m.repaired_count ?? 0} repaired`,
          ),
        );
        if (out.ok) {
          published.add(d.name);
          break;
        }
        // Too big as GeoJSON: try the compact binary form once.
        if (contentType === "application/flatgeobuf" || (out.status !== 413 && out.status !== 422)) break;
        contentType = "application/flatgeobuf";
        body = writeFlatGeobuf(
          features.map((f) => ({ id: f.id, geometry: flatFromGeoJSON(f.geometry), properties: {} })),
        );
      }
    }

    const runnable = (job: { left: string; right: string }) => published.has(job.left) && published.has(job.right);
    for (const job of jobs.filter((job) => !runnable(job))) {
      record(job.label, "service", undefined);
      serviceRows.push([job.label, "not run: a dataset was not published", "", "", "", "", "", ""]);
    }
    const jobRuns = jobs.filter(runnable).flatMap((job) =>
      Array.from({ length: repeat }, (_, i) => ({ ...job, run: i, row: runLabel(job.label, i) }))
    );
    for (const job of jobRuns) {
      if (pg) await runPostGis(job, job.run);
      if (flags["fresh-isolate"]) {
        // The same state on disk, a new process: the isolate holds nothing but this job (publishing's garbage gone).
        const port = Number(new URL(service.url).port);
        await service.stop();
        const restartLog = `${stateDir}.${job.row.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.log`;
        service = await startBenchService(port, stateDir, restartLog, tree.dir, inspectorPort, serviceVars);
      }
      resetPeaks(pids());
      log(`running ${job.row}`);
      let run: JobRun;
      const watcher = await watch(job.row, !!flags.profile);
      try {
        run = await runJob(service.url, token, {
          spatial_operation: job.op,
          left_dataset: job.left,
          dataset: job.right,
        }, {
          timeoutMs: Number(flags["job-timeout"]) * 1000,
          onRetry: (status, body) =>
            notes.push(
              `${job.row}: POST /v1/jobs answered ${status} (${JSON.stringify(body).slice(0, 160)}); retried`,
            ),
        });
      } catch (error) {
        await watcher?.stop().catch(() => {});
        serviceRows.push([job.row, `error: ${error instanceof Error ? error.message : error}`.slice(0, 200)]);
        continue;
      }
      const watched = await watcher?.stop().catch((error) => {
        notes.push(`${job.row}: inspector session lost (${error instanceof Error ? error.message : error})`);
        return undefined;
      });
      if (watched?.heap) heapPeaks.push({ label: job.row, peak: watched.heap });
      if (watched?.profile && flags.profile) saveProfile(job.row, watched.profile);
      const jobPeak = peak();
      const doc = run.final;
      if (doc.status !== "COMPLETED") {
        serviceRows.push([job.row, `${doc.status}: ${doc.error?.detail ?? ""}`.slice(0, 200)]);
        report[`job ${job.row}`] = run;
        continue;
      }
      const dl = await downloadResult(service.url, token, run.jobId);
      const summary = summarizeGeoJsonResult(dl.bytes);
      // The ledger's submit → COMMITTED span: what the service took, without the client's polling granularity.
      pairOf(job.label, job.run)[0] = ledgerMs(doc) / 1000;
      record(job.label, "service", {
        seconds: ledgerMs(doc) / 1000,
        pairs: summary.pairs,
        area: summary.area,
        areaM2: summary.areaM2,
        keys: summary.keys,
      });
      const inProgressAt = run.timeline.find((t) => t.status !== "QUEUED")?.at_ms ?? 0;
      const stats = doc.stats as {
        ms?: Record<string, number>;
        candidates_after_bbox?: number;
        exact_tests?: number;
        geos_heap_peak_bytes?: number;
        partition_work?: { max: number; median: number; p95: number };
        critical_path_ms?: number;
        critical_partition?: Record<string, number>;
      };
      const work = stats?.partition_work;
      if (stats?.candidates_after_bbox !== undefined) {
        candidates.set(job.label, { ...candidates.get(job.label), service: stats.candidates_after_bbox });
      }
      if (run.stalledPolls) {
        notes.push(`${job.row}: ${run.stalledPolls} status poll(s) got no answer in 5 s (resent)`);
      }
      serviceRows.push([
        job.row,
        `${doc.progress.partitions_total}`,
        (run.submitMs / 1000).toFixed(3),
        (inProgressAt / 1000).toFixed(2),
        (run.completeMs / 1000).toFixed(2),
        (ledgerMs(doc) / 1000).toFixed(2),
        (dl.ms / 1000).toFixed(2),
        mib(dl.bytes.byteLength),
        mib(jobPeak),
        ...heapCells(watched?.heap),
        stats?.geos_heap_peak_bytes ? mib(stats.geos_heap_peak_bytes) : "?",
        `${stats?.candidates_after_bbox ?? "?"} cand, ${stats?.exact_tests ?? "?"} tests; Σms ${
          Object.entries(stats?.ms ?? {}).map(([k, v]) => `${k} ${v}`).join(", ")
        }${
          work
            ? `; work max/median ${
              (work.max / Math.max(1, work.median)).toFixed(2)
            } (p95 ${work.p95}), critical path ${stats.critical_path_ms} ms${
              stats.critical_partition
                ? ` (${Object.entries(stats.critical_partition).map(([k, v]) => `${k} ${v}`).join(", ")})`
                : ""
            }`
            : ""
        }`,
      ]);
      report[`job ${job.row}`] = {
        ...run,
        download_ms: dl.ms,
        result_bytes: dl.bytes.byteLength,
        peak_rss: jobPeak,
        isolate_heap: watched?.heap,
      };
      if (!("geos_heap_peak_bytes" in (doc.stats ?? {})) && !notes.some((n) => n.startsWith("GEOS heap"))) {
        notes.push("GEOS heap high-water per job: not exposed in the job's stats (no geos_heap_* field).");
      }
    }

    if (parts.has("load") && published.has("counties")) {
      const subjects = Number(flags["load-subjects"]);
      const tokens = await Promise.all(
        Array.from(
          { length: subjects },
          (_, i) => devToken({ sub: `load-${i}`, domain: "geo" }, { ttlSeconds: 6 * 3600 }),
        ),
      );
      const tokenFile = await Deno.makeTempFile({ prefix: "spatial-jobs-bench-tokens-" });
      await Deno.writeTextFile(tokenFile, tokens.join("\n"));
      // The status floor reads one job of the first subject's, with that subject's token.
      const ownerFile = await Deno.makeTempFile({ prefix: "spatial-jobs-bench-owner-" });
      await Deno.writeTextFile(ownerFile, tokens[0]!);
      const statusJob = (await runJob(service.url, tokens[0]!, {
        spatial_operation: "point_in_polygon",
        dataset: "counties",
        geometry_payload: {
          type: "FeatureCollection",
          features: [{ type: "Feature", id: 1, properties: {}, geometry: { type: "Point", coordinates: [-97, 38] } }],
        },
      })).jobId;
      const direct = await runtimeUrl(service.pgid, Number(new URL(service.url).port));
      if (!direct) notes.push("load: the runtime's own socket was not found; every step went through wrangler's proxy");
      const doors = flags["load-via"].split(",").map((v) => v.trim()).filter((v) =>
        v === "proxy" || (v === "direct" && direct)
      );
      const kinds = flags["load-kinds"].split(",").map((k) => k.trim()) as LoadKind[];
      const rates = flags["load-rate"].split(",").map((r) => r.trim()).filter(Boolean);
      const steps: Record<string, unknown>[] = [];
      for (const rate of rates) {
        for (const via of doors) {
          for (const kind of kinds) {
            if (steps.at(-1)?.kind === "submit") {
              log(`load: ${flags["load-pause"]} s for the previous step's jobs to finish`);
              await new Promise((r) => setTimeout(r, Number(flags["load-pause"]) * 1000));
            }
            const label = `load ${kind} ${rate}/s via ${via}`;
            resetPeaks(pids());
            log(`${label} for ${flags["load-seconds"]} s`);
            // No heap sampling here: an isolate with thousands of requests queued answers the inspector minutes late.
            const watcher = flags.profile ? await watch(label, true) : undefined;
            const out = await new Deno.Command(Deno.execPath(), {
              args: [
                "run",
                "-A",
                new URL("./bench/load_submit.ts", import.meta.url).pathname,
                via === "proxy" ? service.url : direct!,
                `@${kind === "status" ? ownerFile : tokenFile}`,
                kind,
                rate,
                flags["load-seconds"],
                kind === "status" ? statusJob : "counties",
                flags["load-points"],
              ],
              stdout: "piped",
              stderr: "inherit",
            }).output();
            const watched = await watcher?.stop().catch(() => undefined);
            if (watched?.profile) saveProfile(label, watched.profile);
            const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "{}";
            try {
              const result = JSON.parse(text) as LoadResult;
              loadRows.push(loadRow(result, via === "proxy" ? "wrangler dev proxy" : "runtime socket"));
              log(`${label}: ${LOAD_HEADER.slice(4, 11).map((h, i) => `${h} ${loadRows.at(-1)![i + 4]}`).join(", ")}`);
              if (result.stages_ms) notes.push(`${label}: Server-Timing p50 / p99 ms: ${stagesLine(result)}`);
              for (const [status, body] of Object.entries(result.non2xx_samples ?? {})) {
                notes.push(`${label}: first ${status} answer: ${body}`);
              }
              steps.push({ ...result, via, peak_rss: peak() });
            } catch {
              steps.push({ kind, via, rate, error: text });
              loadRows.push([kind, via, rate, flags["load-seconds"], `error: ${text.slice(0, 160)}`]);
            }
          }
        }
      }
      await Deno.remove(tokenFile);
      await Deno.remove(ownerFile);
      report.load = steps;
    }
    if (!flags["no-isolate-heap"]) notes.push(isolateLimitNote(heapPeaks));
    report.workerd_final = workerdMemory(service.pgid);
  } finally {
    await service.stop();
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    await Deno.remove(tree.dir, { recursive: true }).catch(() => {});
  }
}

// ---------------------------------------------------------------- PostGIS runs (after the service's, or alone)
if (pg && flags["no-service"]) {
  for (const job of jobs) for (let r = 0; r < repeat; r++) await runPostGis(job, r);
}
await pg?.stop();

// ---------------------------------------------------------------- turf
if (!flags["no-turf"] && jobs.length) {
  const core = await loadGeometryCore(await denoWasmModules());
  const valid = new Map<string, data.Feature[]>();
  const validOf = (name: string) => {
    let out = valid.get(name);
    if (out) return out;
    const d = datasets.get(name)!;
    out = featuresOf(name);
    if (d.repair) {
      out = out.flatMap((f) => {
        const flat = flatFromGeoJSON(f.geometry);
        if (core.validate(flat).valid) return [f];
        using g = core.makeValid(flat, { id: f.id });
        return g.isEmpty() ? [] : [{ ...f, geometry: geoJSONFromFlat(g.toFlat()) as data.Geometry }];
      });
    }
    valid.set(name, out);
    return out;
  };
  for (const job of jobs) {
    log(`turf ${job.label}`);
    const run: TurfRun = job.op === "point_in_polygon"
      ? turfPointInPolygon(validOf(job.left), validOf(job.right))
      : turfPolygonIntersection(validOf(job.left), validOf(job.right));
    record(job.label, "turf", { ...run, ...(run.errors ? { note: `${run.errors} intersect errors` } : {}) });
  }
}

// ---------------------------------------------------------------- network traversal (N1–N3)
const networkCases = ["N1", "N2", "N3"].filter((n) => parts.has(n.toLowerCase()));
const network = networkCases.length
  ? await runNetworkBench({
    cases: networkCases,
    repeat,
    ref: flags.ref,
    liftLimits: flags["lift-limits"],
    n2Origins: Math.min(1000, Math.max(1, Math.floor(Number(flags["n2-origins"])) || 1000)),
    freshIsolate: flags["fresh-isolate"],
    reference: !flags["no-postgis"],
    vars: serviceVars,
    log,
  })
  : null;

// ---------------------------------------------------------------- tables
function table(title: string, header: string[], rows: string[][]) {
  if (!rows.length) return;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  console.log(header.map((h, i) => h.padEnd(widths[i]!)).join("  "));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

const st = report.startup as
  | { listen_ms: number; first_health_ms: number; warm_health_ms: number; geos: string }
  | undefined;
if (st) {
  console.log(
    `\nservice ${String(report.commit).slice(0, 10)}: listening after ${(st.listen_ms / 1000).toFixed(1)} s; ` +
      `GEOS cold start (first /health) ${st.first_health_ms.toFixed(0)} ms, warm /health ${
        st.warm_health_ms.toFixed(1)
      } ms, GEOS ${st.geos}`,
  );
}
table("publish (PUT /v1/datasets)", [
  "dataset",
  "format",
  "features",
  "MiB",
  "HTTP",
  "s",
  "workerd peak MiB",
  "outcome",
], publishRows);
table(
  "service jobs (wall clock, polled every 100 ms; ledger s = submit → COMPLETED as the ledger recorded it, used for the ratios)",
  [
    "job",
    "parts",
    "submit s",
    "→IN_PROGRESS s",
    "→COMPLETED s",
    "ledger s",
    "download s",
    "result MiB",
    "workerd peak MiB",
    "isolate peak MiB",
    "JS used (alloc) / buffers MiB",
    "GEOS heap MiB",
    "stats",
  ],
  serviceRows,
);

const relDiff = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));
const compareRows: string[][] = [];
for (const [label, engines] of results) {
  const base = engines.pg_single;
  for (const name of ["service", "pg_single", "pg_parallel", "turf"]) {
    const e = engines[name];
    if (!e) {
      if (name in engines) compareRows.push([label, name, "—", "", "", "", "", "not run"]);
      continue;
    }
    let agree = "";
    if (base && name !== "pg_single") {
      const checks: string[] = [];
      checks.push(e.pairs === base.pairs ? "pairs =" : `pairs Δ${e.pairs - base.pairs}`);
      if (base.area > 0) {
        const ra = relDiff(e.area, base.area);
        checks.push(`area rel ${ra.toExponential(1)}${ra <= 1e-6 ? " ok" : " FAIL"}`);
        const rm = relDiff(e.areaM2, base.areaM2);
        checks.push(`m² rel ${rm.toExponential(1)}${rm <= 1e-6 ? " ok" : name === "turf" ? " (sphere)" : " FAIL"}`);
      }
      if (e.keys && base.keys) {
        const b = new Set(base.keys);
        const only = e.keys.filter((k) => !b.has(k)).length;
        const missing = base.keys.length - (e.keys.length - only);
        checks.push(only || missing ? `pairs differ: +${only} −${missing}` : "same pairs");
      }
      agree = checks.join("; ");
    }
    compareRows.push([
      label,
      name,
      e.seconds.toFixed(2),
      base ? (e.seconds / base.seconds).toFixed(2) : "",
      String(e.pairs),
      e.area ? e.area.toPrecision(12) : "",
      e.areaM2 ? e.areaM2.toPrecision(12) : "",
      [agree, e.note ?? "", e.runs ? `median of ${e.runs.map((t) => t.toFixed(2)).join(" / ")} s` : ""]
        .filter(Boolean).join("; "),
    ]);
  }
}
table(
  "engines (seconds; ratio against PostGIS single-threaded; agreement against PostGIS single-threaded)",
  ["job", "engine", "s", "× pg_single", "pairs", "Σ area (deg²)", "Σ area_m2", "agreement"],
  compareRows,
);
const pairRows = [...pairs].flatMap(([label, runs]) => {
  const both = runs.filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined);
  if (!both.length) return [];
  const ratios = both.map(([a, b]) => a / b);
  return [[
    label,
    both.map(([a, b]) => `${a.toFixed(2)}/${b.toFixed(2)}`).join(", "),
    median(ratios).toFixed(2),
    `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
  ]];
});
table(
  "paired runs, PostGIS single-threaded then the service, alternating (ratio = service / PostGIS of each pair)",
  ["job", "pairs (service s / PostGIS s)", "median ratio", "spread"],
  pairRows,
);
report.pairs = Object.fromEntries(pairs);
report.candidates = Object.fromEntries(candidates);
const workRows = [...pairs.keys()].flatMap((label) => {
  const engines = results.get(label);
  const service = engines?.service, pgSingle = engines?.pg_single;
  if (!service || !pgSingle || !label.startsWith("J1")) return [];
  const both = pairs.get(label)!.filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined);
  const c = candidates.get(label);
  const us = (e: Engine) => ((e.seconds / Math.max(1, e.pairs)) * 1e6).toFixed(2);
  return [[
    label,
    `${service.pairs} / ${pgSingle.pairs}`,
    `${c?.service ?? "?"} / ${c?.pg ?? "?"}`,
    `${service.seconds.toFixed(2)} / ${pgSingle.seconds.toFixed(2)}`,
    both.length ? median(both.map(([a, b]) => a / b)).toFixed(2) : "",
    `${us(service)} / ${us(pgSingle)}`,
  ]];
});
// Each variant against the uniform job of the same size: what the variant costs each engine.
for (const label of pairs.keys()) {
  const variant = / pts (\w+)$/.exec(label);
  const uniform = variant && results.get(label.replace(/ \w+$/, ""));
  const engines = results.get(label);
  if (!variant || !uniform?.service || !uniform.pg_single || !engines?.service || !engines.pg_single) continue;
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const [c, cu] = [candidates.get(label), candidates.get(label.replace(/ \w+$/, ""))];
  workRows.push([
    `${label} ÷ uniform`,
    `${ratio(engines.service.pairs, uniform.service.pairs)} / ${
      ratio(engines.pg_single.pairs, uniform.pg_single.pairs)
    }`,
    c?.service && cu?.service && c.pg && cu.pg ? `${ratio(c.service, cu.service)} / ${ratio(c.pg, cu.pg)}` : "",
    `${ratio(engines.service.seconds, uniform.service.seconds)} / ${
      ratio(engines.pg_single.seconds, uniform.pg_single.seconds)
    }`,
    "",
    "",
  ]);
}
table(
  "J1 work beside time (service / PostGIS single-threaded; candidates: pairs given the exact test, PostGIS's = " +
    "bboxes overlapping (&&); s: medians; ratio: median of the paired runs'; \"÷ uniform\": the variant's figures " +
    "over the uniform job's of the same size, each engine)",
  ["job", "pairs", "candidate tests", "s", "service/PostGIS", "µs per pair"],
  workRows,
);
table(
  `submit latency under load (from a second process: loadtest at a constant arrival rate, open loop; submits are ${
    flags["load-subjects"]
  } subjects' one-point point_in_polygon jobs against counties; 404s at the edge and status reads are floors on the same runtime)`,
  LOAD_HEADER,
  loadRows,
);
if (report.postgis) console.log(`\nPostGIS: ${report.postgis}`);
for (const n of notes) console.log(`note: ${n}`);
if (flags.json) {
  const strip = (k: string, v: unknown) => (k === "keys" ? undefined : v);
  report.engines = Object.fromEntries(results);
  await Deno.writeTextFile(flags.json, JSON.stringify(report, strip, 2));
}
if (network) {
  table(
    "network traversal, alternating service (A) and pgRouting single-threaded (B); wall s: median (min–max)",
    [
      "case",
      "what",
      "runs",
      "service s",
      "pgRouting s",
      "CPU s service / pgRouting",
      "wall service / pgRouting",
      "isolate peak MiB (held before)",
    ],
    network.rows,
  );
  for (const note of network.notes) console.log(`note: ${note}`);
}
