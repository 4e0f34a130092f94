/** `PUT` and `GET /v1/datasets/{name}` (the work is the dataset service's: src/routes/datasets.ts). */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Claims } from "../../shared/auth/claims.ts";
import {
  DATASET_MEDIA_TYPES,
  DatasetDocument,
  DatasetList,
  DatasetListParams,
  type DatasetListQuery,
  DatasetManifest,
  DatasetParams,
  DatasetPutQuery,
  DatasetVersionParams,
} from "../../shared/contract/dataset.ts";
import {
  checkFeatureCollection,
  FeatureCollection,
  type FeatureCollectionSummary,
} from "../../shared/contract/geojson.ts";
import { DATASET_LIMITS, MAX_DATASET_BODY_BYTES } from "../../shared/contract/limits.ts";
import { readBody } from "../http/body.ts";
import { type CrsRef, DEFAULT_CRS, geoJsonCoordinatesToWgs84, type SupportedCrs } from "../../shared/contract/crs.ts";
import { type CsvColumns, isVectorFileMediaType, readVectorFile } from "../datasets/formats/vector_file.ts";
import { UnsupportedMediaTypeError, ValidationError } from "../../shared/problem.ts";
import { collectFieldErrors, validationErrorFrom } from "../http/validation.ts";
import { type AppContext, type AppEnv, problems, quoteEtag, router, security, traceHeaders } from "./openapi.ts";

/** A validated dataset upload. */
export type DatasetBody =
  | {
    format: "geojson";
    /** Structurally valid, ids present and unique, coordinates in range of the CRS (not yet normalized). */
    featureCollection: FeatureCollection;
    summary: FeatureCollectionSummary;
    bytes: Uint8Array;
    /** The file's own CRS (a Shapefile's .prj), over `?crs=`. */
    crs?: SupportedCrs;
  }
  | {
    /** Size and magic bytes checked; contents not parsed. */
    format: "flatgeobuf";
    bytes: Uint8Array;
  }
  | {
    /** `?kind=raster`: an `image/tiff` body, read and checked by the raster publisher. */
    format: "geotiff";
    bytes: Uint8Array;
  };

/** The work behind `/v1/datasets/{name}`; input validated, caller authenticated. */
export interface DatasetService {
  /** Publishes a new version (owning domain only); its manifest. */
  putDataset(
    c: AppContext,
    name: string,
    query: DatasetPutQuery,
    body: DatasetBody,
    claims: Claims,
  ): Promise<DatasetManifest>;
  /** The current manifest with `versions`; 404 when unknown. */
  getDataset(c: AppContext, name: string, claims: Claims): Promise<DatasetDocument>;
  /** The datasets the caller may read, by name. */
  listDatasets(c: AppContext, query: DatasetListQuery, claims: Claims): Promise<DatasetList>;
  /** Deletes a version no live job reads (owning domain only; 409 while pinned, or when it is the last one). */
  deleteVersion(c: AppContext, name: string, version: number, claims: Claims): Promise<void>;
}

/** FlatGeobuf files start with `fgb`, the major version 3, `fgb`, then a patch byte. */
function isFlatGeobuf(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x66 && bytes[1] === 0x67 && bytes[2] === 0x62 && bytes[3] === 0x03 &&
    bytes[4] === 0x66 && bytes[5] === 0x67 && bytes[6] === 0x62;
}

/** Validates a GeoJSON dataset body: structure (zod), then ranges in `crs`, rings, ids and limits. */
function validateDatasetGeoJson(
  json: unknown,
  crs: DatasetPutQuery["crs"],
): { featureCollection: FeatureCollection; summary: FeatureCollectionSummary } {
  const parsed = FeatureCollection.safeParse(json);
  if (!parsed.success) throw validationErrorFrom(parsed.error, "json");
  const issues = collectFieldErrors("The dataset");
  const summary = checkFeatureCollection(parsed.data, crs, DATASET_LIMITS, [], issues.sink);
  issues.throwIfAny();
  return { featureCollection: parsed.data, summary };
}

