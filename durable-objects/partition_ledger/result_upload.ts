/**
 * Where a result's encoded bytes go: one R2 object, written as a single PUT
 * or an R2 multipart upload of equal chunks, optionally gzip-compressed on
 * the way. R2 has no rename: the object is written under its final key and
 * the ledger's pointer is the commit. A result small enough is not written at
 * all: its bytes go into the job's record, the commit itself.
 */
import { Buffer } from "node:buffer";
import { createGzip, gzipSync } from "node:zlib";

/** Where encoded result bytes go. */
export interface ResultSink {
  /** Bytes written so far (before any compression). */
  readonly bytesIn: number;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<StoredResult>;
  abort(): Promise<void>;
}

/** The stored bytes: their strong ETag and size, and the bytes themselves when they were not written to R2. */
export interface StoredResult {
  etag: string;
  size: number;
  inline?: Uint8Array;
}

/**
 * Input up to this size is compressed in one synchronous call when the sink closes: a gzip stream cost the isolate
 * ~1 ms even for an empty result (its setup and the message-loop turns of its callbacks; bench:submit), and most
 * results of small jobs are far below it.
 */
const ONE_CALL_BYTES = 256 * 1024;

/**
 * Gzip in front of an upload, one gzip member (any decoder reads it). Level
 * 1: on GeoJSON ~6× smaller at ~5× the speed of the default level, which
 * costs more CPU than the bytes it saves writing. A small result is
 * compressed whole at close ({@link ONE_CALL_BYTES}); a larger one streams.
 */
export class GzipSink implements ResultSink {
  bytesIn = 0;
  /** The input while it is at most {@link ONE_CALL_BYTES}. */
  #held: Uint8Array[] = [];
  #stream: GzipStream | undefined;

  constructor(readonly upload: ChunkedUpload) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!bytes.length) return;
    this.bytesIn += bytes.length;
    if (this.#stream) return await this.#stream.write(bytes);
    this.#held.push(bytes);
    if (this.bytesIn <= ONE_CALL_BYTES) return;
    this.#stream = new GzipStream(this.upload);
    for (const held of this.#held.splice(0)) await this.#stream.write(held);
  }

  async close(): Promise<StoredResult> {
    if (this.#stream) await this.#stream.end();
    else await this.upload.write(gzipSync(Buffer.concat(this.#held), { level: 1 }));
    return await this.upload.close();
  }

  async abort(): Promise<void> {
    await this.#stream?.destroy();
    await this.upload.abort();
  }
}

/** Streaming gzip into an upload. */
class GzipStream {
  /** The default 16 KiB output pieces: with 1 MiB pieces workerd's message loop hung now and then (README). */
  readonly #gzip = createGzip({ level: 1 });
  /** Every compressed chunk so far handed to the upload, in order. */
  #uploaded: Promise<void> = Promise.resolve();
  readonly #ended: Promise<void>;

  constructor(upload: ChunkedUpload) {
    this.#ended = new Promise((resolve, reject) => {
      this.#gzip.on("end", resolve);
      this.#gzip.on("error", reject);
    });
    this.#ended.catch(() => {}); // awaited by end; not an unhandled rejection meanwhile
    this.#gzip.on("data", (chunk: Uint8Array) => {
      this.#uploaded = this.#uploaded.then(() => upload.write(chunk));
      this.#uploaded.catch(() => {});
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.#gzip.write(bytes, (error) => (error ? reject(error) : resolve()))
    );
    await this.#uploaded;
  }

  /** Flushes the last compressed bytes into the upload. */
  async end(): Promise<void> {
    this.#gzip.end();
    await this.#ended;
    await this.#uploaded;
  }

  async destroy(): Promise<void> {
    this.#gzip.destroy();
    await this.#uploaded.catch(() => {});
  }
}

/**
 * Bytes to one R2 object: a single PUT when they fit one chunk, else a
 * multipart upload of equal chunks (the last shorter), started when the
 * first chunk fills. One chunk uploads while the next is encoded. At most
 * `inlineBytes` in all are kept, not written: a small job's result costs no
 * R2 write (locally the emulation's commit, a file and a rename; deployed a
 * round trip before the job completes).
 */
export class ChunkedUpload implements ResultSink {
  bytesIn = 0;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #upload: Promise<R2MultipartUpload> | undefined;
  #uploaded: Promise<R2UploadedPart>[] = [];

  constructor(
    readonly bucket: R2Bucket,
    readonly key: string,
    readonly chunkBytes: number,
    readonly options: R2MultipartOptions,
    readonly inlineBytes = 0,
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!bytes.length) return;
    this.bytesIn += bytes.length;
    this.#buffered.push(bytes);
    this.#bufferedBytes += bytes.length;
    while (this.#bufferedBytes >= this.chunkBytes) await this.#send(this.#takeChunk(this.chunkBytes));
  }

  async close(): Promise<StoredResult> {
    const rest = this.#takeChunk(this.#bufferedBytes);
    if (!this.#upload && rest.length <= this.inlineBytes) {
      return { etag: await contentEtag(rest), size: rest.length, inline: rest };
    }
    if (!this.#upload) {
      const object = await this.bucket.put(this.key, rest, this.options);
      if (!object) throw new Error(`R2 refused the result object "${this.key}"`);
      return { etag: object.httpEtag, size: object.size };
    }
    if (rest.length) await this.#send(rest);
    const object = await (await this.#upload).complete(await Promise.all(this.#uploaded));
    return { etag: object.httpEtag, size: object.size };
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.#uploaded);
    await (await this.#upload?.catch(() => undefined))?.abort().catch(() => {});
  }

  /** Starts the chunk's upload once the one before it has finished (at most one in flight). */
  async #send(chunk: Uint8Array): Promise<void> {
    this.#upload ??= this.bucket.createMultipartUpload(this.key, this.options);
    await this.#uploaded.at(-1);
    const upload = await this.#upload;
    const part = upload.uploadPart(this.#uploaded.length + 1, chunk);
    part.catch(() => {}); // awaited later (next chunk, close or abort); not an unhandled rejection meanwhile
    this.#uploaded.push(part);
  }

  #takeChunk(size: number): Uint8Array<ArrayBuffer> {
    const chunk = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const head = this.#buffered[0]!;
      const n = Math.min(head.length, size - at);
      chunk.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.#buffered.shift();
      else this.#buffered[0] = head.subarray(n);
    }
    this.#bufferedBytes -= size;
    return chunk;
  }
}

/** A strong ETag of bytes kept without an object (R2's own is the MD5 of a single PUT's bytes; this, SHA-256's). */
async function contentEtag(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `"${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}
