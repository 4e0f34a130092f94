/**
 * `deno task smoke --url <service> --token <jwt>`: a smoke test of a running service, local or deployed. It
 * publishes small datasets (vector, raster, network) from the committed fixtures, runs one job of every operation
 * the service offers, waits for them, downloads the results and compares them with the reference engines' answers
 * committed beside the fixtures (PostGIS: test/fixtures/postgis/, made by scripts/fixtures/postgis_reference.ts;
 * rasterio: test/fixtures/raster/answers/, scripts/fixtures/raster/; pgRouting: test/fixtures/network/answers/,
 * scripts/fixtures/network/pgrouting_reference.ts). An operation the service lists (`GET /processes`) without a
 * case here fails the run, so a new operation cannot go untested.
 *
 * The API deletes a dataset's versions but not its last one, nor the dataset: the datasets keep fixed names
 * (`--prefix`, default `smoke-`) and each run deletes the versions earlier runs published, so one version of each
 * stays. Jobs end COMPLETED; nothing else is left behind.
 *
 *   deno task smoke --url https://spatial-jobs-production.<account>.workers.dev --token "$TOKEN"
 *   SPATIAL_JOBS_TOKEN=… deno task smoke --url http://127.0.0.1:8787
 *
 * The token needs `data_classification` ≥ public, a `spatial_scope` covering the fixtures (the whole world is
 * simplest) and a domain that may own the `smoke-*` datasets. Exit status: 0 all answers equal, 1 a difference or
 * an error, 2 bad usage.
 */
import { parseArgs } from "node:util";
import { isDevProxyRestart } from "./lib/wrangler_dev.ts";

const FIXTURES = new URL("../test/fixtures/", import.meta.url);

interface Dataset {
  name: string;
  file: string;
  query: string;
  contentType: string;
}

const DATASETS: Dataset[] = [
  // 9 of the 112 sample counties are invalid: published repaired, as PostGIS's answers use ST_MakeValid.
  {
    name: "counties",
    file: "inputs/counties_sample.geojson",
    query: "repair=true",
    contentType: "application/geo+json",
  },
  { name: "grid", file: "inputs/grid_1deg.geojson", query: "", contentType: "application/geo+json" },
  { name: "points", file: "inputs/points_sample.geojson", query: "", contentType: "application/geo+json" },
  { name: "elev", file: "raster/elev.tif", query: "kind=raster", contentType: "image/tiff" },
  { name: "network", file: "network/cases_edges.geojson", query: "kind=network", contentType: "application/geo+json" },
];

type Properties = Record<string, unknown>;

interface Case {
  operation: string;
  /** The job's fields; dataset names are given without the prefix and completed by {@link smoke}. */
  job: (names: (name: string) => string) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** The reference answer, a JSON array under test/fixtures/. */
  answer: string;
  /** Differences between the result's properties (in result order) and the answer's rows. */
  compare: (got: Properties[], want: Properties[]) => string[];
}

const fixtureJson = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, FIXTURES)));

/** A FeatureCollection fixture with its properties dropped (a geometry_payload takes none). */
async function payload(path: string) {
  const collection = await fixtureJson(path) as { features: { id: unknown; geometry: unknown }[] };
  return {
    type: "FeatureCollection",
    features: collection.features.map((f) => ({ type: "Feature", id: f.id, properties: {}, geometry: f.geometry })),
  };
}

/** Same rows in the same order by `keys`, and every `numbers` field within `relative` of the answer. */
function sameRows(keys: string[], numbers: string[], relative: number) {
  return (got: Properties[], want: Properties[]): string[] => {
    const problems: string[] = [];
    if (got.length !== want.length) problems.push(`${got.length} rows, the answer has ${want.length}`);
    const key = (row: Properties) => keys.map((k) => String(row[k])).join(" × ");
    want.forEach((w, i) => {
      const g = got[i];
      if (!g || key(g) !== key(w)) {
        if (problems.length < 10) problems.push(`row ${i}: ${g ? key(g) : "missing"}, the answer has ${key(w)}`);
        return;
      }
      for (const field of numbers) {
        const [a, b] = [g[field], w[field]];
        const ok = a === null || b === null
          ? a === b
          : Math.abs(Number(a) - Number(b)) <= relative * Math.max(Math.abs(Number(b)), 1);
        if (!ok && problems.length < 10) problems.push(`${key(w)} ${field}: ${a}, the answer has ${b}`);
      }
    });
    return problems;
  };
}

