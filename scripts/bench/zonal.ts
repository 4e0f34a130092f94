/**
 * Benchmark Z1 (`deno task bench:e2e --only Z1`): the 3,231 us-atlas counties × the 0.01° CONUS raster
 * (5,900 × 2,600 Float32, seed 16; test/fixtures/raster/README.md), `center`, through the public contract, beside
 * PostGIS raster single-threaded (`CREATE TABLE … AS SELECT … ST_SummaryStatsAgg(ST_Clip(...))` over the raster
 * tiled 256 × 256 with a GiST index) and rasterio (the county's bbox window per county) in the same run, runs
 * alternating service, PostGIS, rasterio; medians and min–max per engine. The service's rows are checked against
 * the committed rasterio answers (counts equal, the rest to 1e-9 relative).
 *
 * Inputs (not committed; made by `scripts/fixtures/raster/`): --conus (default
 * ~/.cache/spatial-jobs/raster/conus_0p01_seed16.tif) and --counties (default …/counties_10m.geojson).
 */
import { parseArgs } from "node:util";
import { startDevServerOnFreePorts } from "../lib/wrangler_dev.ts";
import { devToken } from "../lib/dev_token.ts";
import { downloadResult, runJob } from "./jobs_client.ts";
import { publishDataset } from "./upload.ts";
import { startCluster } from "../fixtures/pg_cluster.ts";
import { type Feature, loadPolygons, loadRaster } from "../fixtures/raster/postgis_raster.ts";
import { compareRow } from "../../test/unit/operations/zonal_fixtures.ts";

const home = Deno.env.get("HOME") ?? "/root";
export interface ZonalBenchOptions {
  conus: string;
  counties: string;
  runs: number;
}

