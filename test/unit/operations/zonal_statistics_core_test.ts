import { deepEqual as assertEquals } from "node:assert/strict";
import {
  type PixelRule,
  pixelWeights,
  polygonWindow,
  toPixelPolygon,
} from "../../../operations/zonal_statistics/pixel_grid.ts";
import {
  addValue,
  combineMoments,
  emptyMoments,
  finalStatistics,
  type Moments,
} from "../../../operations/zonal_statistics/moments.ts";
import { nodataValue, type RasterInfo } from "../../../shared/raster/raster_info.ts";
import {
  compareRow,
  type FixtureFeature,
  readAnswers,
  readFixtureFeatures,
  readFixtureRaster,
  ringsOf,
} from "./zonal_fixtures.ts";

const SETS: [answers: string, raster: string, polygons: string][] = [
  ["elev.elev_probes", "elev.tif", "elev_probes"],
  ["elev.elev_probes", "elev_cog.tif", "elev_probes"],
  ["elev.lux_cantons", "elev_striped.tif", "lux_cantons"],
  ["elev.lux_cantons", "elev.tif", "lux_cantons"],
  ["elev_int16_holes.elev_probes", "elev_int16_holes.tif", "elev_probes"],
  ["elev_int16_holes.lux_cantons", "elev_int16_holes.tif", "lux_cantons"],
  ["elev_uint8_holes.elev_probes", "elev_uint8_holes.tif", "elev_probes"],
  ["elev_uint8_holes.lux_cantons", "elev_uint8_holes.tif", "lux_cantons"],
  ["elev_float64_nan.elev_probes", "elev_float64_nan.tif", "elev_probes"],
  ["elev_float64_nan.lux_cantons", "elev_float64_nan.tif", "lux_cantons"],
  ["grid_exact.grid_exact_probes", "grid_exact.tif", "grid_exact_probes"],
  ["landsat_4326.landsat_polygons", "landsat_4326.tif", "landsat_polygons_4326"],
  ["landsat_3857.landsat_polygons", "landsat_3857.tif", "landsat_polygons_3857"],
];
const RULES: PixelRule[] = ["center", "all_touched", "coverage"];

/** The moments of one polygon over one band of a whole raster in memory, split into `parts` row bands. */
function zonal(
  info: RasterInfo,
  band: Float64Array,
  feature: FixtureFeature,
  rule: PixelRule,
  parts = 1,
): Moments[] {
  const nodata = nodataValue(info.bands[0]!);
  const poly = toPixelPolygon(ringsOf(feature.geometry), info.geotransform);
  const win = polygonWindow(poly, info.width, info.height);
  const out = Array.from({ length: parts }, emptyMoments);
  if (!win) return out;
  const weights = pixelWeights(poly, rule, win, info.width, info.height);
  const stride = win.c1 - win.c0;
  for (let r = win.r0; r < win.r1; r++) {
    for (let c = win.c0; c < win.c1; c++) {
      const w = weights[(r - win.r0) * stride + c - win.c0]!;
      const v = band[r * info.width + c]!;
      if (w <= 0 || (nodata !== null && (v === nodata || (Number.isNaN(nodata) && Number.isNaN(v))))) continue;
      addValue(out[(r + c) % parts]!, v, w);
    }
  }
  return out;
}

for (const [answers, raster, polygons] of SETS) {
  for (const rule of RULES) {
    Deno.test(`zonal core: ${raster} × ${polygons} under ${rule} equals rasterio's answers`, async () => {
      const { info, bands } = await readFixtureRaster(raster);
      const features = await readFixtureFeatures(`${polygons}.geojson`);
      const problems: string[] = [];
      for (const want of await readAnswers(`${answers}.${rule}.json`)) {
        const feature = features.find((f) => f.id === want.left_id)!;
        const [m] = zonal(info, bands[(want.band ?? 1) - 1]!, feature, rule);
        const diff = compareRow(finalStatistics(m!), want, rule !== "coverage");
        if (diff.length) problems.push(`${want.left_id} band ${want.band}: ${diff.join("; ")}`);
      }
      assertEquals(problems, []);
    });
  }
}

Deno.test("zonal core: moments split over three interleaved parts combine (Chan) to the whole's statistics", async () => {
  const { info, bands } = await readFixtureRaster("elev_float64_nan.tif");
  const features = await readFixtureFeatures("lux_cantons.geojson");
  const problems: string[] = [];
  for (const rule of RULES) {
    for (const want of await readAnswers(`elev_float64_nan.lux_cantons.${rule}.json`)) {
      const feature = features.find((f) => f.id === want.left_id)!;
      const parts = zonal(info, bands[0]!, feature, rule, 3);
      const combined = combineMoments(combineMoments(parts[2]!, parts[0]!), parts[1]!);
      const diff = compareRow(finalStatistics(combined), want, rule !== "coverage");
      if (diff.length) problems.push(`${rule} ${want.left_id}: ${diff.join("; ")}`);
    }
  }
  assertEquals(problems, []);
});

Deno.test("zonal core: no selected pixel gives count 0 and null statistics; one pixel a stddev of exactly 0", () => {
  assertEquals(finalStatistics(emptyMoments()), {
    count: 0,
    sum: null,
    mean: null,
    min: null,
    max: null,
    stddev: null,
  });
  const one = emptyMoments();
  addValue(one, 0.1, 1);
  assertEquals(finalStatistics(one), { count: 1, sum: 0.1, mean: 0.1, min: 0.1, max: 0.1, stddev: 0 });
});
