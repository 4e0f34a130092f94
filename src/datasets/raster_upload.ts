/**
 * A raster upload's part: bytes `n` of one GeoTIFF, sent as is into the upload's R2 multipart upload and
 * recorded with R2's etag. The file is checked once whole, at complete (the catalog's alarm), by range reads.
 */
import type { RasterPartSummary } from "../../shared/raster/multipart.ts";
import type { UploadRecord } from "../../durable-objects/dataset_catalog/uploads.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { NotFoundError, ValidationError } from "../../shared/problem.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { notOpen } from "./upload.ts";

export async function putRasterPart(
  env: Env,
  upload: UploadRecord,
  n: number,
  bytes: Uint8Array,
  logger: Logger,
): Promise<RasterPartSummary> {
  if (upload.state !== "OPEN") throw notOpen(upload, upload.state, "NOT_OPEN");
  const target = upload.raster;
  if (!target) throw new ValidationError("The upload is of a vector dataset: its parts are features.");
  if (bytes.byteLength === 0) throw new ValidationError("The part is empty.", [{ path: "", message: "no bytes" }]);
  const uploaded = await env.TILES.resumeMultipartUpload(target.key, target.r2_upload_id).uploadPart(n, bytes);
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const part: RasterPartSummary = { n, bytes: bytes.byteLength, etag: uploaded.etag, sha256 };
  const outcome = await catalogStub(env, upload.name).putUploadPart(upload.upload_id, part, []);
  if (!outcome.ok) {
    if (outcome.code === "NOT_FOUND") throw new NotFoundError(`No upload "${upload.upload_id}".`);
    throw notOpen(upload, outcome.state, outcome.code);
  }
  logger.info("raster upload part stored", {
    dataset: upload.name,
    upload_id: upload.upload_id,
    part: n,
    bytes: bytes.byteLength,
  });
  return part;
}
