/**
 * The R2 key layout, in one place: every object the service writes is named here,
 * and the collectors parse keys back with the same shapes.
 *
 * - `datasets/<name>/<uuid>/tiles/<cell>.fgb`: a published version (or an upload's merged tiles);
 *   an upload's parts under `datasets/<name>/<uuid>/parts/<n>/tiles/<cell>.fgb`;
 * - `datasets/<name>/<uuid>/network/<cell>.graph|lines`: a network version's blocks;
 * - `payloads/<hash>/tiles/<cell>.fgb`: a job payload's tiles (shared by a caller's identical requests);
 * - `jobs/<id>/staging/a<attempt>/parts/<cell>/<slice>.part`: staged partial results;
 * - `jobs/<id>/results/a<attempt>.<geojson|fgb|parquet>`: committed results.
 */
import type { OutputFormat } from "./contract/job.ts";
import { RESULT_FORMATS } from "./result_formats.ts";

export const DATASETS_PREFIX = "datasets/";
export const PAYLOADS_PREFIX = "payloads/";
export const JOBS_PREFIX = "jobs/";

/** A fresh dataset version's (or upload's) own prefix. */
export function datasetVersionPrefix(name: string, uuid: string): string {
  return `${DATASETS_PREFIX}${name}/${uuid}/`;
}

/** A job payload's prefix, named by the hash of (caller, request). */
export function payloadPrefix(hash: string): string {
  return `${PAYLOADS_PREFIX}${hash}/`;
}

/** Where part `n` of an upload keeps its tiles, under the upload's prefix. */
export function uploadPartPrefix(uploadPrefix: string, n: number): string {
  return `${uploadPrefix}parts/${n}/`;
}

/** One H3 cell's tile under a version, payload or upload-part prefix. */
export function tileKey(prefix: string, cell: string): string {
  return `${tilesPrefix(prefix)}${cell}.fgb`;
}

/** Where the tiles under a version, payload, upload or upload-part prefix are (each a {@link tileKey}). */
export function tilesPrefix(prefix: string): string {
  return `${prefix}tiles/`;
}

/** Where a version's network blocks are (shared/network/block_codec.ts). */
export function networkBlocksPrefix(prefix: string): string {
  return `${prefix}network/`;
}

/** One network block's graph or lines object under a version prefix. */
export function networkBlockKey(prefix: string, cell: string, part: "graph" | "lines"): string {
  return `${networkBlocksPrefix(prefix)}${cell}.${part}`;
}

/** The lines object beside a block's graph object (the key a network manifest's tile lists). */
export function networkLinesKey(graphKey: string): string {
  return graphKey.replace(/\.graph$/, ".lines");
}

export function jobStagingPrefix(jobId: string): string {
  return `${JOBS_PREFIX}${jobId}/staging/`;
}

export function jobResultsPrefix(jobId: string): string {
  return `${JOBS_PREFIX}${jobId}/results/`;
}

/** One slice's staged part of one partition's share of one attempt. */
export function stagedPartKey(jobId: string, attempt: number, cell: string, slice: number): string {
  return `${jobStagingPrefix(jobId)}a${attempt}/parts/${cell}/${String(slice).padStart(6, "0")}.part`;
}

export function resultKey(jobId: string, attempt: number, format: OutputFormat): string {
  return `${jobResultsPrefix(jobId)}a${attempt}.${RESULT_FORMATS[format].extension}`;
}

const JOB_OBJECT = /^jobs\/(job_[0-9a-f]{15}_[0-9a-f]{32})\/(?:staging\/a(\d+)\/|results\/a(\d+)\.)/;

/** A staged part's or a result's job, attempt and kind; null for any other key. */
export function parseJobObjectKey(key: string): { jobId: string; attempt: number; result: boolean } | null {
  const match = JOB_OBJECT.exec(key);
  if (!match) return null;
  return { jobId: match[1]!, attempt: Number(match[2] ?? match[3]), result: match[3] !== undefined };
}

const DATASET_VERSION = /^(datasets\/([A-Za-z0-9._-]+)\/[0-9a-f-]{36}\/)/;

/** The version (or upload) prefix a dataset object lives under, and the dataset's name; null for any other key. */
export function parseDatasetObjectKey(key: string): { prefix: string; name: string } | null {
  const match = DATASET_VERSION.exec(key);
  return match ? { prefix: match[1]!, name: match[2]! } : null;
}

/** A raster version's GeoTIFF, under the version's prefix. */
export function rasterKey(prefix: string): string {
  return `${prefix}raster.tif`;
}
