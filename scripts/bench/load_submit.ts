/**
 * The load generator of the submit-latency benchmark, run as its own process:
 * autocannon at a fixed overall rate against `POST /v1/jobs`, each request a
 * fresh idempotency key and a one-point `point_in_polygon` payload (drawn from
 * 1,000 seeded CONUS points, so jobs spread over home partitions) against a
 * published polygon dataset: a small job, so what is measured is the submit path. With `offshore` the points
 * lie in the open Pacific instead, where no county tile is: every job then has no partition, so the jobs
 * the load creates cost next to nothing and what remains is the submit path alone.
 *
 * autocannon keeps one request in flight per connection (closed loop): once answers take longer than
 * connections / rate seconds it sends fewer than asked (`sent` < `requested`), and the latencies then
 * leave out the time requests would have waited to be sent.
 *
 * `deno run -A scripts/bench/load_submit.ts <url> <token|@file of tokens> <dataset> <rate> <seconds> [conus|offshore]`;
 * with a file, requests take its tokens (one a line) in turn. Prints one JSON line.
 */
import autocannon from "autocannon";
import { seededPoints } from "../lib/seeded_random.ts";

const [url, token, dataset, rate = "500", seconds = "30", where = "conus"] = Deno.args;
if (!url || !token || !dataset) {
  console.error("usage: load_submit.ts <url> <token> <dataset> [rate] [seconds]");
  Deno.exit(2);
}
const tokens = token.startsWith("@") ? (await Deno.readTextFile(token.slice(1))).split("\n").filter(Boolean) : [token];
/** Open Pacific, far from Hawaii and the west coast: no county tile's cell. */
const OFFSHORE_BBOX = [-140, 0, -130, 10] as const;
if (where !== "conus" && where !== "offshore") {
  console.error(`points ${where}: conus|offshore`);
  Deno.exit(2);
}
const xy = seededPoints(1000, 7, where === "offshore" ? OFFSHORE_BBOX : undefined);
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
/** The first answer of each status other than 202: what the failures said. */
const samples: Record<string, string> = {};
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
    onResponse: (status: number, body: string, _context: unknown, headers: Record<string, string>) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 202 && !(status in samples)) {
        const retryAfter = headers?.["retry-after"] ? ` [Retry-After: ${headers["retry-after"]}]` : "";
        samples[status] = `${String(body ?? "").slice(0, 200)}${retryAfter}`;
      }
    },
  }],
});
console.log(JSON.stringify({
  rate: Number(rate),
  seconds: Number(seconds),
  points: where,
  requested: Number(rate) * Number(seconds),
  sent: result.requests.sent,
  completed: result.requests.total,
  achieved_rps: result.requests.average,
  statuses,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx_samples: samples,
  latency_ms: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    mean: result.latency.mean,
  },
}));