export const ZONAL_DEFAULTS: ZonalBenchOptions = {
  conus: `${home}/.cache/spatial-jobs/raster/conus_0p01_seed16.tif`,
  counties: `${home}/.cache/spatial-jobs/raster/counties_10m.geojson`,
  runs: 2,
};
const log = (msg: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Publishes the counties GeoJSON at `path` as dataset `counties` (repaired, public); throws unless 201. */
export async function publishCounties(url: string, token: string, path: string): Promise<void> {
  const published = await publishDataset({
    url,
    name: "counties",
    body: await Deno.readFile(path),
    contentType: "application/geo+json",
    token,
    repair: true,
    classification: "public",
  });
  if (published.status !== 201) {
    throw new Error(`counties publish: ${published.status} ${JSON.stringify(published.body)}`);
  }
}

export async function benchZonal(flags: ZonalBenchOptions = ZONAL_DEFAULTS): Promise<void> {
  const runs = Math.max(1, flags.runs);
  const stateDir = await Deno.makeTempDir({ prefix: "bench-zonal-" });
  const server = await startDevServerOnFreePorts({ stateDir, logFile: `${stateDir}.log` });
  const pg = await startCluster();
  const token = await devToken({ sub: "bench", domain: "geo" }, { ttlSeconds: 6 * 3600 });
  const auth = { authorization: `Bearer ${token}` };
  const times: Record<string, number[]> = { service: [], postgis: [], rasterio: [] };
  try {
    log("publishing the CONUS raster and the counties");
    let t0 = performance.now();
    const raster = await fetch(`${server.url}/v1/datasets/conus?kind=raster&classification=public`, {
      method: "PUT",
      headers: { ...auth, "content-type": "image/tiff" },
      body: await Deno.readFile(flags.conus),
    });
    if (raster.status !== 201) throw new Error(`raster publish: ${raster.status} ${await raster.text()}`);
    await raster.body?.cancel();
    const rasterPublishMs = performance.now() - t0;
    t0 = performance.now();
    await publishCounties(server.url, token, flags.counties);
    const countiesPublishMs = performance.now() - t0;

    log("loading PostGIS");
    await pg.query("CREATE EXTENSION postgis; CREATE EXTENSION postgis_raster;");
    const version = (await pg.query("SELECT postgis_full_version();")).trim().split(" ").slice(0, 2).join(" ");
    const fc = JSON.parse(await Deno.readTextFile(flags.counties)) as { features: Feature[] };
    await loadPolygons(pg, "counties", fc.features, 4326);
    await loadRaster(pg, flags.conus, "conus", 4326, "256x256");

    const answers = JSON.parse(
      await Deno.readTextFile(
        new URL("../../test/fixtures/raster/answers/counties_conus.center.rasterio.json", import.meta.url),
      ),
    );
    let problems: string[] = [];
    let missing: string[] = [];
    let partitions = 0;
    for (let i = 0; i < runs; i++) {
      const job = await runJob(server.url, token, {
        spatial_operation: "zonal_statistics",
        left_dataset: "counties",
        dataset: "conus",
        output_format: "geojson",
      });
      if (job.final.status !== "COMPLETED") throw new Error(`job ${job.jobId}: ${JSON.stringify(job.final)}`);
      const { bytes, ms } = await downloadResult(server.url, token, job.jobId);
      times.service!.push((job.completeMs + ms) / 1000);
      partitions = job.final.progress.partitions_total;
      const rows = JSON.parse(new TextDecoder().decode(bytes)).features.map((f: { properties: unknown }) =>
        f.properties
      );
      const byId = new Map(rows.map((row: { left_id: string }) => [row.left_id, row]));
      problems = [];
      missing = [];
      for (const want of answers) {
        const got = byId.get(want.left_id);
        // A county that repair=true makes empty (51610) is not published, so it has no row.
        if (!got) missing.push(want.left_id);
        else {
          const diff = compareRow(got as never, want, true);
          if (diff.length) problems.push(`${want.left_id}: ${diff.join("; ")}`);
        }
      }
      log(
        `service run ${i + 1}: ${
          times.service!.at(-1)!.toFixed(2)
        } s, ${partitions} partitions, ${problems.length} differences`,
      );

      await pg.query("DROP TABLE IF EXISTS z1;");
      t0 = performance.now();
      await pg.query(
        `SET max_parallel_workers_per_gather = 0;
         CREATE TABLE z1 AS
         SELECT p.id, p.ord, (ST_SummaryStatsAgg(ST_Clip(r.rast, p.geom, true), 1, true)).*
         FROM counties p JOIN conus r ON ST_ConvexHull(r.rast) && p.geom
         GROUP BY p.id, p.ord;`,
      );
      times.postgis!.push((performance.now() - t0) / 1000);
      log(`PostGIS run ${i + 1}: ${times.postgis!.at(-1)!.toFixed(2)} s`);

      const out = await new Deno.Command("/usr/bin/python3", {
        args: [
          new URL("../fixtures/raster/make_raster_fixtures.py", import.meta.url).pathname,
          "counties",
          "--conus",
          flags.conus,
          "--counties",
          flags.counties,
          "--output",
          `${stateDir}.rasterio.json`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      const report = JSON.parse(new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!);
      times.rasterio!.push(report.windowed_seconds);
      log(`rasterio run ${i + 1}: ${report.windowed_seconds} s (bbox window per county)`);
    }
    console.log(`\nZ1 counties (3,231) × CONUS 0.01° raster (5,900 × 2,600 float32), center, ${runs} runs each`);
    console.log(`  ${version}; rasterio per README (test/fixtures/raster/answers/rasterio_manifest.json)`);
    console.log(
      `  publish: raster ${(rasterPublishMs / 1000).toFixed(1)} s, counties ${(countiesPublishMs / 1000).toFixed(1)} s`,
    );
    for (const [engine, xs] of Object.entries(times)) {
      console.log(
        `  ${engine.padEnd(9)} median ${median(xs).toFixed(2)} s (min ${Math.min(...xs).toFixed(2)}, max ${
          Math.max(...xs).toFixed(2)
        })`,
      );
    }
    console.log(`  service / PostGIS (medians): ${(median(times.service!) / median(times.postgis!)).toFixed(2)}×`);
    console.log(
      `  service: ${partitions} partitions; vs rasterio answers: ${
        problems.length ? problems.slice(0, 5).join(" | ") : "equal"
      }${missing.length ? ` (no row for ${missing.join(", ")}: empty once repaired, not published)` : ""}`,
    );
  } finally {
    await pg.stop();
    await server.stop("SIGTERM");
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { conus: { type: "string" }, counties: { type: "string" }, runs: { type: "string" } },
  });
  await benchZonal({
    conus: values.conus ?? ZONAL_DEFAULTS.conus,
    counties: values.counties ?? ZONAL_DEFAULTS.counties,
    runs: Number(values.runs ?? ZONAL_DEFAULTS.runs),
  });
}
