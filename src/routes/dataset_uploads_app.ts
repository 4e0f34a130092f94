/** Multipart dataset uploads: `/v1/datasets/{name}/uploads/...` (the work: src/routes/dataset_uploads.ts). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Claims } from "../../shared/auth/claims.ts";
import {
  DATASET_MEDIA_TYPES,
  DatasetParams,
  type DatasetPutQuery,
  DatasetUploadCreated,
  DatasetUploadParams,
  DatasetUploadPart,
  DatasetUploadPartParams,
  DatasetUploadQuery,
  DatasetUploadStatus,
  RasterUploadPart,
} from "../../shared/contract/dataset.ts";
import { MAX_DATASET_BODY_BYTES } from "../../shared/contract/limits.ts";
import { readBody } from "../http/body.ts";
import { datasetContent } from "./datasets_app.ts";
import { type AppContext, type AppEnv, problems, router, security } from "./openapi.ts";

/** A part's body as read (size, media type, JSON syntax); validated by the service with the upload's CRS. */
export interface RawDatasetBody {
  mediaType: string;
  bytes: Uint8Array;
  /** The parsed JSON for JSON media types. */
  json: unknown;
}

/** The work behind the upload routes; ownership is checked like PUT /v1/datasets/{name}. */
export interface DatasetUploadService {
  open(
    c: AppContext,
    name: string,
    query: DatasetPutQuery,
    claims: Claims,
  ): Promise<{ upload_id: string; expires_at: string }>;
  /** Validated like PUT, tiled, recorded (replaces part n). */
  putPart(
    c: AppContext,
    name: string,
    uploadId: string,
    n: number,
    body: RawDatasetBody,
    claims: Claims,
  ): Promise<DatasetUploadPart | RasterUploadPart>;
  /** The status: COMPLETING, or COMPLETED when already merged. */
  complete(c: AppContext, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
  status(c: AppContext, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
  /** Abort: part tiles deleted. */
  abort(c: AppContext, name: string, uploadId: string, claims: Claims): Promise<DatasetUploadStatus>;
}

const uploadLocation = { Location: { description: "The upload's status URL", schema: { type: "string" as const } } };

const openUploadRoute = createRoute({
  method: "post",
  operationId: "openDatasetUpload",
  path: "/v1/datasets/{name}/uploads",
  tags: ["datasets"],
  summary: "Open a multipart upload of a new dataset version (owning domain only)",
  description: "For datasets over one PUT's limits. Then PUT each part (any order, re-PUT replaces it), then " +
    "POST …/complete. Query options are PUT's and apply to every part. An open upload expires after 24 h.",
  security,
  request: { params: DatasetParams, query: DatasetUploadQuery },
  responses: {
    201: {
      description: "Opened",
      headers: uploadLocation,
      content: { "application/json": { schema: DatasetUploadCreated } },
    },
    ...problems(400, 403, 422),
  },
});

const putPartRoute = createRoute({
  method: "put",
  operationId: "putDatasetUploadPart",
  path: "/v1/datasets/{name}/uploads/{upload_id}/parts/{n}",
  tags: ["datasets"],
  summary: "Upload part n: a GeoJSON FeatureCollection or FlatGeobuf file, validated exactly like PUT; or, " +
    "for kind=raster, bytes of the GeoTIFF",
  description: `At most ${MAX_DATASET_BODY_BYTES} bytes and PUT's feature limits per part. Invalid → 422 and ` +
    "nothing of the part is kept. Ids must be unique within the part; ids repeated across parts are refused " +
    "at complete (422). kind=raster: part n is the n-th byte range of one GeoTIFF (`image/tiff`), in R2's " +
    "multipart rule: every part but the last of one size, at least 5 MiB, the last no larger (else 422 at " +
    "complete); the file is checked at complete like PUT checks it, and a bad one ends the upload FAILED " +
    "with the reason.",
  security,
  middleware: [readBody({ maxBytes: MAX_DATASET_BODY_BYTES, accept: DATASET_MEDIA_TYPES })] as const,
  request: { params: DatasetUploadPartParams, body: datasetContent },
  responses: {
    200: {
      description: "Part stored",
      content: { "application/json": { schema: z.union([DatasetUploadPart, RasterUploadPart]) } },
    },
    ...problems(400, 403, 404, 409, 413, 415, 422),
  },
});

const completeRoute = createRoute({
  method: "post",
  operationId: "completeDatasetUpload",
  path: "/v1/datasets/{name}/uploads/{upload_id}/complete",
  tags: ["datasets"],
  summary: "Complete an upload: merge the parts' tiles per cell and publish the version",
  description: "Ids present in two parts → 422 (the upload stays OPEN: re-PUT a part and complete again). " +
    "Otherwise 202 with state COMPLETING and Location: the merge runs in the dataset's catalog (its alarm); poll " +
    "GET …/uploads/{upload_id} until COMPLETED (with the manifest, as PUT answers) or FAILED. Completing again " +
    "is idempotent (200 once COMPLETED, same manifest, no new version).",
  security,
  request: { params: DatasetUploadParams },
  responses: {
    202: {
      description: "Merging",
      headers: uploadLocation,
      content: { "application/json": { schema: DatasetUploadStatus } },
    },
    200: { description: "Already completed", content: { "application/json": { schema: DatasetUploadStatus } } },
    ...problems(400, 403, 404, 409, 422),
  },
});

const statusRoute = createRoute({
  method: "get",
  operationId: "getDatasetUpload",
  path: "/v1/datasets/{name}/uploads/{upload_id}",
  tags: ["datasets"],
  summary: "An upload's state: OPEN, COMPLETING, COMPLETED (with the manifest), FAILED, ABORTED",
  security,
  request: { params: DatasetUploadParams },
  responses: {
    200: { description: "Status", content: { "application/json": { schema: DatasetUploadStatus } } },
    ...problems(400, 403, 404),
  },
});

const abortRoute = createRoute({
  method: "delete",
  operationId: "abortDatasetUpload",
  path: "/v1/datasets/{name}/uploads/{upload_id}",
  tags: ["datasets"],
  summary: "Abort an upload (its part tiles are deleted; 409 once completing or completed)",
  security,
  request: { params: DatasetUploadParams },
  responses: {
    200: { description: "Aborted", content: { "application/json": { schema: DatasetUploadStatus } } },
    ...problems(400, 403, 404, 409),
  },
});

const uploadUrl = (name: string, id: string) =>
  `/v1/datasets/${encodeURIComponent(name)}/uploads/${encodeURIComponent(id)}`;

/** `/v1/datasets/{name}/uploads/...` over `service`. */
export function datasetUploadRoutes(service: DatasetUploadService): OpenAPIHono<AppEnv> {
  return router()
    .openapi(openUploadRoute, async (c) => {
      const { name } = c.req.valid("param");
      const opened = await service.open(c, name, c.req.valid("query"), c.var.claims);
      const self = uploadUrl(name, opened.upload_id);
      c.header("Location", self);
      return c.json({ ...opened, links: { self, parts: `${self}/parts/{n}`, complete: `${self}/complete` } }, 201);
    })
    .openapi(putPartRoute, async (c) => {
      const { name, upload_id, n } = c.req.valid("param");
      const body = {
        mediaType: c.var.bodyMediaType ?? "",
        bytes: c.var.rawBody ?? new Uint8Array(0),
        json: c.var.jsonBody,
      };
      return c.json(await service.putPart(c, name, upload_id, n, body, c.var.claims), 200);
    })
    .openapi(completeRoute, async (c) => {
      const { name, upload_id } = c.req.valid("param");
      const status = await service.complete(c, name, upload_id, c.var.claims);
      if (status.state === "COMPLETED") return c.json(status, 200);
      c.header("Location", uploadUrl(name, upload_id));
      return c.json(status, 202);
    })
    .openapi(statusRoute, async (c) => {
      const { name, upload_id } = c.req.valid("param");
      return c.json(await service.status(c, name, upload_id, c.var.claims), 200);
    })
    .openapi(abortRoute, async (c) => {
      const { name, upload_id } = c.req.valid("param");
      return c.json(await service.abort(c, name, upload_id, c.var.claims), 200);
    });
}