/** Converts the coordinates of a FeatureCollection not yet checked to EPSG:4326; what the schema refuses is left. */
function geoJsonFeaturesToWgs84(fc: unknown, from: CrsRef): void {
  const features = (fc as { features?: { geometry?: { coordinates?: unknown } | null }[] }).features ?? [];
  for (const f of features) {
    const coordinates = f.geometry?.coordinates;
    if (Array.isArray(coordinates)) geoJsonCoordinatesToWgs84(coordinates as number[][], from);
  }
}

const VECTOR_MEDIA_TYPES = DATASET_MEDIA_TYPES.filter((t) => t !== "image/tiff");

/**
 * A body read by `readBody`, checked as a dataset of `query.kind`: a raster must be `image/tiff` and a vector
 * anything else accepted (415 otherwise); a FlatGeobuf file by its magic bytes, else GeoJSON in `query.crs`.
 */
export function datasetBody(
  mediaType: string | undefined,
  bytes: Uint8Array,
  json: unknown,
  query: { crs: DatasetPutQuery["crs"]; kind: "vector" } & CsvColumns,
): Exclude<DatasetBody, { format: "geotiff" }>;
export function datasetBody(
  mediaType: string | undefined,
  bytes: Uint8Array,
  json: unknown,
  query: Pick<DatasetPutQuery, "crs" | "kind"> & CsvColumns,
): DatasetBody;
export function datasetBody(
  mediaType: string | undefined,
  bytes: Uint8Array,
  json: unknown,
  query: Pick<DatasetPutQuery, "crs" | "kind"> & CsvColumns,
): DatasetBody {
  const crs = query.crs;
  if (query.kind === "raster") {
    if (mediaType !== "image/tiff") throw new UnsupportedMediaTypeError(mediaType ?? null, ["image/tiff"]);
    return { format: "geotiff", bytes };
  }
  if (mediaType === "image/tiff") {
    throw new UnsupportedMediaTypeError(`${mediaType} (without ?kind=raster)`, VECTOR_MEDIA_TYPES);
  }
  if (isVectorFileMediaType(mediaType)) {
    const file = readVectorFile(mediaType, bytes, query);
    // A .prj given as WKT without an EPSG code the service knows: readVectorFile converted it to EPSG:4326.
    const fileCrs = file.crs === undefined ? crs : typeof file.crs === "string" ? file.crs : DEFAULT_CRS;
    if (typeof file.crs !== "string" && file.crs !== undefined) {
      geoJsonFeaturesToWgs84(file.featureCollection, file.crs);
    }
    return { format: "geojson", ...validateDatasetGeoJson(file.featureCollection, fileCrs), bytes, crs: fileCrs };
  }
  if (mediaType !== "application/flatgeobuf") {
    return { format: "geojson", ...validateDatasetGeoJson(json, crs), bytes };
  }
  if (!isFlatGeobuf(bytes)) {
    throw new ValidationError("The body is not a FlatGeobuf file (bad magic bytes).", [
      { path: "", message: "expected a FlatGeobuf v3 file" },
    ]);
  }
  return { format: "flatgeobuf", bytes };
}

/** The request body of a dataset (or of one part of it). */
export const datasetContent = {
  required: true,
  content: {
    "application/geo+json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
    "application/json": { schema: { $ref: "#/components/schemas/FeatureCollection" } },
    "application/flatgeobuf": { schema: { type: "string", format: "binary" } },
    "application/zip": { schema: { type: "string", format: "binary" } },
    "text/csv": { schema: { type: "string" } },
    "image/tiff": { schema: { type: "string", format: "binary" } },
  },
} as const;

