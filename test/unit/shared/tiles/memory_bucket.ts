/** An in-memory stand-in for an R2 bucket with ranged gets (the subset `TileBucket` needs). */
import type { TileBucket, TileObjectBody } from "../../../../shared/tiles/fgb_reader.ts";

export class MemoryBucket implements TileBucket {
  readonly objects = new Map<string, Uint8Array>();

  head(key: string): Promise<{ size: number } | null> {
    const bytes = this.objects.get(key);
    return Promise.resolve(bytes ? { size: bytes.length } : null);
  }

  get(key: string, options?: { range?: { offset: number; length: number } }): Promise<TileObjectBody | null> {
    const bytes = this.objects.get(key);
    if (!bytes) return Promise.resolve(null);
    const { offset = 0, length = bytes.length - offset } = options?.range ?? {};
    if (offset < 0 || offset + length > bytes.length) {
      throw new RangeError(`range ${offset}+${length} > ${bytes.length}`);
    }
    const slice = bytes.slice(offset, offset + length);
    return Promise.resolve({ size: bytes.length, arrayBuffer: () => Promise.resolve(slice.buffer) });
  }

  put(key: string, value: ArrayBuffer | ArrayBufferView | string): Promise<unknown> {
    const bytes = typeof value === "string"
      ? new TextEncoder().encode(value)
      : value instanceof ArrayBuffer
      ? new Uint8Array(value.slice(0))
      : new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    this.objects.set(key, bytes);
    return Promise.resolve({ key, size: bytes.length });
  }
}
