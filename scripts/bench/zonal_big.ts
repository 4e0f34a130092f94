/**
 * Benchmark Z2 (`deno task bench:e2e --only Z2`): the 3,231 us-atlas counties × the 0.002° CONUS raster (29,500 ×
 * 13,000 Float32, 1.53 GB of pixels; a DEFLATE COG of ~0.77 GB made by `make_raster_fixtures.py conus --big`), rule
 * `coverage`. The raster is published through the multipart upload (`?kind=raster`, parts of `--part-mib`), then the
 * job runs while the isolate's memory is sampled over the inspector (Runtime.getHeapUsage every 100 ms, as
 * bench_e2e.ts does, garbage included; and live memory after a heap snapshot's full GC every 60 s: a snapshot stalls
 * the isolate for seconds). rasterio runs beside it in the same run: the county's bbox window per county, `center`
 * (its `coverage` reference is a GEOS intersection per boundary pixel, hours at this size), with its peak RSS.
 *
 * The job runs in a fresh isolate: wrangler dev restarts (the same state on disk) after publishing, whose garbage V8
 * would otherwise count in the job's peak. `--state DIR` keeps the published state in DIR, and a later run with the
 * same DIR skips the publish (~3 min); `--samples FILE` writes every heap sample as JSON; `--no-rasterio` skips it.
 *
 * Inputs (not committed): --big (default ~/.cache/spatial-jobs/raster/conus_0p002_seed16.tif) and --counties.
 */
import { parseArgs } from "node:util";
import { freePort, startDevServer } from "../lib/wrangler_dev.ts";
import { devToken } from "../lib/dev_token.ts";
import { downloadResult, runJob } from "./jobs_client.ts";
import { watchIsolate } from "./isolate_watch.ts";
import { ISOLATE_LIMIT_BYTES, LONG_GAP_MS } from "../lib/heap_usage.ts";
import { publishCounties, ZONAL_DEFAULTS } from "./zonal.ts";

const home = Deno.env.get("HOME") ?? "/root";
export interface ZonalBigOptions {
  big: string;
  counties: string;
  partMiB: number;
  /** Kept state directory (publish skipped when it already holds the datasets); a temporary one when absent. */
  state?: string;
  /** Where to write the heap samples (JSON). */
  samples?: string;
  rasterio: boolean;
}

