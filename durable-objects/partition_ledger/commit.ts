/**
 * Merge and commit. Each partition left its share as sorted part objects
 * (part_codec.ts) under the job's staging prefix; the home partition merges
 * them in (left_id, right_id) order into one immutable result object under a
 * key of its own, and only then does the ledger record it (the caller makes
 * that transition). R2 has no rename: the "swap" is that pointer in the ledger.
 *
 * The merge streams: it holds one part object per partition and one output
 * chunk, whatever the result's size (a result over one chunk goes up as an R2
 * multipart upload of equal chunks).
 */
import {
  columnTypeOfBits,
  geometryTypeOfKinds,
  ResultFlatGeobufWriter,
  type WrittenColumn,
} from "../../shared/tiles/fgb_writer.ts";
import { createGzip } from "node:zlib";
import { ColumnType } from "flatgeobuf/lib/mjs/flat-geobuf/column-type.js";
import type { FeatureId } from "../../wasm/flat_geometry.ts";
import { resultKey } from "../../shared/r2_keys.ts";
import { FACT_NAMES, kindsOf, PartReader } from "./part_codec.ts";
import { RowHeap } from "./result_order.ts";
import type { JobRecord, JobResult } from "../../shared/job_record.ts";

export interface PartSummary {
  cell: string;
  part_keys: string[];
  feature_count: number;
  stats: Record<string, number>;
}

/** Size of every uploaded chunk but the last (R2 multipart parts must be equal, ≥ 5 MiB). */
export const RESULT_CHUNK_BYTES = 8 * 2 ** 20;
const MIN_CHUNK_BYTES = 5 * 2 ** 20;

