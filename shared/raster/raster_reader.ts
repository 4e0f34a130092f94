/**
 * Reading a stored GeoTIFF block by block: geotiff.js parses the header and
 * decodes tiles or strips, its bytes fetched from R2 by range; decoded blocks
 * are kept in a cache bounded in bytes, so an isolate never holds more than
 * that of any raster, however large.
 *
 * The source is geotiff.js's `BaseSource` contract (`fetch(slices)`,
 * `fileSize`): small reads (the header, the IFD's arrays, a one-row strip)
 * are rounded up to aligned 64 KiB chunks kept in a small LRU, so a striped
 * file does not cost one request per strip.
 */
import { addDecoder, BaseDecoder, GeoTIFF, type GeoTIFFImage } from "geotiff";
import type { TileBucket } from "../tiles/fgb_reader.ts";
import type { RasterGrid } from "./raster_info.ts";

/**
 * DEFLATE (TIFF compression 8 and 32946) through the runtime's zlib instead of geotiff.js's pako: 2.2× faster on the
 * CONUS raster's 256 × 256 Float32 tiles (200 tiles: 5.3–6.1 s against 10.2–13.4 s under load, /tmp bench in
 * docs/performance.md "Z1"); the predictor is still applied by `BaseDecoder.decode`.
 */
class NativeDeflateDecoder extends BaseDecoder {
  override async decodeBlock(buffer: ArrayBuffer): Promise<ArrayBuffer> {
    const inflated = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate"));
    return await new Response(inflated).arrayBuffer();
  }
}
addDecoder([8, 32946], () => Promise.resolve(NativeDeflateDecoder), undefined, false);

const CHUNK = 64 * 1024;
/** Raw chunks kept per open raster (4 MiB). */
const MAX_CHUNKS = 64;

type Slice = { offset: number; length: number };

/** geotiff.js's source contract over an R2 object. */
export class R2RangeSource {
  readonly #chunks = new Map<number, Uint8Array>();
  /** Bytes fetched from R2 so far. */
  fetched = 0;

  constructor(readonly bucket: TileBucket, readonly key: string, readonly size: number) {}

  get fileSize(): number {
    return this.size;
  }

  fetch(slices: Slice[]): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map((slice) => this.#read(slice)));
  }

  async close(): Promise<void> {}

  async #read({ offset, length }: Slice): Promise<ArrayBuffer> {
    const end = Math.min(this.size, offset + length);
    if (end - offset > CHUNK) return await this.#get(offset, end - offset);
    const first = Math.floor(offset / CHUNK), last = Math.floor((end - 1) / CHUNK);
    const missing: number[] = [];
    for (let c = first; c <= last; c++) if (!this.#chunks.has(c)) missing.push(c);
    if (missing.length) {
      const from = missing[0]! * CHUNK, to = Math.min(this.size, (missing[missing.length - 1]! + 1) * CHUNK);
      const bytes = new Uint8Array(await this.#get(from, to - from));
      for (const c of missing) {
        this.#remember(c, bytes.subarray(c * CHUNK - from, Math.min(bytes.length, (c + 1) * CHUNK - from)));
      }
    }
    const out = new Uint8Array(end - offset);
    for (let c = first; c <= last; c++) {
      const chunk = this.#chunks.get(c)!;
      this.#chunks.delete(c);
      this.#chunks.set(c, chunk);
      const start = Math.max(offset, c * CHUNK), stop = Math.min(end, c * CHUNK + chunk.length);
      out.set(chunk.subarray(start - c * CHUNK, stop - c * CHUNK), start - offset);
    }
    return out.buffer;
  }

  #remember(c: number, bytes: Uint8Array): void {
    this.#chunks.set(c, bytes.slice());
    while (this.#chunks.size > MAX_CHUNKS) this.#chunks.delete(this.#chunks.keys().next().value!);
  }

  async #get(offset: number, length: number): Promise<ArrayBuffer> {
    const object = await this.bucket.get(this.key, { range: { offset, length } });
    if (!object) throw new Error(`Raster object "${this.key}" is missing`);
    this.fetched += length;
    return await object.arrayBuffer();
  }
}

/** A GeoTIFF read through `source`: its header first, the rest by range as images and blocks are asked for. */
export function geoTiffOf(source: R2RangeSource): Promise<GeoTIFF> {
  return GeoTIFF.fromSource(source as unknown as Parameters<typeof GeoTIFF.fromSource>[0]);
}

/** One block's pixels of one band, row-major, `width` × `height` (edge blocks are cut to the raster). */
export interface Block {
  values: ArrayLike<number>;
  width: number;
  height: number;
}

/** An open raster: its first image and the source's counters. */
export interface OpenRaster {
  image: GeoTIFFImage;
  source: R2RangeSource;
}

/**
 * Decoded blocks by `<key>|<band>|<bx>,<by>`, least recently used out once past `maxBytes`; open rasters
 * (headers) by key, a few at a time.
 */
export class RasterBlockCache {
  readonly #blocks = new Map<string, Block & { bytes: number }>();
  readonly #open = new Map<string, Promise<OpenRaster>>();
  readonly #pending = new Map<string, Promise<Block>>();
  #bytes = 0;
  /** The most bytes the cache held at once. */
  peakBytes = 0;

  constructor(readonly maxBytes: number, readonly maxOpen = 8) {}

  /** The raster at `key` (immutable: a version's object), its header read once per isolate. */
  open(bucket: TileBucket, raster: { key: string; bytes: number }): Promise<OpenRaster> {
    let opened = this.#open.get(raster.key);
    if (!opened) {
      const source = new R2RangeSource(bucket, raster.key, raster.bytes);
      opened = geoTiffOf(source)
        .then((tiff) => tiff.getImage(0))
        .then((image) => ({ image, source }));
      opened.catch(() => this.#open.delete(raster.key));
      this.#open.set(raster.key, opened);
      while (this.#open.size > this.maxOpen) this.#open.delete(this.#open.keys().next().value!);
    }
    return opened;
  }

  /** Block (bx, by) of `band` (0-based), decoded. */
  async block(
    bucket: TileBucket,
    raster: RasterGrid & { key: string; bytes: number },
    band: number,
    bx: number,
    by: number,
  ): Promise<Block> {
    const id = `${raster.key}|${band}|${bx},${by}`;
    const hit = this.#blocks.get(id);
    if (hit) {
      this.#blocks.delete(id);
      this.#blocks.set(id, hit);
      return hit;
    }
    // Partitions of one isolate ask for the same block at once: one read serves them all.
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.#read(bucket, raster, band, bx, by, id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return await pending;
  }

  async #read(
    bucket: TileBucket,
    raster: RasterGrid & { key: string; bytes: number },
    band: number,
    bx: number,
    by: number,
    id: string,
  ): Promise<Block> {
    const { image } = await this.open(bucket, raster);
    const [bw, bh] = raster.block_size;
    const x0 = bx * bw, y0 = by * bh;
    const x1 = Math.min(raster.width, x0 + bw), y1 = Math.min(raster.height, y0 + bh);
    const [values] = await image.readRasters({ window: [x0, y0, x1, y1], samples: [band] }) as unknown as [
      ArrayLike<number> & { byteLength: number },
    ];
    const block = { values: values!, width: x1 - x0, height: y1 - y0, bytes: values!.byteLength };
    this.#blocks.set(id, block);
    this.#bytes += block.bytes;
    while (this.#bytes > this.maxBytes && this.#blocks.size > 1) {
      const [oldest, entry] = this.#blocks.entries().next().value!;
      this.#blocks.delete(oldest);
      this.#bytes -= entry.bytes;
    }
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
    return block;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
