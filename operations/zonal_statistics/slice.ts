/**
 * One slice of a zonal_statistics partition: the partition's polygons in id
 * order from the checkpoint, each rasterized on the raster's grid band by band
 * (bands.ts), reading only the blocks that hold a selected pixel this partition
 * owns, through an isolate-wide block cache bounded in bytes. Each band leases
 * its weights and the blocks it reads from the isolate's zonal memory budget
 * before allocating them, so the slices of all partitions sharing an isolate
 * hold at most ZONAL_WORK_BYTES between them.
 */
import { latLngToCell } from "h3-js";
import proj4 from "proj4";
import type { FlatGeometry } from "../../wasm/flat_geometry.ts";
import type { StagedRow, ZonalSpec } from "../../shared/job_spec.ts";
import { memberCells } from "../../shared/job_spec.ts";
import { nodataValue } from "../../shared/raster/raster_info.ts";
import { type Block, RasterBlockCache } from "../../shared/raster/raster_reader.ts";
import { ISOLATE_MEMORY, ZONAL_WORK_BYTES } from "../../shared/config.ts";
import { MemoryBudget } from "../../shared/memory_budget.ts";
import type { TileBucket } from "../../shared/tiles/fgb_reader.ts";
import type { SliceContext, SliceOutput } from "../operation.ts";
import { loadPartitionData, PartitionDataCache, taskDataKey } from "../vector/partition_data.ts";
import { WindowFilter } from "../vector/window_filter.ts";
import { addValue, emptyMoments, type Moments } from "./moments.ts";
import { type PixelRule, pixelWeights, polygonWindow, toPixelPolygon } from "./pixel_grid.ts";
import { bandCut, bandLeaseBytes, bandsOf } from "./bands.ts";

export const PIXEL_RULES = ["center", "all_touched", "coverage"] as const satisfies readonly PixelRule[];

/** Decoded raster blocks this isolate keeps between polygons. */
export const blocks = new RasterBlockCache(ISOLATE_MEMORY.rasterBlockBytes);
const inputs = new PartitionDataCache(ISOLATE_MEMORY.zonalInputBytes);
/** What every zonal slice of this isolate allocates per band (weights, blocks being read) is leased from here. */
export const zonalMemory = new MemoryBudget(ZONAL_WORK_BYTES);
/** One band's lease at most: the executor runs two slices at once in an isolate, and both proceed. */
const BAND_LEASE_BYTES = ZONAL_WORK_BYTES / 2;

const toMercator = proj4("EPSG:4326", "EPSG:3857");

export async function runZonalSlice(context: SliceContext): Promise<SliceOutput> {
  const { task } = context;
  const zonal = task.spec.zonal!;
  const key = taskDataKey(task.job_id, task.attempt, task.cell);
  let data = inputs.acquire(key);
  if (!data) {
    using filter = new WindowFilter(await context.geometryCore(), context.window ?? []);
    data = inputs.insert(await loadPartitionData(context.bucket, task.spec, task.attempt, task.cell, filter));
  }
  try {
    const own = new Set(memberCells(task.spec, task.cell));
    const stats: Record<string, number> = {};
    if (task.next_offset === 0) stats.read_ms = data.readMs;
    const rows: StagedRow[] = [];
    const left = data.left;
    const attributes = task.spec.properties ?? [];
    let i = task.next_offset, work = 0;
    const started = Date.now();
    while (i < left.size && work < context.workBudget && rows.length < context.maxRows) {
      const feature = left.feature(i);
      const { moments, pixels } = await zonalMoments(context.bucket, zonal, feature.geometry, {
        cells: left.cells[i]!,
        own,
        resolution: task.spec.resolution,
      });
      // A unit is ~0.1 µs of CPU (SLICE_WORK_UNITS): one weighed pixel, decoding included, costs about that
      // (104 ns measured under `coverage` over the 0.002° CONUS raster; ~30 ns under `center` in Z1's profile).
      work += pixels + 100;
      stats.pixels = (stats.pixels ?? 0) + pixels;
      const row: StagedRow = {
        l: feature.id,
        r: 0,
        g: feature.geometry,
        p: moments.count ? { ...moments } : { count: 0 },
      };
      // Every partial carries the polygon's attributes; the folded row keeps the first's (combine spreads it).
      if (attributes.length) row.a = attributes.map(({ name }) => left.properties(i)[name] ?? null);
      rows.push(row);
      i++;
    }
    stats.zonal_ms = Date.now() - started;
    stats.work = work;
    stats.block_cache_peak_bytes = blocks.peakBytes;
    stats.zonal_lease_heap_bytes = zonalMemory.peakBytes;
    const done = i >= left.size;
    if (done) inputs.release(key);
    return { next_offset: i, rows, stats, done };
  } finally {
    inputs.unpin(key);
  }
}

