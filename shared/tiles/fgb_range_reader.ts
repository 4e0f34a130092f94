/**
 * Searches one FlatGeobuf file by bbox through injected reads, as flatgeobuf's generic readers do:
 * this module knows nothing of where the bytes live (R2, memory), only how to ask for ranges of them.
 * Small files are read whole once; larger ones in ranges: the header (with the upper index levels),
 * the index nodes flatgeobuf's own `streamSearch` asks for, then the matching features, nearby
 * ranges batched into one read.
 *
 * @module
 */
import * as flatbuffers from "flatbuffers";
import { magicbytes, SIZE_PREFIX_LEN } from "flatgeobuf/lib/mjs/constants.js";
import { GeometryType } from "flatgeobuf/lib/mjs/flat-geobuf/geometry-type.js";
import { NODE_ITEM_BYTE_LEN, streamSearch } from "flatgeobuf/lib/mjs/packedrtree.js";
import { FlatGeobufFormatError, TileNotFoundError } from "./errors.ts";
import { bboxesIntersect, geometryBbox } from "./geometry_bbox.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";
import type { StoredFeature } from "./fgb_writer.ts";
import { ID_COLUMN } from "./stored_columns.ts";
import { type FgbHeader, type FgbLayout, readLayout } from "./fgb_header.ts";
import { decodeFeatureSection, decodePointSection, FeatureDecoder, type PointColumns } from "./fgb_features.ts";

/** Reads the whole object (no range) or exactly `length` bytes at `offset`; `null` when there is no object. */
export type ReadBytes = (range?: { offset: number; length: number }) => Promise<Uint8Array | null>;

export interface RangeReaderOptions {
  /** Objects up to this size are read whole once and searched in memory (default 512 KiB). */
  wholeObjectThreshold?: number;
  /** First ranged read: header plus the upper index levels (default 32 KiB). */
  prefetchBytes?: number;
  /** Feature ranges closer than this are fetched in one request (default 16 KiB). */
  mergeGapBytes?: number;
  /** Upper bound of one batched feature request (default 4 MiB). */
  maxBatchBytes?: number;
  /** Property holding the feature id (default `"id"`). Tiles are ours: their column names are read as stored_columns.ts says. */
  idColumn?: string;
}

/** What a reader fetched: requests issued and body bytes received. */
export interface TileReadStats {
  requests: number;
  bytesRead: number;
}

/**
 * One FlatGeobuf file searched by bbox with reads of `size` bytes injected as {@link ReadBytes}.
 *
 * @example
 * ```ts
 * const reader = await FgbRangeReader.open(key, bytes.length, (r) => Promise.resolve(r ? bytes.slice(r.offset, r.offset + r.length) : bytes));
 * const features = await reader.collect([-74.1, 40.6, -73.9, 40.8]);
 * ```
 */
export class FgbRangeReader {
  readonly stats: TileReadStats = { requests: 0, bytesRead: 0 };
  #layout!: FgbLayout;
  /** Bytes from offset 0 held in memory: the whole object, or the prefetched head of it. */
  #head: Uint8Array = new Uint8Array(0);
  #decoder!: FeatureDecoder;

  private constructor(
    readonly key: string,
    readonly size: number,
    readonly mode: "whole" | "ranged",
    readonly options: Required<RangeReaderOptions>,
    private readonly readBytes: ReadBytes,
  ) {}

