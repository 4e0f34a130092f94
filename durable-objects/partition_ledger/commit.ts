/**
 * Merge and commit. Each partition left its share as sorted part objects
 * (part_codec.ts) under the job's staging prefix; the home partition merges them in
 * (left_id, right_id) order into one immutable result object under a key of
 * its own, and only then does the ledger record it (the caller makes that
 * transition). R2 has no rename: the "swap" is that pointer in the ledger.
 */
import { serializeResultCollection } from "../../src/tiles/fgb_writer.ts";
import { geoJSONTextFromFlat } from "../../wasm/geojson.ts";
import { decodePart } from "./part_codec.ts";
import { JOB_KEYS, type ResultRow } from "./job_spec.ts";
import { mergeSorted } from "./result_order.ts";
import type { JobRecord, JobResult } from "./ledger.ts";

export interface PartSummary {
  cell: string;
  part_keys: string[];
  feature_count: number;
  stats: Record<string, number>;
}

export async function mergeAndCommit(
  bucket: R2Bucket,
  job: JobRecord,
  parts: PartSummary[],
): Promise<{ result: JobResult; stats: Record<string, unknown> }> {
  const started = Date.now();
  const streams = await Promise.all(parts.map((part) => readPartRows(bucket, part.part_keys)));
  const rows = mergeSorted(streams);
  const mergeMs = Date.now() - started;

  const format = job.spec.output_format;
  const body = format === "geojson" ? encodeGeoJson(rows) : encodeResultFlatGeobuf(rows);
  const key = JOB_KEYS.result(job.job_id, job.attempts, format);
  const object = await bucket.put(key, body, {
    httpMetadata: { contentType: format === "geojson" ? "application/geo+json" : "application/flatgeobuf" },
    customMetadata: { job_id: job.job_id, attempt: String(job.attempts), trace_id: job.spec.trace_id },
  });
  if (!object) throw new Error(`R2 refused the result object "${key}"`);

  return {
    result: { key, format, feature_count: rows.length, bytes: object.size, etag: object.httpEtag },
    stats: aggregateStats(parts, rows.length, { merge: mergeMs, commit: Date.now() - started - mergeMs }),
  };
}

async function readPartRows(bucket: R2Bucket, keys: string[]): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const key of keys) {
    const object = await bucket.get(key);
    if (!object) throw new Error(`Staged part "${key}" is missing`);
    for (const row of decodePart(new Uint8Array(await object.arrayBuffer()))) rows.push(row);
  }
  return rows;
}

/** FlatGeobuf without an index (an index would reorder the features); the row number is the feature id. */
function encodeResultFlatGeobuf(rows: ResultRow[]): Uint8Array {
  return serializeResultCollection(rows.map((row, i) => ({
    id: i + 1,
    geometry: row.g,
    properties: { left_id: row.l, right_id: row.r, ...row.p },
  })));
}

function encodeGeoJson(rows: ResultRow[]): Blob {
  const chunks: string[] = ['{"type":"FeatureCollection","features":['];
  let batch: string[] = [];
  rows.forEach((row, i) => {
    const properties = { left_id: row.l, right_id: row.r, ...row.p };
    batch.push(
      `${i ? "," : ""}{"type":"Feature","properties":${JSON.stringify(properties)},"geometry":${
        geoJSONTextFromFlat(row.g)
      }}`,
    );
    // Thousands of rows per Blob part: one UTF-8 encoding call each instead of one per row.
    if (batch.length === 4096) {
      chunks.push(batch.join(""));
      batch = [];
    }
  });
  chunks.push(batch.join(""), "]}");
  return new Blob(chunks);
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

export { JOB_KEYS };
