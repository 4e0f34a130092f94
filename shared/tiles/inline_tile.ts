/**
 * Tiles carried inside a job's spec instead of R2: a small payload's tiles
 * (below `INLINE_PAYLOAD_BYTES`) travel base64-encoded with the job, so a
 * submit writes no object and its partitions read none. Read through the same
 * {@link R2TileReader} as R2 tiles, from a read-only in-memory bucket.
 */
import type { TileBucket } from "./fgb_reader.ts";
import { fromBase64 } from "../base64.ts";

/** A bucket holding one object, `bytes`, under any key: what {@link R2TileReader.open} reads an inline tile from. */
export function inlineTileBucket(base64: string): TileBucket {
  const bytes = fromBase64(base64);
  return {
    head: () => Promise.resolve({ size: bytes.length }),
    get: (_key, options) => {
      const { offset = 0, length = bytes.length - offset } = options?.range ?? {};
      const slice = bytes.slice(offset, offset + length);
      return Promise.resolve({ size: slice.length, arrayBuffer: () => Promise.resolve(slice.buffer) });
    },
    put: () => Promise.reject(new Error("an inline tile is read-only")),
  };
}
