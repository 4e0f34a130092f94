/**
 * zonal_statistics jobs against real workerd, R2 and Durable Objects, compared with the committed rasterio
 * answers (test/fixtures/raster/README.md): counts equal, the rest to 1e-9 relative.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { ZONAL_WORK_BYTES } from "../../shared/config.ts";
import { startService } from "./harness.ts";
import {
  authHeaders,
  expectProblem,
  publish,
  readFixture,
  resultFeatures,
  runJob,
  submit,
  waitForJob,
} from "./client.ts";
import { type AnswerRow, compareRow, readAnswers, readFixtureFeatures } from "../unit/operations/zonal_fixtures.ts";

type Service = Awaited<ReturnType<typeof startService>>;

async function publishRaster(service: Service, name: string, file: string): Promise<void> {
  const response = await publish(service, name, await readFixture(`raster/${file}`), {
    contentType: "image/tiff",
    query: "kind=raster&classification=public",
  });
  equal(response.status, 201, await response.clone().text());
  await response.body?.cancel();
}

async function zonalRows(
  service: Service,
  dataset: string,
  polygons: string,
  extra: Record<string, unknown>,
): Promise<{ rows: Record<string, number | string | null>[]; partitions: number }> {
  const features = await readFixtureFeatures(`${polygons}.geojson`);
  const done = await runJob(service, {
    spatial_operation: "zonal_statistics",
    output_format: "geojson",
    geometry_payload: {
      type: "FeatureCollection",
      features: features.map((f) => ({ ...f, type: "Feature", properties: {} })),
    },
    dataset,
    ...extra,
  });
  equal(done.status, "COMPLETED", JSON.stringify(done));
  const rows = (await resultFeatures(service, done.job_id)).map((f) =>
    f.properties as unknown as Record<string, number | string | null>
  );
  return { rows, partitions: done.progress.partitions_total };
}

function compareAll(rows: Record<string, unknown>[], answers: AnswerRow[], exactCount: boolean): string[] {
  const problems: string[] = [];
  if (rows.length !== answers.length) problems.push(`${rows.length} rows, ${answers.length} answers`);
  answers.forEach((want, k) => {
    const got = rows[k] as Parameters<typeof compareRow>[0] & { left_id: unknown };
    if (!got || got.left_id !== want.left_id) return problems.push(`row ${k}: ${got?.left_id} != ${want.left_id}`);
    const diff = compareRow(got, want, exactCount);
    if (diff.length) problems.push(`${want.left_id}: ${diff.join("; ")}`);
  });
  return problems;
}

Deno.test("zonal_statistics equals rasterio for every pixel rule, nodata, NaN nodata, a striped and a tiled file", async () => {
  const service = await startService();
  try {
    await publishRaster(service, "elev", "elev.tif");
    await publishRaster(service, "elev-holes", "elev_int16_holes.tif");
    await publishRaster(service, "elev-nan", "elev_float64_nan.tif");
    const problems: string[] = [];
    for (const rule of ["center", "all_touched", "coverage"]) {
      for (
        const [dataset, answers, polygons] of [
          ["elev", "elev", "lux_cantons"],
          ["elev-holes", "elev_int16_holes", "elev_probes"],
          ["elev-nan", "elev_float64_nan", "lux_cantons"],
        ]
      ) {
        const { rows } = await zonalRows(service, dataset!, polygons!, { pixel_rule: rule });
        const want = await readAnswers(`${answers}.${polygons}.${rule}.json`);
        problems.push(...compareAll(rows, want, rule !== "coverage").map((p) => `${dataset} ${rule} ${p}`));
      }
    }
    deepEqual(problems, []);
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("zonal_statistics over a 6-band EPSG:3857 raster takes 3857 polygons, any band, and a statistics subset", async () => {
  const service = await startService();
  try {
    await publishRaster(service, "landsat", "landsat_3857.tif");
    const answers = await readAnswers("landsat_3857.landsat_polygons.center.json");
    for (const band of [1, 4]) {
      const { rows } = await zonalRows(service, "landsat", "landsat_polygons_3857", { band, input_crs: "EPSG:3857" });
      deepEqual(compareAll(rows, answers.filter((a) => a.band === band), true), []);
    }
    const { rows } = await zonalRows(service, "landsat", "landsat_polygons_3857", {
      input_crs: "EPSG:3857",
      statistics: ["count", "max"],
    });
    deepEqual(Object.keys(rows[0]!).sort(), ["count", "left_id", "max"]);
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("zonal_statistics refuses a band the raster lacks, a vector dataset and non-polygons with 422", async () => {
  const service = await startService();
  try {
    await publishRaster(service, "elev", "elev.tif");
    const polygon = (await readFixtureFeatures("lux_cantons.geojson"))[0]!;
    const payload = { type: "FeatureCollection", features: [{ ...polygon, type: "Feature" }] };
    await expectProblem(
      await submit(service, {
        spatial_operation: "zonal_statistics",
        dataset: "elev",
        band: 2,
        geometry_payload: payload,
      }),
      422,
      ["band"],
    );
    await expectProblem(
      await submit(service, {
        spatial_operation: "zonal_statistics",
        dataset: "elev",
        geometry_payload: {
          type: "FeatureCollection",
          features: [{ type: "Feature", id: 1, properties: {}, geometry: { type: "Point", coordinates: [6, 49.7] } }],
        },
      }),
      422,
      ["geometry_payload"],
    );
    await expectProblem(
      await submit(service, { spatial_operation: "spatial_join", dataset: "elev", geometry_payload: payload }),
      422,
      ["dataset"],
    );
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("zonal_statistics counts each pixel once when polygons span many partitions: one row each, in both formats, its bands leased within the isolate's zonal memory budget, its work per partition reported", async () => {
  // H3 resolution 4 cells (~22 km edges) under cantons of 15–30 km: 11 of the 12 cantons span 2+ of 7 partitions.
  const service = await startService({ vars: { PARTITION_RESOLUTION: "4", PARTITION_GROUP_BYTES: "0" } });
  try {
    await publishRaster(service, "elev", "elev.tif");
    for (const rule of ["center", "coverage"]) {
      const { rows, partitions } = await zonalRows(service, "elev", "lux_cantons", { pixel_rule: rule });
      const want = await readAnswers(`elev.lux_cantons.${rule}.json`);
      deepEqual(compareAll(rows, want, rule === "center"), []);
      equal(partitions, 7);
    }
    const features = await readFixtureFeatures("lux_cantons.geojson");
    const done = await runJob(service, {
      spatial_operation: "zonal_statistics",
      output_format: "flatgeobuf",
      geometry_payload: { type: "FeatureCollection", features: features.map((f) => ({ ...f, type: "Feature" })) },
      dataset: "elev",
    });
    equal(done.status, "COMPLETED");
    equal(done.result?.feature_count, 12);
    const leased = Number(done.stats?.zonal_lease_peak_bytes);
    ok(leased > 0 && leased <= ZONAL_WORK_BYTES, `leased at most ${leased} bytes at once`);
    // A unit a weighed pixel: every partition reports the work it did.
    const work = done.stats?.partition_work as { max: number; median: number } | undefined;
    ok(work && work.median > 0 && work.max >= work.median, `work per partition: ${JSON.stringify(work)}`);
  } finally {
    await service.stop("SIGTERM");
  }
});

Deno.test("a zonal_statistics job cancelled while it runs ends CANCELLED with no result", async () => {
  const service = await startService({ vars: { PARTITION_RESOLUTION: "5", PARTITION_GROUP_BYTES: "0" } });
  try {
    await publishRaster(service, "elev", "elev.tif");
    const features = await readFixtureFeatures("lux_cantons.geojson");
    const response = await submit(service, {
      spatial_operation: "zonal_statistics",
      pixel_rule: "coverage",
      geometry_payload: { type: "FeatureCollection", features: features.map((f) => ({ ...f, type: "Feature" })) },
      dataset: "elev",
    });
    const accepted = await response.json();
    equal(response.status, 202, JSON.stringify(accepted));
    const cancelled = await service.fetch(`/v1/jobs/${accepted.job_id}`, {
      method: "DELETE",
      headers: await authHeaders(),
    });
    equal(cancelled.status, 200, await cancelled.clone().text());
    await cancelled.body?.cancel();
    const final = await waitForJob(service, accepted.job_id);
    equal(final.status, "CANCELLED");
    equal(final.result, undefined);
  } finally {
    await service.stop("SIGTERM");
  }
});
