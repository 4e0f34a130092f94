/**
 * The commit of a large point result as GeoParquet and as FlatGeobuf, on two git refs side by side: one dev server
 * per ref (snapshots, fresh state), the same seeded points published to both, then jobs in alternating order
 * (before, after, before, after, …) so the machine's drift falls on both alike. Reports each job's `stats.ms.commit`
 * and the workerd peak RSS (VmHWM, reset before each job), and the median of the after/before ratios with their
 * spread.
 *
 *     deno run -A scripts/bench/geoparquet_commit.ts [--before 77c9092] [--after HEAD] [--points 90000] [--pairs 5]
 */
import { parseArgs } from "node:util";
import { seededPoints } from "../lib/seeded_random.ts";
import { boxPayload, grownBox, pointCollection } from "../lib/geojson_payloads.ts";
import { devToken } from "../lib/dev_token.ts";
import { freePort } from "../lib/wrangler_dev.ts";
import { runJob } from "./jobs_client.ts";
import { publishDataset } from "./upload.ts";
import { type BenchService, resetPeaks, snapshotTree, startBenchService, workerdMemory } from "./service.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    before: { type: "string", default: "77c9092" },
    after: { type: "string", default: "HEAD" },
    points: { type: "string", default: "90000" },
    pairs: { type: "string", default: "5" },
  },
});
const POINTS = Number(flags.points);
const PAIRS = Number(flags.pairs);
const BOX = [-100, 38, -94, 41] as const;

const token = await devToken();
const xy = seededPoints(POINTS, 11, BOX);
const body = new TextEncoder().encode(JSON.stringify(pointCollection(xy)));
const job = (output_format: string) => ({
  spatial_operation: "point_in_polygon",
  dataset: "dense",
  output_format,
  geometry_payload: boxPayload(grownBox(BOX, 1)),
});

interface Side {
  ref: string;
  commit: string;
  service: BenchService;
}

async function start(ref: string): Promise<Side> {
  const tree = await snapshotTree(ref);
  const state = await Deno.makeTempDir({ prefix: "geoparquet-bench-state-" });
  const service = await startBenchService(freePort(), state, `${state}/wrangler.log`, tree.dir);
  const published = await publishDataset({
    url: service.url,
    name: "dense",
    body,
    contentType: "application/geo+json",
    token,
    classification: "public",
  });
  if (!published.ok) throw new Error(`publish on ${ref}: ${published.status} ${JSON.stringify(published.body)}`);
  return { ref, commit: tree.commit, service };
}

/** One job: the commit's milliseconds, the result's bytes, and the workerd peak RSS while it ran. */
async function measure(side: Side, format: string): Promise<{ commitMs: number; bytes: number; peakMiB: number }> {
  resetPeaks(workerdMemory(side.service.pgid).map((p) => p.pid));
  const run = await runJobRetrying(side.service.url, format);
  if (run.final.status !== "COMPLETED") throw new Error(`${side.ref} ${format}: ${JSON.stringify(run.final)}`);
  if (run.final.result?.feature_count !== POINTS) {
    throw new Error(`${side.ref}: ${run.final.result?.feature_count} rows`);
  }
  const ms = (run.final.stats as { ms: Record<string, number> }).ms;
  const peak = Math.max(...workerdMemory(side.service.pgid).map((p) => p.hwm));
  return { commitMs: ms.commit!, bytes: run.final.result.bytes, peakMiB: peak / 2 ** 20 };
}

/** wrangler dev's proxy now and then drops a connection (workers-sdk#14641): the submit is sent again. */
async function runJobRetrying(url: string, format: string, attempts = 3): ReturnType<typeof runJob> {
  for (let attempt = 1;; attempt++) {
    try {
      return await runJob(url, token, job(format));
    } catch (error) {
      if (!(error instanceof TypeError) || attempt >= attempts) throw error;
      console.log(`(transport error, retrying: ${error.message})`);
    }
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const sides: Side[] = [];
try {
  sides.push(await start(flags.before), await start(flags.after));
  const [before, after] = sides as [Side, Side];
  console.log(`before ${before.ref} (${before.commit.slice(0, 7)}), after ${after.ref} (${after.commit.slice(0, 7)})`);
  console.log(`${POINTS} point rows, ${PAIRS} alternating pairs per format`);
  for (const format of ["geoparquet", "flatgeobuf"]) {
    // One warm-up job per side: the first job of an isolate also loads modules.
    await measure(before, format);
    await measure(after, format);
    const ratios: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      const a = await measure(before, format);
      const b = await measure(after, format);
      ratios.push(b.commitMs / a.commitMs);
      console.log(
        `${format} pair ${pair + 1}: before ${a.commitMs} ms (${a.bytes} B, peak ${a.peakMiB.toFixed(0)} MiB), ` +
          `after ${b.commitMs} ms (${b.bytes} B, peak ${b.peakMiB.toFixed(0)} MiB), after/before ${
            (b.commitMs / a.commitMs).toFixed(2)
          }`,
      );
    }
    console.log(
      `${format}: after/before median ${median(ratios).toFixed(2)} (spread ${Math.min(...ratios).toFixed(2)}–${
        Math.max(...ratios).toFixed(2)
      })`,
    );
  }
} finally {
  for (const side of sides) await side.service.stop();
}