/** One job of each operation, with the reference answer it must equal. */
const CASES: Case[] = [
  {
    operation: "polygon_intersection",
    job: (n) => ({ left_dataset: n("counties"), dataset: n("grid") }),
    answer: "postgis/polygon_intersection.json",
    compare: sameRows(["left_id", "right_id"], ["area", "area_m2"], 1e-6),
  },
  {
    operation: "point_in_polygon",
    job: (n) => ({ left_dataset: n("counties"), dataset: n("points") }),
    answer: "postgis/point_in_polygon_counties_points.json",
    compare: sameRows(["left_id", "right_id"], [], 0),
  },
  {
    operation: "spatial_join",
    job: (n) => ({ left_dataset: n("counties"), dataset: n("counties"), predicate: "intersects" }),
    answer: "postgis/spatial_join_intersects.json",
    compare: sameRows(["left_id", "right_id"], [], 0),
  },
  {
    operation: "zonal_statistics",
    job: async (n) => ({
      geometry_payload: await payload("raster/lux_cantons.geojson"),
      dataset: n("elev"),
      pixel_rule: "center",
    }),
    answer: "raster/answers/elev.lux_cantons.center.json",
    compare: sameRows(["left_id", "count"], ["sum", "mean", "min", "max", "stddev"], 1e-9),
  },
  {
    operation: "shortest_path",
    job: async (n) => ({ geometry_payload: await payload("network/cases_points.geojson"), dataset: n("network") }),
    answer: "network/answers/cases_shortest_path.json",
    compare: sameRows(["left_id", "right_id", "start_vid", "end_vid"], ["cost"], 1e-9),
  },
  {
    operation: "service_area",
    job: async (n) => ({
      geometry_payload: await payload("network/cases_points.geojson"),
      dataset: n("network"),
      max_cost: 100,
    }),
    answer: "network/answers/cases_service_area_100.json",
    compare: sameRows(["left_id", "vertex_id"], ["agg_cost"], 1e-9),
  },
];

