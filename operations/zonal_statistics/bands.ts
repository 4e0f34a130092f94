/**
 * How a polygon's window is cut into bands whose memory fits one lease of the
 * isolate's zonal budget: a band's weights (and `coverage`'s edge
 * accumulators) plus the raster blocks it reads a group at a time. A window
 * too wide for one band of rows is cut into column chunks on block
 * boundaries, so the row runs a block holds (and the partition that owns each,
 * slice.ts `ownerOf`) do not depend on the cut.
 */
import type { RasterDataType } from "../../shared/raster/raster_info.ts";
import type { PixelRule, Window } from "./pixel_grid.ts";

/** Most blocks one group reads at once (R2 range reads in flight: latency, not bandwidth, bounds a group). */
const GROUP_BLOCKS = 8;

export interface BandCut {
  /** Blocks read at a time. */
  group: number;
  /** Decoded bytes of one block. */
  blockBytes: number;
  /** Most weight cells one band holds. */
  maxCells: number;
}

/** Bytes of one decoded pixel of `type` (the digits of its name are its bits). */
export function sampleBytes(type: RasterDataType): number {
  return Number(type.match(/\d+/)![0]) / 8;
}

/**
 * The cut of windows of a raster with `block` (width, height) pixels of `type` under `rule` so that each band's
 * {@link bandLeaseBytes} is at most `leaseBytes`: half of it for reads, the rest for weights.
 */
export function bandCut(rule: PixelRule, block: readonly [number, number], type: RasterDataType, leaseBytes: number) {
  const blockBytes = block[0] * block[1] * sampleBytes(type);
  const group = Math.max(1, Math.min(GROUP_BLOCKS, Math.floor(leaseBytes / 2 / readBytesPerBlock(blockBytes))));
  const cellBytes = rule === "coverage" ? 16 : 8;
  const maxCells = Math.floor((leaseBytes - group * readBytesPerBlock(blockBytes)) / cellBytes);
  return { group, blockBytes, maxCells } satisfies BandCut;
}

/** A block being read holds its compressed bytes, its inflated tile and the decoded copy geotiff.js returns. */
function readBytesPerBlock(blockBytes: number): number {
  return 3 * blockBytes;
}

/**
 * The bytes a band of `win` leases: its weights (float64; `coverage` adds as many edge accumulators, one more per
 * row), its row-run flags (one byte per row and block column), and the reads of at most `cut.group` of the
 * `blocks` it spans.
 */
export function bandLeaseBytes(win: Window, rule: PixelRule, cut: BandCut, blocks: number): number {
  const rows = win.r1 - win.r0, cells = rows * (win.c1 - win.c0);
  const weights = 8 * cells + (rule === "coverage" ? 8 * (cells + rows) : 0);
  return weights + rows * blocks + Math.min(cut.group, blocks) * readBytesPerBlock(cut.blockBytes);
}

/**
 * The bands of `win`, each at most `maxCells` weight cells: the whole width when one row fits, else column chunks
 * of whole blocks (`blockWidth` columns each, aligned on the grid), each cut into bands of rows.
 */
export function* bandsOf(win: Window, maxCells: number, blockWidth: number): Generator<Window> {
  const cols = win.c1 - win.c0;
  const chunk = cols <= maxCells ? cols : Math.max(blockWidth, Math.floor(maxCells / blockWidth) * blockWidth);
  for (let c0 = win.c0; c0 < win.c1;) {
    const c1 = chunk === cols ? win.c1 : Math.min(win.c1, (Math.floor(c0 / chunk) + 1) * chunk);
    const rows = Math.max(1, Math.floor(maxCells / (c1 - c0)));
    for (let r0 = win.r0; r0 < win.r1; r0 += rows) yield { c0, c1, r0, r1: Math.min(win.r1, r0 + rows) };
    c0 = c1;
  }
}