const putDataset = createRoute({
  method: "put",
  operationId: "publishDataset",
  path: "/v1/datasets/{name}",
  tags: ["datasets"],
  summary: "Publish a new version of a dataset (owning domain only)",
  description: "GeoJSON FeatureCollection (application/geo+json or application/json) or FlatGeobuf " +
    `(application/flatgeobuf), at most ${MAX_DATASET_BODY_BYTES} bytes. Feature ids: \`id\`, else \`properties.id\`; ` +
    "missing or duplicate → 422. Coordinates in `crs` (normalized to EPSG:4326). With `?kind=raster`: a GeoTIFF " +
    "(image/tiff; tiled/COG or striped; int8…uint32, float32, float64 bands; EPSG:4326 or EPSG:3857; nodata from " +
    "GDAL_NODATA), stored as is and read by range; another media type → 415, a file that is not a georeferenced " +
    "TIFF the service can read → 422, and nothing is stored. `kind=network`: LineString edges with pgRouting's " +
    "`cost`/`reverse_cost`; the topology is built at publish (vertex, edge and component counts in the manifest).",
  security,
  middleware: [readBody({ maxBytes: MAX_DATASET_BODY_BYTES, accept: DATASET_MEDIA_TYPES })] as const,
  request: { params: DatasetParams, query: DatasetPutQuery, body: datasetContent },
  responses: {
    201: {
      description: "Published",
      headers: traceHeaders,
      content: { "application/json": { schema: DatasetManifest } },
    },
    ...problems(400, 403, 413, 415, 422),
  },
});

const getDataset = createRoute({
  method: "get",
  operationId: "getDataset",
  path: "/v1/datasets/{name}",
  tags: ["datasets"],
  summary: "The current manifest of a dataset, with its versions",
  security,
  request: { params: DatasetParams },
  responses: {
    200: { description: "Manifest", content: { "application/json": { schema: DatasetDocument } } },
    ...problems(400, 403, 404),
  },
});

const listDatasets = createRoute({
  method: "get",
  operationId: "listDatasets",
  path: "/v1/datasets",
  tags: ["datasets"],
  summary: "The datasets the caller may read (its tier or below), by name",
  description: "Cursor paging: pass `next_cursor` back as `cursor`; the listing ends when it is absent. A page may " +
    "hold fewer than `limit` datasets and still have a `next_cursor`.",
  security,
  request: { query: DatasetListParams },
  responses: {
    200: { description: "A page of datasets", content: { "application/json": { schema: DatasetList } } },
    ...problems(400, 422),
  },
});

const deleteVersion = createRoute({
  method: "delete",
  operationId: "deleteDatasetVersion",
  path: "/v1/datasets/{name}/versions/{version}",
  tags: ["datasets"],
  summary: "Delete a version no unfinished job reads (owning domain only)",
  description: "Its tiles are deleted. 409 while a queued or running job pinned it, and for a dataset's only " +
    "version. Version numbers are never reused.",
  security,
  request: { params: DatasetVersionParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 403, 404, 409),
  },
});

/** `PUT` and `GET /v1/datasets/{name}` over `service`. */
export function datasetRoutes(service: DatasetService): OpenAPIHono<AppEnv> {
  return router()
    .openapi(putDataset, async (c) => {
      const { name } = c.req.valid("param");
      const query = c.req.valid("query");
      const body = datasetBody(c.var.bodyMediaType, c.var.rawBody ?? new Uint8Array(0), c.var.jsonBody, query);
      const manifest = await service.putDataset(c, name, query, body, c.var.claims);
      c.header("Location", `/v1/datasets/${encodeURIComponent(name)}`);
      c.header("ETag", quoteEtag(manifest.etag));
      return c.json(manifest, 201);
    })
    .openapi(getDataset, async (c) => {
      const doc = await service.getDataset(c, c.req.valid("param").name, c.var.claims);
      c.header("ETag", quoteEtag(doc.etag));
      return c.json(doc, 200);
    })
    .openapi(listDatasets, async (c) => c.json(await service.listDatasets(c, c.req.valid("query"), c.var.claims), 200))
    .openapi(deleteVersion, async (c) => {
      const { name, version } = c.req.valid("param");
      await service.deleteVersion(c, name, version, c.var.claims);
      return c.body(null, 204);
    });
}