export interface SmokeOptions {
  url: string;
  token: string;
  /** Prefix of the datasets' names (default `smoke-`). */
  prefix?: string;
  /** How long one job may take, from submit to a terminal status. */
  jobTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SmokeOutcome {
  operation: string;
  job_id: string;
  rows: number;
  ms: number;
  problems: string[];
}

/** Attempts of a request that failed on the wire (a closed pooled socket) or was dropped by the dev proxy. */
const ATTEMPTS = 4;

/**
 * Requests to one service. Every request the smoke test makes is idempotent (GET, PUT of a dataset, POST of a job
 * with its job_idempotency_key), so a failed one is sent again on a fresh connection: wrangler dev closes pooled
 * sockets under a client ("other side closed"), and a deployed edge may too.
 */
class ServiceClient {
  #http = Deno.createHttpClient({});
  constructor(readonly base: string, readonly token: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { authorization: `Bearer ${this.token}`, ...init.headers as Record<string, string> };
    for (let attempt = 1;; attempt++) {
      try {
        const response = await fetch(`${this.base}${path}`, { ...init, headers, client: this.#http });
        if (attempt < ATTEMPTS && await isDevProxyRestart(response)) {
          await response.body?.cancel();
          continue;
        }
        return response;
      } catch (error) {
        if (!(error instanceof TypeError) || attempt >= ATTEMPTS) throw error;
        this.#http.close();
        this.#http = Deno.createHttpClient({});
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async json(path: string, init: RequestInit = {}, expected: number[] = [200]): Promise<Record<string, unknown>> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    if (!expected.includes(response.status)) {
      throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
    }
    return JSON.parse(text);
  }

  close(): void {
    this.#http.close();
  }
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "DEAD_LETTER", "CANCELLED"]);

async function runCase(
  client: ServiceClient,
  smokeCase: Case,
  names: (name: string) => string,
  timeoutMs: number,
): Promise<SmokeOutcome> {
  const started = Date.now();
  const body = {
    job_idempotency_key: crypto.randomUUID(),
    spatial_operation: smokeCase.operation,
    output_format: "geojson",
    ...await smokeCase.job(names),
  };
  const accepted = await client.json("/v1/jobs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, [200, 202]);
  const jobId = String(accepted.job_id);
  let status = accepted;
  while (!TERMINAL.has(String(status.status))) {
    if (Date.now() - started > timeoutMs) throw new Error(`${smokeCase.operation} ${jobId}: still ${status.status}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    status = await client.json(`/v1/jobs/${jobId}`);
  }
  const outcome = { operation: smokeCase.operation, job_id: jobId, rows: 0, ms: 0, problems: [] as string[] };
  if (status.status !== "COMPLETED") {
    outcome.problems.push(`ended ${status.status}: ${JSON.stringify(status.error ?? {})}`);
  } else {
    const result = await client.json(`/v1/jobs/${jobId}/result`) as { features: { properties: Properties }[] };
    const got = result.features.map((f) => f.properties);
    outcome.rows = got.length;
    outcome.problems.push(...smokeCase.compare(got, await fixtureJson(smokeCase.answer)));
  }
  outcome.ms = Date.now() - started;
  return outcome;
}

/** Runs the smoke test against `options.url`; every outcome with no problems means every answer was equal. */
export async function smoke(options: SmokeOptions): Promise<SmokeOutcome[]> {
  const log = options.log ?? (() => {});
  const prefix = options.prefix ?? "smoke-";
  const names = (name: string) => `${prefix}${name}`;
  const client = new ServiceClient(options.url.replace(/\/+$/, ""), options.token);
  try {
    const offered = (await client.json("/processes")).processes as { id: string }[];
    const untested = offered.map((p) => p.id).filter((id) => !CASES.some((c) => c.operation === id));
    if (untested.length) throw new Error(`the service offers operations with no smoke case: ${untested.join(", ")}`);

    const published = new Map<string, number>();
    for (const dataset of DATASETS) {
      const query = ["classification=public", dataset.query].filter(Boolean).join("&");
      const manifest = await client.json(`/v1/datasets/${names(dataset.name)}?${query}`, {
        method: "PUT",
        headers: { "content-type": dataset.contentType },
        body: await Deno.readFile(new URL(dataset.file, FIXTURES)),
      }, [200, 201]);
      log(`published ${manifest.name} v${manifest.version} (${dataset.file})`);
      published.set(names(dataset.name), Number(manifest.version));
    }

    const cases = CASES.filter((c) => offered.some((p) => p.id === c.operation));
    const outcomes = await Promise.all(
      cases.map((c) => runCase(client, c, names, options.jobTimeoutMs ?? 300_000)),
    );
    for (const o of outcomes) {
      log(`${o.problems.length ? "FAIL" : "ok  "} ${o.operation.padEnd(22)} ${o.job_id} ${o.rows} rows, ${o.ms} ms`);
      for (const problem of o.problems) log(`       ${problem}`);
    }
    for (const [name, current] of published) {
      const document = await client.json(`/v1/datasets/${name}`) as { versions: { version: number }[] };
      for (const { version } of document.versions.filter((v) => v.version !== current)) {
        const response = await client.fetch(`/v1/datasets/${name}/versions/${version}`, { method: "DELETE" });
        await response.body?.cancel();
        log(`deleted ${name} v${version} of an earlier run: HTTP ${response.status}`);
      }
    }
    return outcomes;
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { url: { type: "string" }, token: { type: "string" }, prefix: { type: "string" } },
  });
  const token = values.token ?? Deno.env.get("SPATIAL_JOBS_TOKEN");
  if (!values.url || !token) {
    console.error(
      "Usage: deno task smoke --url <service URL> [--token <jwt>] [--prefix smoke-]\n" +
        "The token comes from --token, else $SPATIAL_JOBS_TOKEN (locally: `deno task -q token`).",
    );
    Deno.exit(2);
  }
  try {
    const outcomes = await smoke({ url: values.url, token, prefix: values.prefix, log: console.log });
    const failed = outcomes.filter((o) => o.problems.length);
    console.log(failed.length ? `${failed.length} operation(s) differ from the reference answers` : "smoke test ok");
    Deno.exit(failed.length ? 1 : 0);
  } catch (error) {
    console.error(`smoke test failed: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
