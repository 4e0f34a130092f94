/** Loading the raster fixtures (test/fixtures/raster/) and comparing rows with their committed answers. */
import { fromArrayBuffer } from "geotiff";
import { describeGeoTiff, type RasterInfo } from "../../../shared/raster/raster_info.ts";

export const RASTER_DIR = new URL("../../fixtures/raster/", import.meta.url);

export interface AnswerRow {
  left_id: string | number;
  band?: number;
  count: number;
  sum: number | null;
  mean: number | null;
  min: number | null;
  max: number | null;
  stddev: number | null;
}

export interface FixtureFeature {
  id: string | number;
  geometry: { type: "Polygon" | "MultiPolygon"; coordinates: number[][][] | number[][][][] };
}

export async function readFixtureRaster(file: string): Promise<{ info: RasterInfo; bands: Float64Array[] }> {
  const bytes = await Deno.readFile(new URL(file, RASTER_DIR));
  const tiff = await fromArrayBuffer(bytes.buffer);
  const info = await describeGeoTiff(tiff);
  const image = await tiff.getImage();
  const rasters = await image.readRasters();
  const bands = (rasters as unknown as ArrayLike<number>[]).map((b) => Float64Array.from(b));
  return { info, bands };
}

export async function readFixtureFeatures(file: string): Promise<FixtureFeature[]> {
  return JSON.parse(await Deno.readTextFile(new URL(file, RASTER_DIR))).features;
}

export async function readAnswers(file: string): Promise<AnswerRow[]> {
  return JSON.parse(await Deno.readTextFile(new URL(`answers/${file}`, RASTER_DIR)));
}

/** Rings of a GeoJSON polygon or multipolygon, holes marked. */
export function ringsOf(geometry: FixtureFeature["geometry"]): { xy: number[]; hole: boolean }[] {
  const polygons = geometry.type === "Polygon"
    ? [geometry.coordinates as number[][][]]
    : geometry.coordinates as number[][][][];
  return polygons.flatMap((rings) => rings.map((ring, i) => ({ xy: ring.flat(), hole: i > 0 })));
}

/**
 * The README's comparison: counts equal for center/all_touched; the rest (and coverage's count) to 1e-9
 * relative; stddev relative to max(|stddev|, |mean|). Returns the differences found, as messages.
 */
export function compareRow(
  got: Record<"count" | "sum" | "mean" | "min" | "max" | "stddev", number | null>,
  want: AnswerRow,
  exactCount: boolean,
): string[] {
  const problems: string[] = [];
  const close = (a: number | null, b: number | null, scale: number): boolean =>
    a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(scale, 1e-300);
  if (exactCount ? got.count !== want.count : !close(got.count, want.count, Math.abs(want.count))) {
    problems.push(`count ${got.count} != ${want.count}`);
  }
  for (const key of ["sum", "mean", "min", "max"] as const) {
    if (!close(got[key], want[key], Math.abs(want[key] ?? 0))) problems.push(`${key} ${got[key]} != ${want[key]}`);
  }
  const scale = Math.max(Math.abs(want.stddev ?? 0), Math.abs(want.mean ?? 0));
  if (!close(got.stddev, want.stddev, scale)) problems.push(`stddev ${got.stddev} != ${want.stddev}`);
  return problems;
}
