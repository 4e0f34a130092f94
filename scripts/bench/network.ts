/**
 * N1–N3 of `deno task bench:e2e` (issue 17): network traversal through the service's HTTP contract beside
 * pgRouting single-threaded in the same run, on the same edges and points, alternating A (service), B (pgRouting),
 * A, B, … Each pair's ratio is service wall / pgRouting wall; the table gives the median of the pairs' ratios and
 * the spread of each engine, CPU seconds (workerd's processes, which run the Worker, every Durable Object and the R2
 * emulation, against the PostgreSQL backend's: both from /proc, so the machine's other load does not inflate them),
 * and the isolate's memory peak during each service job.
 *
 * - N1: 100 × 100 shortest_path costs on the OSM Gothenburg network (18,350 edges), `path_geometry: false`;
 * - N2: 1,000 × 1,000 on the generated 1,010,893-edge network (~/.cache/spatial-jobs/network, `generate_network.ts
 *   large`);
 * - N3: service areas (max_cost 300 s) from 100 origins on it.
 *
 * pgRouting runs the fixtures' own statements (scripts/fixtures/network/reference_sql.ts: `CREATE TABLE … AS`,
 * points snapped in the query, `max_parallel_workers_per_gather = 0`).
 */
import { gunzipSync } from "node:zlib";
import { type PgCluster, startCluster } from "../fixtures/pg_cluster.ts";
import {
  loadEdges,
  loadPoints,
  readPoints,
  snapPoints,
  timeOf,
  topology,
} from "../fixtures/network/pgrouting_reference.ts";
import { largePath } from "../fixtures/network/generate_network.ts";
import { OSM_EDGES_PATH } from "../fixtures/network/osm_edges.ts";
import * as sql from "../fixtures/network/reference_sql.ts";
import { devToken } from "../lib/dev_token.ts";
import { freePort } from "../lib/wrangler_dev.ts";
import { runJob } from "./jobs_client.ts";
import { watchIsolate } from "./isolate_watch.ts";
import { snapshotTree, startBenchService, workerdCpuSeconds } from "./service.ts";
import { fitsOneRequest, publishDataset, publishMultipart, splitGeoJson } from "./upload.ts";

const FIXTURES = "test/fixtures/network";

interface Case {
  id: "N1" | "N2" | "N3";
  what: string;
  network: "osm" | "large";
  job: Record<string, unknown>;
  /** pgRouting's statement (run once per call; the table is dropped after). */
  pg: string;
  table: string;
  rows: number;
}