export function releaseZonalJob(jobId: string): void {
  inputs.releaseJob(jobId);
}

interface Ownership {
  /** The polygon's cells (sorted): each of its pixels is counted by exactly one of them. */
  cells: readonly string[];
  /** The cells this partition runs. */
  own: ReadonlySet<string>;
  resolution: number;
}

/** Rings of a polygon or multipolygon in the raster's CRS, holes marked. */
function ringsOf(geometry: FlatGeometry, crs: string): { xy: Float64Array; hole: boolean }[] {
  const polygons = geometry.kind === "MultiPolygon" ? geometry.parts ?? [] : [geometry];
  const rings: { xy: Float64Array; hole: boolean }[] = [];
  for (const polygon of polygons) {
    const ends = polygon.ends ?? [polygon.xy.length / 2];
    let start = 0;
    ends.forEach((end, k) => {
      const xy = polygon.xy.slice(2 * start, 2 * end);
      if (crs === "EPSG:3857") {
        for (let p = 0; p < xy.length; p += 2) {
          const [x, y] = toMercator.forward([xy[p]!, xy[p + 1]!]);
          xy[p] = x!;
          xy[p + 1] = y!;
        }
      }
      rings.push({ xy, hole: k > 0 });
      start = end;
    });
  }
  return rings;
}