export async function mergeAndCommit(
  bucket: R2Bucket,
  job: JobRecord,
  parts: PartSummary[],
  chunkBytes = RESULT_CHUNK_BYTES,
  /** gzip the GeoJSON text (off only to rewrite a result committed before results were stored compressed). */
  gzipGeoJson = true,
  /** Called between the commit's awaits (part fetches, chunk uploads): a heartbeat; throwing aborts the commit. */
  heartbeat: () => void = () => {},
): Promise<{ result: JobResult; stats: Record<string, unknown> }> {
  chunkBytes = Math.max(MIN_CHUNK_BYTES, chunkBytes);
  const started = Date.now();
  const format = job.spec.output_format;
  const key = resultKey(job.job_id, job.attempts, format);
  const count = parts.reduce((n, p) => n + p.feature_count, 0);
  // GeoJSON text is stored gzip-compressed (~6× smaller, fewer bytes to write and to send); FlatGeobuf as is.
  const encoding = format === "geojson" && gzipGeoJson ? "gzip" : undefined;
  const upload = new ChunkedUpload(bucket, key, chunkBytes, {
    httpMetadata: {
      contentType: format === "geojson" ? "application/geo+json" : "application/flatgeobuf",
      ...(encoding ? { contentEncoding: encoding } : {}),
    },
    customMetadata: { job_id: job.job_id, attempt: String(job.attempts), trace_id: job.spec.trace_id },
  });
  const sink = encoding ? new GzipSink(upload) : upload;
  const encoder = format === "geojson"
    ? new GeoJsonEncoder()
    : new FlatGeobufEncoder(parts, count, job.spec.operation === "polygon_intersection");
  let written = 0;
  try {
    await sink.write(encoder.start());
    const merge = await PartMerge.open(bucket, parts);
    for (;;) {
      const row = merge.next();
      if (!row) {
        if (merge.done) break;
        await merge.fetch();
        heartbeat();
        continue;
      }
      encoder.add(row, ++written);
      if (encoder.pending >= chunkBytes) {
        await sink.write(encoder.take());
        heartbeat();
      }
    }
    if (written !== count) throw new Error(`Staged parts hold ${written} rows, their reports ${count}`);
    await sink.write(encoder.end());
    const object = await sink.close();
    const bytes = sink.bytesIn;
    return {
      result: {
        key,
        format,
        feature_count: written,
        bytes,
        etag: object.httpEtag,
        ...(encoding ? { encoding, stored_bytes: object.size } : {}),
      },
      stats: aggregateStats(parts, written, { commit: Date.now() - started }),
    };
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/**
 * Every partition's rows in (left_id, right_id) order: a k-way merge over a
 * heap of part cursors. Synchronous but where a part object must be fetched:
 * an await per row would cost more than the row's encoding.
 */
class PartMerge {
  readonly #heap: RowHeap<PartCursor>;
  /** The top cursor's row was handed out: move it on before the next. */
  #handedOut = false;
  #mustFetch = false;

  private constructor(cursors: PartCursor[]) {
    this.#heap = new RowHeap(cursors);
  }

  static async open(bucket: R2Bucket, parts: PartSummary[]): Promise<PartMerge> {
    const cursors = await Promise.all(parts.map((part) => PartCursor.open(bucket, part.part_keys)));
    return new PartMerge(cursors.filter((c): c is PartCursor => c !== null));
  }

  /** The cursor standing on the next row (valid until the next call), or null: then {@link done} or {@link fetch}. */
  next(): PartReader | null {
    if (this.#mustFetch) return null;
    if (this.#handedOut) {
      this.#handedOut = false;
      const top = this.#heap.top();
      if (top.reader.advance()) this.#heap.replaceTop();
      else if (top.morePartsToRead) {
        this.#mustFetch = true;
        return null;
      } else this.#heap.pop();
    }
    if (!this.#heap.size) return null;
    this.#handedOut = true;
    return this.#heap.top().reader;
  }

  get done(): boolean {
    return !this.#mustFetch && !this.#heap.size;
  }

  /** Reads the next part object of the cursor whose part ran out. */
  async fetch(): Promise<void> {
    this.#mustFetch = false;
    if (await this.#heap.top().nextPart()) this.#heap.replaceTop();
    else this.#heap.pop();
  }
}

/** One partition's rows: its part objects in order, one in memory at a time. */
class PartCursor {
  reader!: PartReader;
  #next = 0;

  private constructor(readonly bucket: R2Bucket, readonly keys: string[]) {}

  static async open(bucket: R2Bucket, keys: string[]): Promise<PartCursor | null> {
    const cursor = new PartCursor(bucket, keys);
    return (await cursor.nextPart()) ? cursor : null;
  }

  get morePartsToRead(): boolean {
    return this.#next < this.keys.length;
  }

  get l(): FeatureId {
    return this.reader.l;
  }

  get r(): FeatureId {
    return this.reader.r;
  }

  /** Moves to the first row of the next part that has one; false after the last part. */
  async nextPart(): Promise<boolean> {
    for (;;) {
      const key = this.keys[this.#next++];
      if (key === undefined) return false;
      const object = await this.bucket.get(key);
      if (!object) throw new Error(`Staged part "${key}" is missing`);
      this.reader = new PartReader(new Uint8Array(await object.arrayBuffer()));
      if (this.reader.advance()) return true;
    }
  }
}

interface ResultEncoder {
  start(): Uint8Array;
  /** Encodes the row the part cursor stands on as row number `n` (1-based). */
  add(part: PartReader, n: number): void;
  readonly pending: number;
  take(): Uint8Array;
  end(): Uint8Array;
}

const utf8 = new TextEncoder();

class GeoJsonEncoder implements ResultEncoder {
  /** The chunk's text so far: appended to (V8 joins the pieces once, when it is encoded), not kept as an array. */
  #text = "";
  /** The last left id and the feature's text up to its right id: rows come sorted by left id, so it repeats. */
  #left: FeatureId | undefined;
  #head = "";

  start(): Uint8Array {
    return utf8.encode('{"type":"FeatureCollection","features":[');
  }

  add(part: PartReader, n: number): void {
    if (part.l !== this.#left) {
      this.#left = part.l;
      this.#head = `{"type":"Feature","properties":{"left_id":${JSON.stringify(part.l)},"right_id":`;
    }
    const right = typeof part.r === "number" ? part.r : JSON.stringify(part.r);
    this.#text += `${
      n > 1 ? "," : ""
    }${this.#head}${right}${part.propertiesText()}},"geometry":${part.geometryText()}}`;
  }

  /** Characters, an estimate of bytes (the text is ASCII but for string ids). */
  get pending(): number {
    return this.#text.length;
  }

  take(): Uint8Array {
    const bytes = utf8.encode(this.#text);
    this.#text = "";
    return bytes;
  }

  end(): Uint8Array {
    this.#text += "]}";
    return this.take();
  }
}

/**
 * FlatGeobuf without an index (an index would reorder the features); the row
 * number is the feature id. The schema comes from the facts each slice
 * recorded of its rows, so the header can be written first.
 */
class FlatGeobufEncoder implements ResultEncoder {
  readonly #writer: ResultFlatGeobufWriter;

  constructor(parts: PartSummary[], count: number, withArea: boolean) {
    const facts = Object.fromEntries(
      FACT_NAMES.map((name) => [name, parts.reduce((bits, p) => bits | (p.stats[name] ?? 0), 0)]),
    ) as Record<typeof FACT_NAMES[number], number>;
    const columns: WrittenColumn[] = [
      { name: "id", type: ColumnType.Long },
      { name: "left_id", type: columnTypeOfBits(facts.left_id_classes) },
      { name: "right_id", type: columnTypeOfBits(facts.right_id_classes) },
    ];
    if (withArea) {
      columns.push({ name: "area", type: ColumnType.Double }, { name: "area_m2", type: ColumnType.Double });
    }
    this.#writer = new ResultFlatGeobufWriter({
      columns,
      count,
      geometryType: geometryTypeOfKinds(kindsOf(facts.geometry_kinds)),
    });
  }

  start(): Uint8Array {
    return this.#writer.header();
  }

  add(part: PartReader, n: number): void {
    this.#writer.add({
      id: n,
      geometry: part.geometry(),
      properties: { left_id: part.l, right_id: part.r, ...part.properties() },
    });
  }

  get pending(): number {
    return this.#writer.pending;
  }

  take(): Uint8Array {
    return this.#writer.take();
  }

  end(): Uint8Array {
    return this.take();
  }
}

/** Where encoded result bytes go. */
interface ResultSink {
  /** Bytes written so far (before any compression). */
  readonly bytesIn: number;
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<R2Object>;
  abort(): Promise<void>;
}

/**
 * Gzip in front of an upload, one gzip member (any decoder reads it). Level
 * 1: on GeoJSON ~6× smaller at ~5× the speed of the default level, which
 * costs more CPU than the bytes it saves writing.
 */
class GzipSink implements ResultSink {
  bytesIn = 0;
  /** The default 16 KiB output pieces: with 1 MiB pieces workerd's message loop hung now and then (README). */
  readonly #gzip = createGzip({ level: 1 });
  /** Every compressed chunk so far handed to the upload, in order. */
  #uploaded: Promise<void> = Promise.resolve();
  readonly #ended: Promise<void>;

  constructor(readonly upload: ChunkedUpload) {
    this.#ended = new Promise((resolve, reject) => {
      this.#gzip.on("end", resolve);
      this.#gzip.on("error", reject);
    });
    this.#ended.catch(() => {}); // awaited by close; not an unhandled rejection meanwhile
    this.#gzip.on("data", (chunk: Uint8Array) => {
      this.#uploaded = this.#uploaded.then(() => upload.write(chunk));
      this.#uploaded.catch(() => {});
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!bytes.length) return;
    this.bytesIn += bytes.length;
    await new Promise<void>((resolve, reject) =>
      this.#gzip.write(bytes, (error) => (error ? reject(error) : resolve()))
    );
    await this.#uploaded;
  }

  async close(): Promise<R2Object> {
    this.#gzip.end();
    await this.#ended;
    await this.#uploaded;
    return await this.upload.close();
  }

  async abort(): Promise<void> {
    this.#gzip.destroy();
    await this.#uploaded.catch(() => {});
    await this.upload.abort();
  }
}