export interface NetworkBenchOptions {
  cases: string[];
  repeat: number;
  ref: string;
  liftLimits: boolean;
  /** N2 from the first n origins (1,000: all). */
  n2Origins: number;
  /** Restart the dev server (same state) before each service run: its isolate then holds nothing but that job. */
  freshIsolate?: boolean;
  /** Run pgRouting beside the service (false: the service alone, e.g. for its isolate peaks while iterating). */
  reference?: boolean;
  /** Service settings for the run (shared/config.ts), as wrangler `--var`s. */
  vars?: Record<string, string>;
  log: (message: string) => void;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs the cases and returns the table's rows and notes (printed by bench_e2e.ts). */
export async function runNetworkBench(options: NetworkBenchOptions): Promise<{ rows: string[][]; notes: string[] }> {
  const { log } = options;
  const notes: string[] = [];
  const wanted = new Set(options.cases);
  const needLarge = wanted.has("N2") || wanted.has("N3");
  const points = async (name: string) => JSON.parse(await Deno.readTextFile(`${FIXTURES}/points_${name}.geojson`));
  const cases: Case[] = [];
  if (wanted.has("N1")) {
    cases.push({
      id: "N1",
      what: "100 × 100 shortest_path, OSM 18,350 edges",
      network: "osm",
      job: {
        spatial_operation: "shortest_path",
        geometry_payload: await points("osm_origins"),
        destinations_payload: await points("osm_destinations"),
        path_geometry: false,
      },
      pg: sql.benchN1(1),
      table: "bench_n1",
      rows: 7_514,
    });
  }
  if (wanted.has("N2")) {
    const n = options.n2Origins;
    const origins = await points("large_origins");
    cases.push({
      id: "N2",
      what: `${n.toLocaleString("en-US")} × 1,000 shortest_path, generated 1,010,893 edges`,
      network: "large",
      job: {
        spatial_operation: "shortest_path",
        geometry_payload: { ...origins, features: origins.features.slice(0, n) },
        destinations_payload: await points("large_destinations"),
        path_geometry: false,
      },
      pg: sql.benchN2(1, n),
      table: "bench_n2",
      // pgRouting's rows from these origins (test/fixtures/network/answers: its per-origin summary of N2).
      rows: (JSON.parse(await Deno.readTextFile(`${FIXTURES}/answers/large_shortest_path_n2_summary.json`)) as {
        rows: number;
      }[]).slice(0, n).reduce((sum, o) => sum + o.rows, 0),
    });
  }
  if (wanted.has("N3")) {
    const origins = await points("large_origins");
    cases.push({
      id: "N3",
      what: "service_area 300 s from 100 origins, generated network",
      network: "large",
      job: {
        spatial_operation: "service_area",
        geometry_payload: { ...origins, features: origins.features.slice(0, 100) },
        max_cost: sql.N3_MAX_COST,
      },
      pg: sql.benchN3(1),
      table: "bench_n3",
      rows: 174_125,
    });
  }

  const reference = options.reference ?? true;
  if (reference) log("network bench: starting PostgreSQL + pgRouting");
  const pg = reference ? await startCluster() : undefined;
  const tree = await snapshotTree(options.ref, { liftLimits: options.liftLimits });
  const stateDir = await Deno.makeTempDir({ prefix: "spatial-jobs-bench-state-" });
  const inspectorPort = freePort();
  const port = freePort();
  const start = (log: string) => startBenchService(port, stateDir, log, tree.dir, inspectorPort, options.vars);
  let service = await start(`${stateDir}.log`);
  const token = await devToken();
  const rows: string[][] = [];
  try {
    await pg?.query("CREATE EXTENSION postgis; CREATE EXTENSION pgrouting;");
    const networks = new Set(cases.map((c) => c.network));
    if (networks.has("osm")) {
      if (pg) await loadReference(pg, "osm", OSM_EDGES_PATH, ["osm_origins", "osm_destinations"], true);
      const body = gunzipSync(await Deno.readFile(OSM_EDGES_PATH));
      const published = await publishNetwork(service.url, token, "osm", body);
      log(`osm: published in ${(published.ms / 1000).toFixed(1)} s (${JSON.stringify(published.summary)})`);
    }
    if (needLarge) {
      log(`large: ${pg ? "loading into PostgreSQL (~3 min) and " : ""}publishing to the service`);
      if (pg) await loadReference(pg, "large", largePath(), ["large_origins", "large_destinations"], false);
      const published = await publishNetwork(service.url, token, "large", await Deno.readFile(largePath()));
      if (!published.ok) {
        notes.push(`large network not published (HTTP ${published.status}: ${published.detail}); N2/N3 skipped`);
        cases.splice(0, cases.length, ...cases.filter((c) => c.network !== "large"));
      } else {
        log(`large: published in ${(published.ms / 1000).toFixed(1)} s (${JSON.stringify(published.summary)})`);
      }
    }
    await pg?.query(sql.benchSettings);

    for (const c of cases) {
      const runs = c.id === "N2" ? 1 : options.repeat;
      if (c.id === "N2" && options.repeat > 1) {
        notes.push("N2 ran once: pgRouting alone takes ~6 min CPU (15 min wall here)");
      }
      const service_s: number[] = [], pg_s: number[] = [], pg_cpu_s: number[] = [], peaks: number[] = [];
      const starts: number[] = [], service_cpu_s: number[] = [];
      for (let i = 0; i < runs; i++) {
        if (options.freshIsolate) {
          await service.stop();
          service = await start(`${stateDir}.${c.id}-${i}.log`);
        }
        log(`${c.id} run ${i + 1}/${runs}: service`);
        const watch = await watchIsolate(`127.0.0.1:${inspectorPort}`, { heap: true, profile: false }).catch(() =>
          null
        );
        const cpu0 = workerdCpuSeconds(service.pgid);
        const run = await runJob(service.url, token, { ...c.job, dataset: c.network }, { timeoutMs: 7_200_000 });
        service_cpu_s.push(workerdCpuSeconds(service.pgid) - cpu0);
        const heap = (await watch?.stop())?.heap;
        if (run.final.status !== "COMPLETED") throw new Error(`${c.id}: ${JSON.stringify(run.final)}`);
        if (run.final.result?.feature_count !== c.rows) {
          notes.push(`${c.id}: the service gave ${run.final.result?.feature_count} rows, pgRouting ${c.rows}`);
        }
        service_s.push(run.completeMs / 1000);
        if (heap) peaks.push(heap.bytes), starts.push(heap.startBytes);
        const mib = (n: number) => (n / 2 ** 20).toFixed(1);
        log(
          `${c.id} run ${i + 1}/${runs}: ${run.completeMs} ms, ${
            service_cpu_s.at(-1)!.toFixed(2)
          } s CPU, isolate peak ${heap ? `${mib(heap.bytes)} MiB from ${mib(heap.startBytes)}` : "?"}`,
        );
        if (!pg) continue;
        log(`${c.id} run ${i + 1}/${runs}: pgRouting`);
        const [timing] = timeOf(await pg.query(`${c.pg}\nDROP TABLE ${c.table};`));
        pg_s.push(timing!.wall_ms / 1000);
        pg_cpu_s.push(timing!.cpu_ms / 1000);
      }
      const ratios = pg_s.length ? service_s.map((s, i) => s / pg_s[i]!) : [];
      const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
      rows.push([
        c.id,
        c.what,
        String(runs),
        `${median(service_s).toFixed(2)} (${spread(service_s)})`,
        pg_s.length ? `${median(pg_s).toFixed(2)} (${spread(pg_s)})` : "—",
        `${median(service_cpu_s).toFixed(2)} / ${pg_cpu_s.length ? median(pg_cpu_s).toFixed(2) : "—"}`,
        ratios.length ? `${median(ratios).toFixed(2)}× (${spread(ratios)})` : "—",
        peaks.length
          ? `${(Math.max(...peaks) / 2 ** 20).toFixed(1)} (from ${(Math.min(...starts) / 2 ** 20).toFixed(1)})`
          : "?",
      ]);
    }
  } finally {
    await service.stop();
    await pg?.stop();
  }
  return { rows, notes };
}

/** A network's edges and points in PostgreSQL, its topology built, the points snapped when `snap`. */
async function loadReference(pg: PgCluster, name: string, edges: string, pointSets: string[], snap: boolean) {
  await loadEdges(pg, name, edges);
  await topology(pg, name, name, 0);
  for (const set of pointSets) {
    await loadPoints(pg, set, await readPoints(`${FIXTURES}/points_${set}.geojson`));
    if (snap) await snapPoints(pg, set, name);
  }
}

/** Parts of at most this many bytes: each part request parses its edges in one Worker isolate. */
const NETWORK_PART_BYTES = 16 * 2 ** 20;

async function publishNetwork(url: string, token: string, name: string, body: Uint8Array) {
  const options = { url, name, token, classification: "public", kind: "network" } as const;
  const out = fitsOneRequest(body, "application/geo+json")
    ? await publishDataset({ ...options, body, contentType: "application/geo+json" })
    : await publishMultipart({
      ...options,
      parts: splitGeoJson(body, { maxBytes: NETWORK_PART_BYTES }).map((part) => ({
        body: part,
        contentType: "application/geo+json" as const,
      })),
      completeTimeoutMs: 3_600_000,
    });
  const manifest = out.body as Record<string, unknown>;
  return {
    ok: out.ok,
    status: out.status,
    ms: out.ms,
    detail: manifest.detail,
    summary: { vertices: manifest.vertex_count, edges: manifest.edge_count, blocks: (manifest.tiles as [])?.length },
  };
}