  /**
   * Opens a file of `size` bytes named `key` (for messages): one read of the whole object, or one
   * ranged read of its first bytes.
   *
   * @throws {TileNotFoundError} when there is no object.
   * @throws {FlatGeobufFormatError} when the object is not FlatGeobuf.
   */
  static async open(
    key: string,
    size: number,
    readBytes: ReadBytes,
    options: RangeReaderOptions = {},
  ): Promise<FgbRangeReader> {
    const resolved = {
      wholeObjectThreshold: options.wholeObjectThreshold ?? 512 * 1024,
      prefetchBytes: options.prefetchBytes ?? 32 * 1024,
      mergeGapBytes: options.mergeGapBytes ?? 16 * 1024,
      maxBatchBytes: options.maxBatchBytes ?? 4 * 1024 * 1024,
      idColumn: options.idColumn ?? ID_COLUMN,
    };
    const mode = size <= resolved.wholeObjectThreshold ? "whole" : "ranged";
    const reader = new FgbRangeReader(key, size, mode, resolved, readBytes);
    reader.#head = mode === "whole"
      ? await reader.#fetchWhole()
      : await reader.#fetch(0, Math.min(size, resolved.prefetchBytes));
    let layout = readLayout(reader.#head);
    if (!layout) {
      // A header larger than the prefetch: read exactly as much as it says.
      const headerLength = new DataView(reader.#head.buffer, reader.#head.byteOffset).getUint32(8, true);
      const end = magicbytes.length + SIZE_PREFIX_LEN + headerLength;
      if (end > size) throw new FlatGeobufFormatError(`Tile "${key}" is truncated inside its header`);
      const rest = await reader.#fetch(reader.#head.length, end - reader.#head.length);
      const joined = new Uint8Array(end);
      joined.set(reader.#head);
      joined.set(rest, reader.#head.length);
      reader.#head = joined;
      layout = readLayout(joined)!;
    }
    if (layout.featuresOffset > size) throw new FlatGeobufFormatError(`Tile "${key}" is truncated inside its index`);
    reader.#layout = layout;
    reader.#decoder = new FeatureDecoder(
      layout.header,
      { idColumn: resolved.idColumn, missingId: "index", storedColumns: true },
      size,
    );
    return reader;
  }

  get header(): FgbHeader {
    return this.#layout.header;
  }

  /**
   * The features whose bbox intersects `bbox` (closed boxes: touching counts), in file order.
   * An empty tile yields nothing; a tile without an index is read whole and filtered.
   */
  async *search(bbox: Readonly<Bbox>): AsyncGenerator<StoredFeature> {
    const { header, featuresOffset, indexOffset, indexLength } = this.#layout;
    if (header.featuresCount === 0) return;
    if (header.indexNodeSize === 0) {
      for (const feature of await this.#scanAll()) {
        const box = geometryBbox(feature.geometry);
        if (box && bboxesIntersect(box, bbox)) yield feature;
      }
      return;
    }
    const readNode = async (offsetInIndex: number, length: number): Promise<ArrayBuffer> => {
      if (offsetInIndex < 0 || offsetInIndex + length > indexLength) {
        throw new FlatGeobufFormatError(`Tile "${this.key}" has a corrupt index (node range past its end)`);
      }
      const bytes = await this.#read(indexOffset + offsetInIndex, length);
      return bytes.slice().buffer;
    };
    const rect = { minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3] };
    const hits = await collectHits(header.featuresCount, header.indexNodeSize, rect, readNode);
    const dataLength = this.size - featuresOffset;
    for (const batch of batchRanges(hits, dataLength, this.options.mergeGapBytes, this.options.maxBatchBytes)) {
      const bytes = await this.#read(featuresOffset + batch.start, batch.end - batch.start);
      const bb = new flatbuffers.ByteBuffer(bytes);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const hit of batch.hits) {
        const at = hit.offset - batch.start;
        if (at + SIZE_PREFIX_LEN > bytes.length || at + SIZE_PREFIX_LEN + view.getUint32(at, true) > bytes.length) {
          throw new FlatGeobufFormatError(`Tile "${this.key}": feature ${hit.index} runs past its range`);
        }
        yield this.#decoder.decode(bb, at, hit.index);
      }
    }
  }

  /** {@link search}, collected into an array. */
  async collect(bbox: Readonly<Bbox>): Promise<StoredFeature[]> {
    const out: StoredFeature[] = [];
    for await (const feature of this.search(bbox)) out.push(feature);
    return out;
  }

  /** Every feature of the tile, in file order. */
  async all(): Promise<StoredFeature[]> {
    return await this.#scanAll();
  }

  /**
   * Every feature of the tile as point columns, in file order, when it holds Points with no property
   * but the id (a point dataset's tiles); null otherwise (read it with {@link all}).
   */
  async allPoints(): Promise<PointColumns | null> {
    if (!this.#barePoints()) return null;
    const [bytes, offset] = await this.#featureSection();
    return decodePointSection(bytes, offset, this.#decoder);
  }

  /**
   * Features `from` … `to` − 1 in file order (as point columns when the tile holds bare points, as
   * {@link allPoints} does), reading only their bytes: the packed R-tree's leaf nodes hold each
   * feature's offset, so a share of a large tile costs two 8-byte reads and its own features.
   */
  async between(from: number, to: number): Promise<PointColumns | StoredFeature[]> {
    const { header, featuresOffset, indexOffset, indexLength } = this.#layout;
    const count = header.featuresCount;
    from = Math.max(0, Math.min(from, count));
    to = Math.max(from, Math.min(to, count));
    const points = this.#barePoints();
    if (header.indexNodeSize === 0 || (from === 0 && to === count)) {
      // No index to find offsets by (or all of it): the whole section, then the run.
      const [bytes, offset] = await this.#featureSection();
      if (points) {
        const all = decodePointSection(bytes, offset, this.#decoder);
        return { ids: all.ids.slice(from, to), xy: all.xy.slice(2 * from, 2 * to) };
      }
      return decodeFeatureSection(bytes, offset, this.#decoder).slice(from, to);
    }
    const dataLength = this.size - featuresOffset;
    const leafStart = indexLength / NODE_ITEM_BYTE_LEN - count;
    const offsetOf = async (i: number): Promise<number> => {
      if (i === count) return dataLength;
      const node = await this.#read(indexOffset + (leafStart + i) * NODE_ITEM_BYTE_LEN + 32, 8);
      const offset = Number(new DataView(node.buffer, node.byteOffset, 8).getBigUint64(0, true));
      if (offset > dataLength) throw new FlatGeobufFormatError(`Tile "${this.key}": feature ${i} past the data`);
      return offset;
    };
    const [start, end] = await Promise.all([offsetOf(from), offsetOf(to)]);
    if (end < start) throw new FlatGeobufFormatError(`Tile "${this.key}": features ${from}…${to} out of order`);
    const bytes = await this.#read(featuresOffset + start, end - start);
    const run = { first: from, count: to - from };
    return points
      ? decodePointSection(bytes, 0, this.#decoder, run)
      : decodeFeatureSection(bytes, 0, this.#decoder, run);
  }

  /** The tile holds Points with no property but the id: it decodes as columns. */
  #barePoints(): boolean {
    const { header } = this.#layout;
    return header.geometryType === GeometryType.Point &&
      header.columns.every((column) => column.name === this.options.idColumn);
  }

  async #scanAll(): Promise<StoredFeature[]> {
    const [bytes, offset] = await this.#featureSection();
    return decodeFeatureSection(bytes, offset, this.#decoder);
  }

  /** Bytes holding the feature section, and where in them it starts. */
  async #featureSection(): Promise<[Uint8Array, number]> {
    const { featuresOffset } = this.#layout;
    if (this.#head.length >= this.size) return [this.#head, featuresOffset];
    // The feature section alone: a scan has no use for the index (a point tile's index is a third of it).
    const from = Math.max(this.#head.length, featuresOffset);
    const rest = await this.#fetch(from, this.size - from);
    const section = new Uint8Array(this.size - featuresOffset);
    if (from > featuresOffset) section.set(this.#head.subarray(featuresOffset, from));
    section.set(rest, from - featuresOffset);
    return [section, 0];
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    if (offset + length <= this.#head.length) return this.#head.subarray(offset, offset + length);
    if (offset + length > this.size) {
      throw new FlatGeobufFormatError(`Tile "${this.key}" is truncated: needs bytes up to ${offset + length}`);
    }
    return await this.#fetch(offset, length);
  }

  async #fetchWhole(): Promise<Uint8Array> {
    this.stats.requests++;
    const bytes = await this.readBytes();
    if (!bytes) throw new TileNotFoundError(this.key);
    this.stats.bytesRead += bytes.length;
    return bytes;
  }

  async #fetch(offset: number, length: number): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    this.stats.requests++;
    const bytes = await this.readBytes({ offset, length });
    if (!bytes) throw new TileNotFoundError(this.key);
    this.stats.bytesRead += bytes.length;
    if (bytes.length !== length) {
      throw new FlatGeobufFormatError(`Tile "${this.key}": asked ${length} bytes at ${offset}, got ${bytes.length}`);
    }
    return bytes;
  }
}

interface Hit {
  /** Offset of the size-prefixed feature in the features section. */
  offset: number;
  /** Position of the feature in the file. */
  index: number;
  /** Upper bound of its byte length (to the next feature, or to the end of the data). */
  length: number;
}

// flatgeobuf 4.5.0's streamSearch logs every step with console.debug (strings built, then
// printed by Deno and by workerd's log pipe). Silence console.debug while any search runs here.
// (`console` is reached through globalThis: src/'s compiler config does not declare it.)
type DebugFn = (...data: unknown[]) => void;
const host = globalThis as unknown as { console: { debug: DebugFn } };
let quietSearches = 0;
let savedDebug: DebugFn | undefined;

/** Runs flatgeobuf's `streamSearch` to the end and returns the hits sorted by offset. */
async function collectHits(
  count: number,
  nodeSize: number,
  rect: { minX: number; minY: number; maxX: number; maxY: number },
  readNode: (offset: number, length: number) => Promise<ArrayBuffer>,
): Promise<Hit[]> {
  if (quietSearches++ === 0) {
    savedDebug = host.console.debug;
    host.console.debug = () => {};
  }
  const hits: Hit[] = [];
  try {
    for await (const [offset, index, length] of streamSearch(count, nodeSize, rect, readNode)) {
      hits.push({ offset, index, length: length ?? 0 });
    }
  } finally {
    if (--quietSearches === 0) host.console.debug = savedDebug!;
  }
  hits.sort((a, b) => a.offset - b.offset);
  return hits;
}

/** Groups hits into ranges of the data section: neighbours closer than `gap` share one read. */
function batchRanges(
  hits: readonly Hit[],
  dataLength: number,
  gap: number,
  maxBatch: number,
): { start: number; end: number; hits: Hit[] }[] {
  const batches: { start: number; end: number; hits: Hit[] }[] = [];
  for (const hit of hits) {
    if (hit.offset < 0 || hit.offset >= dataLength) {
      throw new FlatGeobufFormatError(`Index points at feature offset ${hit.offset} outside the data`);
    }
    // The last feature (and any whose length streamSearch leaves unknown) runs to the data's end.
    const end = hit.length > 0 ? Math.min(hit.offset + hit.length, dataLength) : dataLength;
    const last = batches[batches.length - 1];
    if (last && hit.offset <= last.end + gap && end - last.start <= maxBatch) {
      last.end = Math.max(last.end, end);
      last.hits.push(hit);
    } else {
      batches.push({ start: hit.offset, end, hits: [hit] });
    }
  }
  return batches;
}
