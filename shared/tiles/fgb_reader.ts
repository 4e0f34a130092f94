/**
 * FlatGeobuf tiles in R2: {@link FgbRangeReader} with its reads backed by ranged `bucket.get`s.
 *
 * @module
 */
import { TileNotFoundError } from "./errors.ts";
import { FgbRangeReader, type RangeReaderOptions } from "./fgb_range_reader.ts";

/** The part of an R2 object body the reader uses (structurally an `R2ObjectBody`). */
export interface TileObjectBody {
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The part of a Workers `R2Bucket` the tile layer uses; a real `R2Bucket` satisfies it. */
export interface TileBucket {
  head(key: string): Promise<{ readonly size: number } | null>;
  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<TileObjectBody | null>;
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView | string,
    options?: { httpMetadata?: { contentType?: string }; customMetadata?: Record<string, string> },
  ): Promise<unknown>;
}

export interface TileReaderOptions extends RangeReaderOptions {
  /** The object size when already known (the manifest's `bytes`): saves the HEAD request. */
  size?: number;
}

/**
 * Opens FlatGeobuf tiles in R2 for bbox searches.
 *
 * @example
 * ```ts
 * const reader = await R2TileReader.open(env.TILES, entry.key, { size: entry.bytes });
 * for await (const feature of reader.search([-74.1, 40.6, -73.9, 40.8])) use(feature);
 * ```
 */
export const R2TileReader = {
  /**
   * One HEAD (skipped with `options.size`), then either one GET of the whole object or one ranged GET
   * of its first bytes; the reader's `stats` count the HEAD too.
   *
   * @throws {TileNotFoundError} when the key has no object.
   * @throws {FlatGeobufFormatError} when the object is not FlatGeobuf.
   */
  async open(bucket: TileBucket, key: string, options: TileReaderOptions = {}): Promise<FgbRangeReader> {
    let size = options.size;
    if (size === undefined) {
      const head = await bucket.head(key);
      if (!head) throw new TileNotFoundError(key);
      size = head.size;
    }
    const reader = await FgbRangeReader.open(key, size, async (range) => {
      const object = await bucket.get(key, range ? { range } : undefined);
      return object ? new Uint8Array(await object.arrayBuffer()) : null;
    }, options);
    if (options.size === undefined) reader.stats.requests++;
    return reader;
  },
};