/** This partition's share of one polygon's moments, and the pixels it weighed. */
export async function zonalMoments(
  bucket: TileBucket,
  zonal: ZonalSpec,
  geometry: FlatGeometry,
  ownership: Ownership,
): Promise<{ moments: Moments; pixels: number }> {
  const moments = emptyMoments();
  const { raster } = zonal;
  const poly = toPixelPolygon(ringsOf(geometry, raster.crs), raster.geotransform);
  const win = polygonWindow(poly, raster.width, raster.height);
  if (!win) return { moments, pixels: 0 };
  const owner = ownerOf(zonal, ownership);
  if (owner === "none") return { moments, pixels: 0 };
  const band = zonal.band - 1;
  const nodata = nodataValue(raster.bands[band]!);
  const nanNodata = nodata !== null && Number.isNaN(nodata);
  const [bw, bh] = raster.block_size;
  const cut = bandCut(zonal.pixel_rule, raster.block_size, raster.bands[band]!.data_type, BAND_LEASE_BYTES);
  let pixels = 0;
  for (const sub of bandsOf(win, cut.maxCells, bw)) {
    // A turn of the event loop per band: a slice whose blocks are all cached would otherwise hold the isolate for
    // its whole budget, and what else the isolate serves (other objects' alarms, the inspector) would wait.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const cols = sub.c1 - sub.c0;
    const bx0 = Math.floor(sub.c0 / bw), bx1 = Math.floor((sub.c1 - 1) / bw) + 1;
    const by0 = Math.floor(sub.r0 / bh), by1 = Math.floor((sub.r1 - 1) / bh) + 1;
    using _lease = await zonalMemory.acquire(bandLeaseBytes(sub, zonal.pixel_rule, cut, (bx1 - bx0) * (by1 - by0)));
    const weights = pixelWeights(poly, zonal.pixel_rule, sub, raster.width, raster.height);
    pixels += weights.length;
    // Pass 1: the row runs this partition owns that weigh a pixel, per block; their blocks are then read
    // together (adjacent tiles in one R2 range read, where the awaits in pass 2 would have waited for them one by one).
    const runs = new Uint8Array((sub.r1 - sub.r0) * (bx1 - bx0));
    const wanted: [number, number][] = [];
    for (let by = by0; by < by1; by++) {
      const ra = Math.max(sub.r0, by * bh), rb = Math.min(sub.r1, (by + 1) * bh);
      for (let bx = bx0; bx < bx1; bx++) {
        const ca = Math.max(sub.c0, bx * bw), cb = Math.min(sub.c1, (bx + 1) * bw);
        let any = false;
        for (let r = ra; r < rb; r++) {
          if (owner !== "all" && !owner(r, (ca + cb - 1) >> 1)) continue;
          const wRow = (r - sub.r0) * cols - sub.c0;
          for (let c = ca; c < cb; c++) {
            if (weights[wRow + c]! > 0) {
              runs[(r - sub.r0) * (bx1 - bx0) + bx - bx0] = 1;
              any = true;
              break;
            }
          }
        }
        if (any) wanted.push([bx, by]);
      }
    }
    // Pass 2: the statistics, block by block, a group of blocks (within the lease) read at a time.
    const group = cut.group;
    let read: Block[] = [];
    for (let k = 0; k < wanted.length; k++) {
      if (k % group === 0) {
        read = []; // the group before goes before the next is read: the lease counts one
        read = await blocks.blocks(bucket, raster, band, wanted.slice(k, k + group));
      }
      const [bx, by] = wanted[k]!;
      const block = read[k % group]!;
      const ra = Math.max(sub.r0, by * bh), rb = Math.min(sub.r1, (by + 1) * bh);
      const ca = Math.max(sub.c0, bx * bw), cb = Math.min(sub.c1, (bx + 1) * bw);
      for (let r = ra; r < rb; r++) {
        if (!runs[(r - sub.r0) * (bx1 - bx0) + bx - bx0]) continue;
        const wRow = (r - sub.r0) * cols - sub.c0;
        const vRow = (r - by * bh) * block.width - bx * bw;
        for (let c = ca; c < cb; c++) {
          const w = weights[wRow + c]!;
          if (w <= 0) continue;
          const v = block.values[vRow + c]!;
          if (nodata !== null && (v === nodata || (nanNodata && Number.isNaN(v)))) continue;
          addValue(moments, v, w);
        }
      }
    }
  }
  return { moments, pixels };
}

/**
 * Which of a polygon's pixels this partition counts: all, none, or, per run of a row within one block, by the H3
 * cell of the run's middle pixel centre (among the polygon's cells, else its first cell). Runs depend on the grid
 * and the polygon only, so every partition computes the same owner for each pixel: each is counted exactly once.
 */
function ownerOf(
  zonal: ZonalSpec,
  { cells, own, resolution }: Ownership,
): "all" | "none" | ((r: number, c: number) => boolean) {
  const mine = cells.filter((cell) => own.has(cell));
  if (mine.length === 0) return "none";
  if (mine.length === cells.length) return "all";
  const polygonCells = new Set(cells);
  const fallback = cells[0]!;
  const [x0, dx, , y0, , dy] = zonal.raster.geotransform;
  const mercator = zonal.raster.crs === "EPSG:3857";
  return (r, c) => {
    let x = x0 + (c + 0.5) * dx, y = y0 + (r + 0.5) * dy;
    if (mercator) [x, y] = toMercator.inverse([x, y]) as [number, number];
    const cell = latLngToCell(y, x, resolution);
    return own.has(polygonCells.has(cell) ? cell : fallback);
  };
}
