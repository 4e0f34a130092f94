/**
 * The load generator of the submit-latency benchmark, run as its own process:
 * autocannon at a fixed overall rate against `POST /v1/jobs`, each request a
 * fresh idempotency key and a one-point `point_in_polygon` payload (drawn from
 * 1,000 seeded CONUS points, so jobs spread over home partitions) against a
 * published polygon dataset: a small job, so what is measured is the submit path.
 *
 * `deno run -A scripts/bench/load_submit.ts <url> <token|@file of tokens> <dataset> <rate> <seconds>`; with a
 * file, requests take its tokens (one a line) in turn. Prints one JSON line.
 */
import autocannon from "autocannon";
import { seededPoints } from "../lib/seeded_random.ts";

const [url, token, dataset, rate = "500", seconds = "30"] = Deno.args;
if (!url || !token || !dataset) {
  console.error("usage: load_submit.ts <url> <token> <dataset> [rate] [seconds]");
  Deno.exit(2);
}
const tokens = token.startsWith("@") ? (await Deno.readTextFile(token.slice(1))).split("\n").filter(Boolean) : [token];
const xy = seededPoints(1000, 7);
let n = 0;
const body = () => {
  const k = n++ % 1000;
  return JSON.stringify({
    job_idempotency_key: crypto.randomUUID(),
    spatial_operation: "point_in_polygon",
    dataset,
    geometry_payload: {
      type: "FeatureCollection",
      features: [{
        type: "Feature",
        id: 1,
        properties: {},
        geometry: { type: "Point", coordinates: [xy[2 * k], xy[2 * k + 1]] },
      }],
    },
  });
};

const statuses: Record<string, number> = {};
const result = await autocannon({
  url: `${url}/v1/jobs`,
  connections: 100,
  overallRate: Number(rate),
  duration: Number(seconds),
  timeout: 30,
  requests: [{
    method: "POST",
    headers: { "content-type": "application/json" },
    setupRequest: (req: { headers?: Record<string, string> }) => ({
      ...req,
      headers: { ...req.headers, authorization: `Bearer ${tokens[n % tokens.length]}` },
      body: body(),
    }),
    onResponse: (status: number) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
    },
  }],
});
console.log(JSON.stringify({
  rate: Number(rate),
  seconds: Number(seconds),
  sent: result.requests.sent,
  completed: result.requests.total,
  achieved_rps: result.requests.average,
  statuses,
  errors: result.errors,
  timeouts: result.timeouts,
  latency_ms: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
  },
}));
