/**
 * The load generator of the submit-latency benchmark, run as its own process: `loadtest` at a constant
 * arrival rate (one request every 1/rate s, open loop: a request is sent on schedule whether or not the
 * earlier ones were answered, and its latency counts from then), for one of three kinds of request:
 *
 * - `submit`: `POST /v1/jobs`, each a fresh idempotency key and a one-point `point_in_polygon` payload (drawn
 *   from 1,000 seeded points, CONUS or open Pacific) against a published polygon dataset: what is measured
 *   is the submit path;
 * - `edge`: `GET /v1/jobs/{id}` of an id that names no partition (404 before any Durable Object call): the
 *   edge's fixed cost (routing, JWT, problem details) on the same runtime, the floor of any request;
 * - `status`: `GET /v1/jobs/{id}` of one existing job: the edge plus one Durable Object round trip.
 *
 * Not autocannon, which this bench used before: its `overallRate` lets each connection send its whole
 * second's quota back to back at the start of every second (autocannon#174: bursts of `rate` requests, then
 * nothing), and its default coordinated-omission correction takes `1 / rate` seconds as the expected interval
 * in milliseconds (`Math.ceil(1 / rate)` = 1 ms), adding a synthetic sample for every millisecond of a slow
 * answer. Both inflate p99 far beyond what a steady 500/s costs.
 *
 * `deno run -A scripts/bench/load_submit.ts <url> <token|@file of tokens> <kind> <rate> <seconds> <dataset|job id> [conus|offshore]`;
 * with a file, requests take its tokens (one a line) in turn. Prints one JSON line (`LoadResult`).
 */
import { request as httpRequest } from "node:http";
import { loadTest } from "loadtest";
import { seededPoints } from "../lib/seeded_random.ts";
import type { LoadKind, LoadResult } from "./load_table.ts";
import { onePointSubmit } from "./jobs_client.ts";

const [url, token, kind, rate, seconds, target, where = "conus"] = Deno.args;
const kinds: LoadKind[] = ["submit", "edge", "status"];
if (!url || !token || !kinds.includes(kind as LoadKind) || !Number(rate) || !Number(seconds) || !target) {
  console.error("usage: load_submit.ts <url> <token|@file> <submit|edge|status> <rate> <seconds> <dataset|job id>");
  Deno.exit(2);
}
if (where !== "conus" && where !== "offshore") {
  console.error(`points ${where}: conus|offshore`);
  Deno.exit(2);
}
const tokens = token.startsWith("@") ? (await Deno.readTextFile(token.slice(1))).split("\n").filter(Boolean) : [token];
/** Open Pacific, far from Hawaii and the west coast: no county tile's cell. */
const OFFSHORE_BBOX = [-140, 0, -130, 10] as const;
const xy = seededPoints(1000, 7, where === "offshore" ? OFFSHORE_BBOX : undefined);

let n = 0;
function submitBody(k: number): string {
  return onePointSubmit(target!, [xy[2 * k]!, xy[2 * k + 1]!]);
}

const statuses: Record<string, number> = {};
/** The service's Server-Timing durations, by stage. */
const stages: Record<string, number[]> = {};
function serverTimings(header: string | undefined): [string, number][] {
  if (!header) return [];
  return header.split(",").flatMap((metric) => {
    const [name, ...params] = metric.trim().split(";");
    const dur = params.find((p) => p.startsWith("dur="));
    return name && dur ? [[name, Number(dur.slice(4))] as [string, number]] : [];
  });
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
/** The first answer of each status other than the kind's expected one: what the failures said. */
const samples: Record<string, string> = {};
/** Each answered request's latency, by the second of the run it was sent in (where in the run the tail was). */
const bySecond: number[][] = [];
let startedAt = 0;
const expected = { submit: 202, edge: 404, status: 200 }[kind as LoadKind];

type Params = { path: string; method: string; headers: Record<string, string | number> };
/** What loadtest 8.2.1's promise resolves to (its bundled typings still describe the callback API). */
interface LoadtestResult {
  effectiveRps: number;
  percentiles: Record<50 | 90 | 95 | 99, number>;
  maxLatencyMs: number;
  meanLatencyMs: number;
}
const options = {
  url: kind === "submit" ? `${url}/v1/jobs` : `${url}/v1/jobs/${kind === "status" ? target : "no-such-job"}`,
  method: kind === "submit" ? "POST" : "GET",
  requestsPerSecond: Number(rate),
  maxSeconds: Number(seconds),
  timeout: 30_000,
  agentKeepAlive: true,
  quiet: true,
  // loadtest 8.2.1 calls it (options, params, request, callback), whatever its docs say.
  requestGenerator: (_options: unknown, params: Params, _request: unknown, callback: () => void) => {
    const k = n++;
    params.headers.authorization = `Bearer ${tokens[k % tokens.length]}`;
    const body = kind === "submit" ? submitBody(k % 1000) : "";
    if (body) {
      params.headers["content-type"] = "application/json";
      params.headers["content-length"] = new TextEncoder().encode(body).length;
    }
    const req = httpRequest(params as never, callback as never);
    if (body) req.write(body);
    return req;
  },
  statusCallback: (
    _error: unknown,
    res?: { statusCode?: number; body?: string; headers?: Record<string, string>; requestElapsed?: number },
  ) => {
    if (res?.requestElapsed !== undefined) {
      const sentAt = performance.now() - res.requestElapsed - startedAt;
      (bySecond[Math.max(0, Math.floor(sentAt / 1000))] ??= []).push(res.requestElapsed);
    }
    for (const [name, ms] of serverTimings(res?.headers?.["server-timing"])) (stages[name] ??= []).push(ms);
    const status = String(res?.statusCode ?? "error");
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== String(expected) && !(status in samples)) {
      const retryAfter = res?.headers?.["retry-after"] ? ` [Retry-After: ${res.headers["retry-after"]}]` : "";
      samples[status] = `${String(res?.body ?? "").slice(0, 200)}${retryAfter}`;
    }
  },
};
startedAt = performance.now();
const result = await (loadTest as unknown as (o: typeof options) => Promise<LoadtestResult>)(options);

const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
const out: LoadResult = {
  kind: kind as LoadKind,
  url,
  rate: Number(rate),
  seconds: Number(seconds),
  points: kind === "submit" ? where : undefined,
  requested: Number(rate) * Number(seconds),
  sent: n,
  completed: answered,
  achieved_rps: result.effectiveRps,
  statuses,
  expected_status: expected,
  errors: statuses.error ?? 0,
  non2xx_samples: samples,
  stages_ms: Object.fromEntries(
    Object.entries(stages).map(([name, values]) => {
      const sorted = values.sort((x, y) => x - y);
      return [name, { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }];
    }),
  ),
  by_second: Array.from(bySecond, (values = []) => {
    const sorted = values.sort((x, y) => x - y);
    return { n: sorted.length, p99: sorted.length ? quantile(sorted, 0.99) : 0, max: sorted.at(-1) ?? 0 };
  }),
  latency_ms: {
    p50: result.percentiles[50],
    p90: result.percentiles[90],
    p95: result.percentiles[95],
    p99: result.percentiles[99],
    max: result.maxLatencyMs,
    mean: result.meanLatencyMs,
  },
};
console.log(JSON.stringify(out));
