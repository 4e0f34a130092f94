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
import { addDecoder, BaseDecoder, GeoTIFF, type GeoTIFFImage, getDecoder } from "geotiff";
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

  /** Bytes [offset, offset + length) in one range request, past the chunk cache (tiles are read once each). */
  async range(offset: number, length: number): Promise<Uint8Array> {
    return new Uint8Array(await this.#get(offset, length));
  }

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

/**
 * One block's pixels of one band, row-major, `width` × `height`: a whole tile (edge tiles padded as stored) or, read
 * through geotiff.js, the block cut to the raster.
 */
export interface Block {
  values: ArrayLike<number>;
  width: number;
  height: number;
}

/** An open raster: its first image, the source's counters, and how its tiles decode directly (null: through geotiff.js's windowed read). */
export interface OpenRaster {
  image: GeoTIFFImage;
  source: R2RangeSource;
  tiles: DirectTiles | null;
}

/** Compressions whose geotiff.js decoder takes only the default parameters: none, LZW, DEFLATE, PackBits. */
const DIRECT_COMPRESSIONS = new Set([1, 5, 8, 32946, 32773]);

type TypedArrayOf = (bytes: ArrayBuffer) => ArrayLike<number> & { byteLength: number };

/**
 * A tiled image whose decoded tile of one sample is a typed array as it is: one sample per tile (single band or
 * band-separate), whole-byte integers or float32/64, little-endian. Its tiles skip geotiff.js's `readRasters`, which
 * copies every pixel through a DataView into a new window array (283 ms of a Z1 job's ~2.4 s of JavaScript,
 * docs/performance.md "Z1"), and the tiles one band of rows needs are fetched in a few coalesced range reads.
 */
interface DirectTiles {
  decoder: BaseDecoder;
  across: number;
  down: number;
  width: number;
  height: number;
  /** The typed array over sample `band`'s decoded tile bytes. */
  arrays: TypedArrayOf[];
}

const ARRAYS: Record<string, (bytes: ArrayBuffer) => ArrayLike<number> & { byteLength: number }> = {
  "1/8": (b) => new Uint8Array(b),
  "1/16": (b) => new Uint16Array(b),
  "1/32": (b) => new Uint32Array(b),
  "2/8": (b) => new Int8Array(b),
  "2/16": (b) => new Int16Array(b),
  "2/32": (b) => new Int32Array(b),
  "3/32": (b) => new Float32Array(b),
  "3/64": (b) => new Float64Array(b),
};

async function directTilesOf(image: GeoTIFFImage): Promise<DirectTiles | null> {
  const samples = image.getSamplesPerPixel();
  const compression = Number(image.fileDirectory.getValue("Compression") ?? 1);
  if (!image.isTiled || !image.littleEndian || (samples > 1 && image.planarConfiguration !== 2)) return null;
  if (!DIRECT_COMPRESSIONS.has(compression)) return null;
  const arrays: TypedArrayOf[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const array = ARRAYS[`${image.getSampleFormat(sample)}/${image.getBitsPerSample(sample)}`];
    if (!array) return null;
    arrays.push(array);
  }
  const width = image.getTileWidth(), height = image.getTileHeight();
  const decoder = await getDecoder(compression, {
    tileWidth: width,
    tileHeight: height,
    planarConfiguration: image.planarConfiguration,
    bitsPerSample: image.fileDirectory.getValue("BitsPerSample") as number[],
    predictor: Number(await image.fileDirectory.loadValue("Predictor")) || 1,
  });
  return {
    decoder,
    across: Math.ceil(image.getWidth() / width),
    down: Math.ceil(image.getHeight() / height),
    width,
    height,
    arrays,
  };
}

/** Raw bytes one coalesced range read fetches at most: never more than the blocks it serves hold decoded. */
const MAX_RUN_BYTES = 8 * 2 ** 20;
/** Bytes between two wanted tiles' ranges still read in one request (a COG row's tiles are adjacent: gap 0). */
const MAX_GAP_BYTES = 16 * 1024;

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
        .then(async (image) => ({ image, source, tiles: await directTilesOf(image) }));
      opened.catch(() => this.#open.delete(raster.key));
      this.#open.set(raster.key, opened);
      while (this.#open.size > this.maxOpen) this.#open.delete(this.#open.keys().next().value!);
    }
    return opened;
  }

  /**
   * Blocks (bx, by) of `band` (0-based), decoded, in order. Those neither cached nor being read are fetched
   * together: adjacent tiles (a COG stores a row of tiles contiguously) in one range request of at most
   * {@link MAX_RUN_BYTES}, so a band of rows costs a few requests rather than one per tile.
   */
  async blocks(
    bucket: TileBucket,
    raster: RasterGrid & { key: string; bytes: number },
    band: number,
    wanted: readonly (readonly [number, number])[],
  ): Promise<Block[]> {
    const { tiles, image, source } = await this.open(bucket, raster);
    if (!tiles) return await Promise.all(wanted.map(([bx, by]) => this.block(bucket, raster, band, bx, by)));
    const out: Promise<Block>[] = [];
    const fresh: { id: string; bx: number; by: number; done: (block: Promise<Block>) => void }[] = [];
    for (const [bx, by] of wanted) {
      const id = `${raster.key}|${band}|${bx},${by}`;
      const hit = this.#blocks.get(id);
      if (hit) {
        this.#blocks.delete(id);
        this.#blocks.set(id, hit);
        out.push(Promise.resolve(hit));
        continue;
      }
      // Partitions of one isolate ask for the same block at once: one read serves them all.
      const pending = this.#pending.get(id);
      if (pending) {
        out.push(pending);
        continue;
      }
      let done!: (block: Promise<Block>) => void;
      const block = new Promise<Block>((resolve) => (done = resolve));
      this.#pending.set(id, block);
      block.finally(() => this.#pending.delete(id)).catch(() => {});
      out.push(block);
      fresh.push({ id, bx, by, done });
    }
    const missing: { id: string; offset: number; length: number; done: (block: Promise<Block>) => void }[] = [];
    for (const [k, { id, bx, by, done }] of fresh.entries()) {
      const index = (image.planarConfiguration === 2 ? band * tiles.across * tiles.down : 0) + by * tiles.across + bx;
      let offset, length;
      try {
        [offset, length] = await Promise.all([
          image.fileDirectory.loadValueIndexed("TileOffsets", index),
          image.fileDirectory.loadValueIndexed("TileByteCounts", index),
        ]);
      } catch (error) {
        for (const other of fresh.slice(k)) other.done(Promise.reject(error));
        for (const other of missing) other.done(Promise.reject(error));
        throw error;
      }
      // A sparse tile (no bytes: all nodata) is left to geotiff.js, which fills it.
      if (Number(length)) missing.push({ id, offset: Number(offset), length: Number(length), done });
      else done(this.#read(bucket, raster, band, bx, by, id));
    }
    missing.sort((a, b) => a.offset - b.offset);
    const runs: (typeof missing)[] = [];
    for (const tile of missing) {
      const run = runs.at(-1);
      const first = run?.[0], last = run?.at(-1);
      if (
        first && last && tile.offset >= last.offset + last.length &&
        tile.offset - (last.offset + last.length) <= MAX_GAP_BYTES &&
        tile.offset + tile.length - first.offset <= MAX_RUN_BYTES
      ) run!.push(tile);
      else runs.push([tile]);
    }
    for (const run of runs) {
      const from = run[0]!.offset, to = run.at(-1)!.offset + run.at(-1)!.length;
      const bytes = source.range(from, to - from);
      for (const tile of run) {
        tile.done(bytes.then(async (raw) => {
          const encoded = raw.slice(tile.offset - from, tile.offset - from + tile.length).buffer;
          const values = tiles.arrays[band]!(await tiles.decoder.decode(encoded) as ArrayBuffer);
          return this.#keep(tile.id, { values, width: tiles.width, height: tiles.height, bytes: values.byteLength });
        }));
      }
    }
    return await Promise.all(out);
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
      pending = this.#read(bucket, raster, band, bx, by, id);
      pending.finally(() => this.#pending.delete(id)).catch(() => {});
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
    return this.#keep(id, { values: values!, width: x1 - x0, height: y1 - y0, bytes: values!.byteLength });
  }

  #keep(id: string, block: Block & { bytes: number }): Block {
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
