/**
 * `deno task demo`: the scripted end-to-end run, through the public HTTP contract only.
 *
 * 1. Starts the service (`wrangler dev` on a free port, fresh state in a temp dir), or uses `--url`.
 * 2. Publishes every us-atlas county (3,231, `?repair=true`), {@link POINT_COUNT} seeded points over the
 *    contiguous US and a 1° grid over the contiguous US.
 * 3. Submits a `point_in_polygon` job (points × counties, FlatGeobuf) and a `polygon_intersection` job
 *    (counties × grid, GeoJSON), polls both to a terminal status, downloads the results into `--out`.
 * 4. Prints timings and feature counts, and writes them to `<out>/summary.json`.
 *
 * @example
 * ```sh
 * deno task demo                                  # own service, results in ./demo-output/
 * deno task demo --url http://127.0.0.1:8787     # against `deno task dev` (datasets get a run suffix)
 * deno task demo --points 20000 --out /tmp/demo
 * ```
 */
import { parseArgs } from "node:util";
import { allCounties, type Feature, type FeatureCollection, grid1deg } from "./fixtures/make_inputs.ts";
import { devToken } from "./lib/dev_token.ts";
import { CONUS_BBOX, seededPoints } from "./lib/seeded_random.ts";
import { type DevServer, freePort, startDevServer } from "./lib/wrangler_dev.ts";
import { parseFlatGeobuf } from "../shared/tiles/fgb_features.ts";
import { isTerminal } from "../shared/state_machine.ts";

const POINT_COUNT = 100_000;
const POINT_SEED = 7;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    url: { type: "string" },
    out: { type: "string", default: "demo-output" },
    points: { type: "string", default: String(POINT_COUNT) },
    "timeout-s": { type: "string", default: "900" },
  },
});
const pointCount = Number(values.points);
if (!Number.isInteger(pointCount) || pointCount <= 0) {
  throw new RangeError(`--points must be > 0, got "${values.points}"`);
}
const timeoutMs = Number(values["timeout-s"]) * 1000;
const outDir = values.out.replace(/\/$/, "");
await Deno.mkdir(outDir, { recursive: true });

// --- the service ---------------------------------------------------------------------------------

let server: DevServer | undefined;
let stateDir: string | undefined;
let base = values.url?.replace(/\/$/, "");
const runStarted = performance.now();
if (!base) {
  stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-demo-" });
  const port = freePort();
  step(`starting the service on :${port} (wrangler dev, state in ${stateDir}, log in ${outDir}/wrangler.log)`);
  const t = performance.now();
  server = await startDevServer({ port, stateDir, logFile: `${outDir}/wrangler.log` });
  base = server.url;
  done(`ready in ${secs(performance.now() - t)}`);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await shutdown();
    Deno.exit(130);
  });
}

// Against a shared service, name this run's datasets apart; a service of our own starts empty.
const suffix = values.url ? `-${crypto.randomUUID().slice(0, 8)}` : "";
const names = { counties: `us-counties${suffix}`, points: `conus-points${suffix}`, grid: `conus-grid-1deg${suffix}` };
const token = await devToken({ sub: "demo", domain: "demo" }, { ttlSeconds: 4 * 3600 });
const auth = { authorization: `Bearer ${token}` };

interface Summary {
  service: string;
  publish: Record<string, unknown>;
  jobs: Record<string, unknown>;
  problems: string[];
  total_s?: number;
}
const summary: Summary = { service: base, publish: {}, jobs: {}, problems: [] };