export const ZONAL_BIG_DEFAULTS: ZonalBigOptions = {
  big: `${home}/.cache/spatial-jobs/raster/conus_0p002_seed16.tif`,
  counties: ZONAL_DEFAULTS.counties,
  partMiB: 16,
  rasterio: true,
};
/** How often the sampler takes a heap snapshot (a full GC) to sample live memory. */
const LIVE_EVERY_MS = 60_000;
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Publishes `path` as a raster through the multipart upload, reading one part at a time. */
async function publishRasterMultipart(
  url: string,
  auth: Record<string, string>,
  name: string,
  path: string,
  partBytes: number,
): Promise<{ parts: number; bytes: number }> {
  const opened = await fetch(`${url}/v1/datasets/${name}/uploads?kind=raster&classification=public`, {
    method: "POST",
    headers: auth,
  });
  const { upload_id } = await opened.json();
  if (opened.status !== 201) throw new Error(`open: ${opened.status}`);
  const self = `${url}/v1/datasets/${name}/uploads/${upload_id}`;
  const file = await Deno.open(path);
  const size = (await file.stat()).size;
  const buffer = new Uint8Array(partBytes);
  let n = 0;
  try {
    for (let offset = 0; offset < size; offset += partBytes) {
      const length = Math.min(partBytes, size - offset);
      let filled = 0;
      while (filled < length) filled += (await file.read(buffer.subarray(filled, length)))!;
      n++;
      // Re-sending part n replaces it: a part lost to wrangler dev's proxy (a dropped connection) is sent again.
      for (let attempt = 1;; attempt++) {
        const put = await fetch(`${self}/parts/${n}`, {
          method: "PUT",
          headers: { ...auth, "content-type": "image/tiff" },
          body: buffer.subarray(0, length),
        }).catch((error) => new Response(String(error), { status: 599 }));
        const text = await put.text().catch((error) => String(error));
        if (put.status === 200) break;
        if (attempt === 3) throw new Error(`part ${n}: ${put.status} ${text}`);
        log(`part ${n}: ${put.status} ${text.slice(0, 200)}; sending it again`);
      }
    }
  } finally {
    file.close();
  }
  const completing = await fetch(`${self}/complete`, { method: "POST", headers: auth });
  await completing.body?.cancel();
  for (;;) {
    const status = await (await fetch(self, { headers: auth })).json();
    if (status.state === "COMPLETED") return { parts: n, bytes: size };
    if (status.state !== "COMPLETING") throw new Error(`upload: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function benchZonalBig(flags: ZonalBigOptions = ZONAL_BIG_DEFAULTS): Promise<void> {
  const stateDir = flags.state ?? await Deno.makeTempDir({ prefix: "bench-zonal-big-" });
  await Deno.mkdir(stateDir, { recursive: true });
  const inspectorPort = freePort();
  const port = freePort();
  const start = () => startDevServer({ port, inspectorPort, stateDir, logFile: `${stateDir}.log` });
  let server = await start();
  const token = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 6 * 3600 });
  const auth = { authorization: `Bearer ${token}` };
  try {
    const published = async (name: string) => {
      const response = await fetch(`${server.url}/v1/datasets/${name}`, { headers: auth });
      await response.body?.cancel();
      return response.status === 200;
    };
    let upload: { parts: number; bytes: number; ms: number } | undefined;
    if (!(await published("conus-big")) || !(await published("counties"))) {
      log(`publishing ${flags.big} through the multipart upload (${flags.partMiB} MiB parts)`);
      const t0 = performance.now();
      const parts = await publishRasterMultipart(server.url, auth, "conus-big", flags.big, flags.partMiB * 2 ** 20);
      upload = { ...parts, ms: performance.now() - t0 };
      await publishCounties(server.url, token, flags.counties);
      // A fresh isolate for the job: the same state on disk, a new process (publishing's garbage gone).
      await server.stop();
      server = await start();
    } else log(`the datasets are already published in ${stateDir}`);

    log("running the job (coverage), sampling the isolate's memory");
    const watch = await watchIsolate(`127.0.0.1:${inspectorPort}`, {
      heap: true,
      profile: false,
      liveEveryMs: LIVE_EVERY_MS,
    });
    const job = await runJob(server.url, token, {
      spatial_operation: "zonal_statistics",
      left_dataset: "counties",
      dataset: "conus-big",
      pixel_rule: "coverage",
      output_format: "geojson",
    }, { timeoutMs: 3_600_000 });
    const { heap, samples } = await watch.stop();
    if (flags.samples) await Deno.writeTextFile(flags.samples, JSON.stringify(samples));
    if (job.final.status !== "COMPLETED") throw new Error(`job ${job.jobId}: ${JSON.stringify(job.final)}`);
    const { bytes, ms } = await downloadResult(server.url, token, job.jobId);
    const rows = JSON.parse(new TextDecoder().decode(bytes)).features.length;
    const serviceS = (job.completeMs + ms) / 1000;

    console.log(`\nZ2 counties (3,231) × CONUS 0.002° raster (29,500 × 13,000 float32, 1.53 GB of pixels), coverage`);
    if (upload) {
      console.log(
        `  publish: ${mib(upload.bytes)} file in ${upload.parts} parts of ${flags.partMiB} MiB, ` +
          `${(upload.ms / 1000).toFixed(1)} s (open → COMPLETED)`,
      );
    }
    console.log(
      `  service   ${serviceS.toFixed(2)} s, ${job.final.progress.partitions_total} partitions, ${rows} rows; ` +
        (heap
          ? `isolate peak ${mib(heap.bytes)} (${Math.round(100 * heap.bytes / ISOLATE_LIMIT_BYTES)}% of 128 MiB; ` +
            `${mib(heap.startBytes)} held before the job in a fresh isolate; ${heap.samples} samples, ` +
            `longest gap ${heap.maxGapMs.toFixed(0)} ms, ${heap.longGaps} over ${LONG_GAP_MS} ms); ` +
            `live after a full GC at most ${heap.liveBytes === undefined ? "not sampled" : mib(heap.liveBytes)} ` +
            `(${heap.liveSamples} heap snapshots, one every ${LIVE_EVERY_MS / 1000} s)`
          : "isolate not sampled"),
    );
    console.log(`  job stats ${JSON.stringify(job.final.stats)}`);
    if (!flags.rasterio) return;
    log("rasterio (center, bbox window per county)");
    const t0 = performance.now();
    const out = await new Deno.Command("/usr/bin/time", {
      args: [
        "-f",
        "maxrss_kb=%M",
        "/usr/bin/python3",
        new URL("../fixtures/raster/make_raster_fixtures.py", import.meta.url).pathname,
        "counties",
        "--windowed-only",
        "--conus",
        flags.big,
        "--counties",
        flags.counties,
        "--output",
        `${stateDir}.rasterio.json`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    const rasterioWallS = (performance.now() - t0) / 1000;
    const report = JSON.parse(stderr.at(-2)!);
    const rssKb = Number(stderr.at(-1)!.split("=")[1]);

    console.log(
      `  rasterio  ${report.windowed_seconds} s center, bbox window per county (process ${
        rasterioWallS.toFixed(1)
      } s with reading the raster whole; peak RSS ${mib(rssKb * 1024)})`,
    );
  } finally {
    await server.stop("SIGTERM");
    if (!flags.state) await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      big: { type: "string" },
      counties: { type: "string" },
      "part-mib": { type: "string" },
      state: { type: "string" },
      samples: { type: "string" },
      "no-rasterio": { type: "boolean", default: false },
    },
  });
  await benchZonalBig({
    big: values.big ?? ZONAL_BIG_DEFAULTS.big,
    counties: values.counties ?? ZONAL_BIG_DEFAULTS.counties,
    partMiB: Number(values["part-mib"] ?? ZONAL_BIG_DEFAULTS.partMiB),
    state: values.state,
    samples: values.samples,
    rasterio: !values["no-rasterio"],
  });
}
