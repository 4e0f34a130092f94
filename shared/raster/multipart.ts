/**
 * The raster side of a multipart upload: its parts are byte ranges of one GeoTIFF, sent as they arrive into
 * one R2 multipart upload (nothing holds the whole file), completed by R2, then checked by range reads
 * exactly like a single `PUT` checks its body.
 *
 * @module
 */
import type { ManifestDraft } from "../dataset_manifest.ts";
import { geoTiffOf, R2RangeSource } from "./raster_reader.ts";
import { readGeoTiff } from "./raster_info.ts";
import { rasterKey } from "../r2_keys.ts";
import { requestHash } from "../request_hash.ts";

/** R2's rule for a multipart upload: every part but the last at least 5 MiB and all of one size. */
export const MIN_RASTER_PART_BYTES = 5 * 1024 * 1024;

/** Where a raster upload's parts go: the version's object and R2's multipart upload of it. */
export interface RasterUploadTarget {
  key: string;
  r2_upload_id: string;
}

/** A raster part as recorded: R2's etag of it (needed to complete) and its SHA-256 (hex). */
export interface RasterPartSummary {
  n: number;
  bytes: number;
  etag: string;
  sha256: string;
}

/** Whether a recorded part is a raster's (a vector part has tiles and ids instead). */
export function isRasterPart<P extends { n: number }>(part: P | RasterPartSummary): part is RasterPartSummary {
  return "etag" in part;
}

export async function openRasterTarget(bucket: R2Bucket, prefix: string): Promise<RasterUploadTarget> {
  const key = rasterKey(prefix);
  const multipart = await bucket.createMultipartUpload(key, { httpMetadata: { contentType: "image/tiff" } });
  return { key, r2_upload_id: multipart.uploadId };
}

/** Why R2 would refuse to assemble these parts (in part order), or null when it will. */
export function partSizesProblem(parts: RasterPartSummary[]): string | null {
  const sorted = [...parts].sort((a, b) => a.n - b.n);
  const size = sorted[0]!.bytes;
  if (sorted.length > 1 && size < MIN_RASTER_PART_BYTES) {
    return `part ${sorted[0]!.n} has ${size} bytes; every part but the last needs at least ${MIN_RASTER_PART_BYTES}`;
  }
  const odd = sorted.slice(0, -1).find((p) => p.bytes !== size);
  if (odd) {
    return `part ${odd.n} has ${odd.bytes} bytes, part ${sorted[0]!.n} ${size}: all parts but the last are one size`;
  }
  const last = sorted[sorted.length - 1]!;
  if (last.bytes > size) return `the last part (${last.n}) has ${last.bytes} bytes, more than the others' ${size}`;
  return null;
}

/**
 * Assembles the parts into the version's object (once: a retried alarm finds it done) and reads its header by
 * range. A file that is no georeferenced GeoTIFF throws the same 422 `ValidationError` as `PUT`.
 */
export async function completeRasterObject(
  bucket: R2Bucket,
  target: RasterUploadTarget,
  parts: RasterPartSummary[],
): Promise<
  Omit<Extract<ManifestDraft, { kind: "raster" }>, "name" | "owner_domain" | "classification" | "published_by">
> {
  const sorted = [...parts].sort((a, b) => a.n - b.n);
  let stored = await bucket.head(target.key);
  if (!stored) {
    const multipart = bucket.resumeMultipartUpload(target.key, target.r2_upload_id);
    stored = await multipart.complete(sorted.map((p) => ({ partNumber: p.n, etag: p.etag })));
  }
  const info = await readGeoTiff(() => geoTiffOf(new R2RangeSource(bucket, target.key, stored.size)));
  const { compression: _compression, bbox, ...grid } = info;
  return {
    kind: "raster",
    ...grid,
    bbox,
    key: target.key,
    bytes: stored.size,
    // The file is never whole in one isolate: its fingerprint is the SHA-256 of its parts' SHA-256s.
    content_hash: await requestHash(sorted.map((p) => p.sha256)),
  };
}

/** Removes whatever the upload stored: R2's pending parts and, if it was assembled, the object. */
export async function discardRaster(bucket: R2Bucket, target: RasterUploadTarget): Promise<void> {
  await bucket.resumeMultipartUpload(target.key, target.r2_upload_id).abort().catch(() => {});
  await bucket.delete(target.key);
}