try {
  const health = await (await fetch(`${base}/health`)).json();
  step(`GET /health → ${JSON.stringify(health)}`);

  // --- publish ----------------------------------------------------------------------------------

  const counties = allCounties();
  const countyCount = counties.length;
  const countiesOk = await publish(names.counties, collection(counties), "repair=true", countyCount);

  const grid = grid1deg([...CONUS_BBOX]);
  const gridOk = await publish(names.grid, collection(grid), "", grid.length);

  const xy = seededPoints(pointCount, POINT_SEED);
  const points: Feature<{ type: "Point"; coordinates: [number, number] }>[] = [];
  for (let i = 0; i < pointCount; i++) {
    points.push({
      type: "Feature",
      id: i,
      properties: {},
      geometry: { type: "Point", coordinates: [xy[2 * i]!, xy[2 * i + 1]!] },
    });
  }
  const pointsOk = await publish(names.points, collection(points), "", pointCount);

  // --- jobs -------------------------------------------------------------------------------------

  const jobs: Promise<void>[] = [];
  if (pointsOk && countiesOk) {
    jobs.push(runJob("point_in_polygon", {
      spatial_operation: "point_in_polygon",
      left_dataset: names.points,
      dataset: names.counties,
      output_format: "flatgeobuf",
    }));
  } else summary.problems.push("point_in_polygon skipped: a dataset did not publish");
  if (countiesOk && gridOk) {
    jobs.push(runJob("polygon_intersection", {
      spatial_operation: "polygon_intersection",
      left_dataset: names.counties,
      dataset: names.grid,
      output_format: "geojson",
    }));
  } else summary.problems.push("polygon_intersection skipped: a dataset did not publish");
  await Promise.all(jobs);
} finally {
  summary.total_s = round((performance.now() - runStarted) / 1000);
  await Deno.writeTextFile(`${outDir}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
  await shutdown();
}

step(`total ${summary.total_s} s; summary in ${outDir}/summary.json`);
if (summary.problems.length) {
  console.log("\nproblems:");
  for (const p of summary.problems) console.log(`  - ${p}`);
  Deno.exit(1);
}

// --- helpers -----------------------------------------------------------------------------------

async function publish(name: string, fc: FeatureCollection<unknown>, query: string, sent: number): Promise<boolean> {
  const body = new TextEncoder().encode(JSON.stringify(fc));
  const q = ["classification=public", query].filter(Boolean).join("&");
  step(`PUT /v1/datasets/${name}?${q}  (${sent.toLocaleString("en")} features, ${mb(body.length)})`);
  const t = performance.now();
  const response = await fetch(`${base}/v1/datasets/${name}?${q}`, {
    method: "PUT",
    headers: { ...auth, "content-type": "application/geo+json" },
    body,
  });
  const ms = performance.now() - t;
  const text = await response.text();
  const doc = parseJson(text);
  if (response.status !== 201) {
    const why = doc?.detail
      ? `${doc.title}: ${doc.detail} ${JSON.stringify(doc.errors?.slice(0, 3) ?? [])}`
      : JSON.stringify(text.slice(0, 300));
    const problem = `PUT /v1/datasets/${name} answered ${response.status} after ${secs(ms)}: ${why}`;
    summary.problems.push(problem);
    done(problem);
    return false;
  }
  const repaired = doc.repaired_count ? `, ${doc.repaired_count} repaired` : "";
  done(
    `201 in ${secs(ms)}: version ${doc.version}, ${doc.feature_count.toLocaleString("en")} features stored` +
      `${repaired}, ${doc.tiles.length} tiles`,
  );
  summary.publish[name] = {
    ms: Math.round(ms),
    bytes: body.length,
    features_sent: sent,
    feature_count: doc.feature_count,
    repaired_count: doc.repaired_count ?? 0,
    tiles: doc.tiles.length,
  };
  return true;
}

async function runJob(label: string, request: Record<string, unknown>): Promise<void> {
  const t0 = performance.now();
  const response = await fetch(`${base}/v1/jobs`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ job_idempotency_key: crypto.randomUUID(), ...request }),
  });
  const accepted = await response.json();
  if (response.status !== 202) {
    const problem = `${label}: POST /v1/jobs answered ${response.status}: ${
      accepted.detail ?? JSON.stringify(accepted)
    }`;
    summary.problems.push(problem);
    step(problem);
    return;
  }
  const submitMs = performance.now() - t0;
  step(`${label}: 202 in ${secs(submitMs)} → ${accepted.job_id}`);

  // Before completion the result is a 409 problem; show it once.
  const early = await fetch(`${base}${accepted.links.result}`, { headers: auth });
  const earlyBody = await early.text();
  if (early.status === 409) done(`${label}: GET result while ${JSON.parse(earlyBody).detail ?? "running"} → 409`);

  let doc;
  let lastProgress = "";
  let polls = 0;
  let slowestPollMs = 0;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const polled = performance.now();
    doc = await (await fetch(`${base}${accepted.links.self}`, { headers: auth })).json();
    slowestPollMs = Math.max(slowestPollMs, performance.now() - polled);
    polls++;
    const progress = `${doc.status} ${doc.progress.partitions_done}/${doc.progress.partitions_total} partitions`;
    if (progress !== lastProgress) {
      done(`${label}: ${progress} at ${secs(performance.now() - t0)}`);
      lastProgress = progress;
    }
    if (isTerminal(doc.status)) break;
    if (Date.now() > deadline) {
      summary.problems.push(`${label}: not finished after ${values["timeout-s"]} s (${progress})`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const runMs = performance.now() - t0;
  if (doc.status !== "COMPLETED") {
    summary.problems.push(`${label}: ${doc.status}: ${doc.error?.detail ?? "no error detail"}`);
    summary.jobs[label] = { job_id: doc.job_id, status: doc.status, error: doc.error };
    return;
  }

  const t1 = performance.now();
  const result = await fetch(`${base}${doc.result.href}`, { headers: auth });
  const bytes = new Uint8Array(await result.arrayBuffer());
  const downloadMs = performance.now() - t1;
  const file = `${outDir}/${label}.${doc.result.format === "flatgeobuf" ? "fgb" : "geojson"}`;
  await Deno.writeFile(file, bytes);
  const counted = doc.result.format === "flatgeobuf"
    ? parseFlatGeobuf(bytes).features.length
    : JSON.parse(new TextDecoder().decode(bytes)).features.length;
  if (counted !== doc.result.feature_count) {
    summary.problems.push(
      `${label}: the file has ${counted} features, the status document says ${doc.result.feature_count}`,
    );
  }
  if (result.headers.get("etag") !== doc.result.etag) {
    summary.problems.push(`${label}: ETag ${result.headers.get("etag")} differs from the status's ${doc.result.etag}`);
  }
  done(
    `${label}: COMPLETED in ${secs(runMs)}; ${counted.toLocaleString("en")} features, ${mb(bytes.length)} → ${file} ` +
      `(download ${secs(downloadMs)})`,
  );
  done(`${label}: ${polls} polls, the slowest answered in ${secs(slowestPollMs)}`);
  done(`${label}: stats ${JSON.stringify(doc.stats)}`);
  summary.jobs[label] = {
    job_id: doc.job_id,
    submit_ms: Math.round(submitMs),
    submit_to_completed_ms: Math.round(runMs),
    download_ms: Math.round(downloadMs),
    feature_count: counted,
    bytes: bytes.length,
    file,
    attempts: doc.attempts,
    polls,
    slowest_poll_ms: Math.round(slowestPollMs),
    stats: doc.stats,
  };
}

// deno-lint-ignore no-explicit-any
function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function collection<G>(features: Feature<G>[]): FeatureCollection<G> {
  return { type: "FeatureCollection", features };
}

async function shutdown(): Promise<void> {
  const s = server;
  server = undefined;
  await s?.stop();
  if (stateDir) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  stateDir = undefined;
}

function step(message: string): void {
  console.log(`[${secs(performance.now() - runStarted).padStart(7)}] ${message}`);
}
function done(message: string): void {
  console.log(`            ${message}`);
}
function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
function round(n: number): number {
  return Math.round(n * 100) / 100;
}
