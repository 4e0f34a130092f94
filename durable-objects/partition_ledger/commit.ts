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
import { toBase64 } from "../../shared/base64.ts";
import { resultKey } from "../../shared/r2_keys.ts";
import { RESULT_FORMATS } from "../../shared/result_formats.ts";
import type { JobRecord, JobResult } from "../../shared/job_record.ts";
import type { ResultRow } from "../../shared/job_spec.ts";
import type { Operation } from "../../operations/operation.ts";
import { jobOperation } from "./executor.ts";
import { PartMerge, type PartSummary } from "./part_merge.ts";
import { PartReader } from "./part_codec.ts";
import { ReprojectedRow, resultEncoder, RowObjectView, type RowView } from "./result_encoders.ts";
import { ChunkedUpload, GzipSink } from "./result_upload.ts";

export type { PartSummary };

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
  /** A result whose stored bytes total at most this is returned inline, not written to R2. */
  inlineBytes = 0,
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
      contentType: RESULT_FORMATS[format].mediaType,
      ...(encoding ? { contentEncoding: encoding } : {}),
    },
    customMetadata: { job_id: job.job_id, attempt: String(job.attempts), trace_id: job.spec.trace_id },
  }, inlineBytes);
  const sink = encoding ? new GzipSink(upload) : upload;
  const operation = jobOperation(job.spec.operation);
  // Partial aggregates (one per partition a left feature spans) fold into one row each: their count shows only
  // once folded, and a FlatGeobuf header then says "unknown".
  const crs = job.spec.output_crs;
  const epsg = crs ? Number(crs.slice("EPSG:".length)) : 4326;
  const encoder = resultEncoder(format, operation.schema(job.spec), parts, operation.combine ? 0 : count, epsg);
  let written = 0;
  try {
    await sink.write(encoder.start());
    const merge = await PartMerge.open(bucket, parts);
    const rows = operation.combine ? new FoldedRows(operation) : null;
    // No await per row (it would cost more than the row's encoding): only when a chunk is full.
    const chunkFull = (row: RowView) => {
      encoder.add(crs ? new ReprojectedRow(row, crs) : row, ++written);
      return encoder.pending >= chunkBytes;
    };
    for (;;) {
      const row = merge.next();
      if (!row) {
        if (merge.done) break;
        await merge.fetch();
        heartbeat();
        continue;
      }
      const folded = rows ? rows.push(row.row()) : row;
      if (folded && chunkFull(folded instanceof PartReader ? folded : new RowObjectView(folded as ResultRow))) {
        await sink.write(encoder.take());
        heartbeat();
      }
    }
    const last = rows?.flush();
    if (last) chunkFull(new RowObjectView(last));
    if (!rows && written !== count) throw new Error(`Staged parts hold ${written} rows, their reports ${count}`);
    await sink.write(encoder.end());
    const stored = await sink.close();
    const bytes = sink.bytesIn;
    return {
      result: {
        key,
        format,
        feature_count: written,
        bytes,
        etag: stored.etag,
        ...(encoding ? { encoding, stored_bytes: stored.size } : {}),
        ...(stored.inline ? { inline: toBase64(stored.inline) } : {}),
      },
      stats: aggregateStats(parts, written, { commit: Date.now() - started }),
    };
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/** Rows in key order, folded by the operation's `combine` while the key repeats, then `finalize`d. */
class FoldedRows {
  #current: ResultRow | null = null;

  constructor(readonly operation: Operation) {}

  /** Takes the next row; returns the previous key's finished row when the key changes. */
  push(row: ResultRow): ResultRow | null {
    const current = this.#current;
    if (current && current.l === row.l && current.r === row.r) {
      this.#current = this.operation.combine!(current, row);
      return null;
    }
    this.#current = row;
    return current ? this.#finish(current) : null;
  }

  flush(): ResultRow | null {
    const current = this.#current;
    this.#current = null;
    return current ? this.#finish(current) : null;
  }

  #finish(row: ResultRow): ResultRow {
    return this.operation.finalize ? this.operation.finalize(row) : row;
  }
}

function aggregateStats(parts: PartSummary[], pairs: number, phaseMs: Record<string, number>): Record<string, unknown> {
  const sum = (name: string) => parts.reduce((n, p) => n + (p.stats[name] ?? 0), 0);
  const zonalLeased = Math.max(0, ...parts.map((p) => p.stats.zonal_lease_heap_bytes ?? 0));
  const partitionMs = (p: PartSummary) =>
    (p.stats.read_ms ?? 0) + (p.stats.index_ms ?? 0) + (p.stats.compute_ms ?? 0) + (p.stats.write_ms ?? 0);
  const slowest = parts.reduce<PartSummary | undefined>(
    (a, p) => (a && partitionMs(a) >= partitionMs(p) ? a : p),
    undefined,
  );
  return {
    partitions: parts.length,
    candidates_after_bbox: sum("candidates"),
    exact_tests: sum("exact_tests"),
    pairs,
    /** The largest WASM heap a partition's isolate had after a slice of this job (it never shrinks). */
    geos_heap_peak_bytes: Math.max(0, ...parts.map((p) => p.stats.geos_heap_bytes ?? 0)),
    /** The most bytes zonal slices leased at once in a partition's isolate since it started (shared/memory_budget.ts). */
    ...(zonalLeased ? { zonal_lease_peak_bytes: zonalLeased } : {}),
    partition_work: distribution(parts.map((p) => p.stats.work ?? 0)),
    /** Partitions run concurrently: the job's compute takes at least its slowest partition's time. */
    critical_path_ms: Math.max(0, ...parts.map(partitionMs)),
    critical_partition: slowest && {
      work: slowest.stats.work ?? 0,
      read_ms: slowest.stats.read_ms ?? 0,
      index_ms: slowest.stats.index_ms ?? 0,
      compute_ms: slowest.stats.compute_ms ?? 0,
      write_ms: slowest.stats.write_ms ?? 0,
    },
    ms: {
      read: sum("read_ms"),
      index: sum("index_ms"),
      compute: sum("compute_ms"),
      write: sum("write_ms"),
      ...phaseMs,
    },
  };
}

/** Max, median and 95th percentile (nearest rank) of the values, 0 for none. */
function distribution(values: number[]): { max: number; median: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : 0;
  return { max: sorted.at(-1) ?? 0, median: rank(0.5), p95: rank(0.95) };
}
