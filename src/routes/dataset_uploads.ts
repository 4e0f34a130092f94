/** The multipart upload service behind src/routes/dataset_uploads_app.ts (logic in src/datasets/upload.ts). */
import { ValidationError } from "../../shared/problem.ts";
import type { DatasetUploadService } from "./dataset_uploads_app.ts";
import { datasetBody } from "./datasets_app.ts";
import type { SupportedCrs } from "../../shared/contract/crs.ts";
import type { Claims } from "../../shared/auth/claims.ts";
import { abortUpload, completeUpload, openUpload, putUploadPart, uploadOf, uploadStatus } from "../datasets/upload.ts";
import { getLogger } from "../../shared/telemetry/log.ts";
import { featuresOf } from "./datasets.ts";
import { putRasterPart } from "../datasets/raster_upload.ts";
import type { Caller } from "../datasets/publication.ts";

const callerOf = (claims: Claims): Caller => ({
  sub: claims.sub,
  domain: claims.domain,
  tier: claims.data_classification,
});

export const datasetUploadService: DatasetUploadService = {
  async open(c, name, query, claims) {
    if (query.kind !== "network" && query.snap_m !== undefined) {
      throw new ValidationError("snap_m applies to kind=network only.", [{
        path: "snap_m",
        message: "needs kind=network",
      }]);
    }
    const upload = await openUpload(
      c.env,
      {
        name,
        classification: query.classification,
        repair: query.repair,
        crs: query.crs,
        ...(query.kind === "raster" ? { kind: "raster" as const } : {}),
        ...(query.kind === "network" ? { network: { snap_m: query.snap_m ?? 0 } } : {}),
      },
      callerOf(claims),
      getLogger(c),
    );
    return { upload_id: upload.upload_id, expires_at: upload.expires_at };
  },

  async putPart(c, name, uploadId, n, raw, claims) {
    const upload = await uploadOf(c.env, name, uploadId, callerOf(claims));
    if (upload.kind === "raster") {
      const { bytes } = datasetBody(raw.mediaType, raw.bytes, raw.json, { crs: "EPSG:4326", kind: "raster" });
      const part = await putRasterPart(c.env, upload, n, bytes, getLogger(c));
      return { n: part.n, bytes: part.bytes };
    }
    const crs = upload.crs as SupportedCrs;
    // The same checks as PUT /v1/datasets/{name}, with the CRS the upload was opened with.
    const body = datasetBody(raw.mediaType, raw.bytes, raw.json, { crs, kind: "vector" });
    const part = await putUploadPart(c.env, upload, n, featuresOf(body, crs), getLogger(c));
    return {
      n: part.n,
      feature_count: part.feature_count,
      repaired_count: part.repaired_count,
      bbox: part.bbox,
      geometry_types: part.geometry_types,
      tiles: part.tiles.length,
    };
  },

  async complete(c, name, uploadId, claims) {
    const caller = callerOf(claims);
    const upload = await uploadOf(c.env, name, uploadId, caller);
    return uploadStatus(await completeUpload(c.env, upload, caller, getLogger(c)));
  },

  async status(c, name, uploadId, claims) {
    return uploadStatus(await uploadOf(c.env, name, uploadId, callerOf(claims)));
  },

  async abort(c, name, uploadId, claims) {
    const upload = await uploadOf(c.env, name, uploadId, callerOf(claims));
    return uploadStatus(await abortUpload(c.env, upload));
  },
};