/**
 * Bytes to one R2 object: a single PUT when they fit one chunk, else a
 * multipart upload of equal chunks (the last shorter), started when the
 * first chunk fills. One chunk uploads while the next is encoded.
 */
class ChunkedUpload implements ResultSink {
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
  ) {}

  async write(bytes: Uint8Array): Promise<void> {
    if (!bytes.length) return;
    this.bytesIn += bytes.length;
    this.#buffered.push(bytes);
    this.#bufferedBytes += bytes.length;
    while (this.#bufferedBytes >= this.chunkBytes) await this.#send(this.#takeChunk(this.chunkBytes));
  }

  async close(): Promise<R2Object> {
    const rest = this.#takeChunk(this.#bufferedBytes);
    if (!this.#upload) {
      const object = await this.bucket.put(this.key, rest, this.options);
      if (!object) throw new Error(`R2 refused the result object "${this.key}"`);
      return object;
    }
    if (rest.length) await this.#send(rest);
    return await (await this.#upload).complete(await Promise.all(this.#uploaded));
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

  #takeChunk(size: number): Uint8Array {
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

function aggregateStats(parts: PartSummary[], pairs: number, phaseMs: Record<string, number>): Record<string, unknown> {
  const sum = (name: string) => parts.reduce((n, p) => n + (p.stats[name] ?? 0), 0);
  return {
    partitions: parts.length,
    candidates_after_bbox: sum("candidates"),
    exact_tests: sum("exact_tests"),
    pairs,
    /** The largest WASM heap a partition's isolate had after a slice of this job (it never shrinks). */
    geos_heap_peak_bytes: Math.max(0, ...parts.map((p) => p.stats.geos_heap_bytes ?? 0)),
    ms: {
      read: sum("read_ms"),
      index: sum("index_ms"),
      compute: sum("compute_ms"),
      write: sum("write_ms"),
      ...phaseMs,
    },
  };
}
