/** `PUT /v1/datasets/{name}` and `GET /v1/datasets/{name}`. */
import { z } from "@hono/zod-openapi";
import { Bbox, Classification, DatasetName, PageLimit, Timestamp } from "./common.ts";
import { DEFAULT_CRS } from "./crs.ts";
import { InputCrs } from "./job.ts";
import { GEOMETRY_TYPES } from "./geojson.ts";
import { RASTER_CRS, RASTER_DATA_TYPES } from "../raster/raster_info.ts";
import { MAX_SNAP_M } from "./limits.ts";
import { ATTRIBUTE_TYPES } from "../attributes.ts";

/** What a published dataset holds: features (tiled FlatGeobuf), a GeoTIFF raster, or a network's topology. */
export const DATASET_KINDS = ["vector", "raster", "network"] as const;

export const DatasetParams = z.object({
  name: DatasetName.openapi({ param: { name: "name", in: "path" } }),
});

/**
 * `?classification` is optional: omitted, a new version keeps the current
 * version's tier, and a new dataset gets `internal`.
 */
const CsvColumn = z.string().min(1).max(128).optional();

export const DatasetPutQuery = z.object({
  classification: Classification.optional().openapi({
    param: { name: "classification", in: "query" },
    description: "Omitted: the current version's tier, or `internal` for a new dataset.",
  }),
  repair: z
    .enum(["true", "false"], { error: "repair must be true or false" })
    .default("false")
    .transform((v) => v === "true")
    .openapi({ param: { name: "repair", in: "query" }, type: "boolean" }),
  crs: InputCrs.default(DEFAULT_CRS).openapi({
    param: { name: "crs", in: "query" },
    description: "The coordinates' EPSG code when the file does not name its own (a FlatGeobuf header, a " +
      "Shapefile's .prj, a GeoPackage's srs win over it).",
  }),
  wkt_column: CsvColumn.openapi({
    param: { name: "wkt_column", in: "query" },
    description: "text/csv: the column holding WKT geometries (default: a column named WKT, geometry, geom or " +
      "the_geom, any case).",
  }),
  lon_column: CsvColumn.openapi({
    param: { name: "lon_column", in: "query" },
    description: "text/csv without a WKT column: the x/longitude column (default: lon, lng, long, longitude or x).",
  }),
  lat_column: CsvColumn.openapi({
    param: { name: "lat_column", in: "query" },
    description: "text/csv without a WKT column: the y/latitude column (default: lat, latitude or y).",
  }),
  kind: z
    .enum(DATASET_KINDS, { error: (iss) => `unknown dataset kind ${JSON.stringify(iss.input)}` })
    .default("vector")
    .openapi({
      param: { name: "kind", in: "query" },
      description: "`raster`: the body is a GeoTIFF (`image/tiff`); `crs` and `repair` do not apply (the file's " +
        "GeoKeys give the CRS). `network`: LineString edges whose topology is built at publish (pgRouting's " +
        "conventions).",
    }),
  snap_m: z.coerce
    .number({ error: "snap_m must be a number of metres" })
    .min(0, "snap_m must be ≥ 0")
    .max(MAX_SNAP_M, `snap_m must be ≤ ${MAX_SNAP_M}`)
    .optional()
    .openapi({
      param: { name: "snap_m", in: "query" },
      type: "number",
      description: "kind=network only: endpoints within this many geodesic metres merge into one vertex " +
        "(transitively; default 0, exact equality).",
    }),
});
export type DatasetPutQuery = z.output<typeof DatasetPutQuery>;

export const DATASET_MEDIA_TYPES = [
  "application/geo+json",
  "application/json",
  "application/flatgeobuf",
  "application/zip",
  "text/csv",
  "image/tiff",
] as const;

export const TileEntry = z
  .looseObject({
    cell: z.string().openapi({ description: "H3 cell index at the partition resolution." }),
    feature_count: z.int().nonnegative(),
    bytes: z.int().nonnegative(),
  })
  .openapi("TileEntry");

export const DatasetVersionEntry = z
  .looseObject({
    version: z.int().positive(),
    created_at: Timestamp,
    feature_count: z.int().nonnegative().nullable().openapi({ description: "Null for a raster version." }),
    etag: z.string(),
  })
  .openapi("DatasetVersion");

/** One attribute of a dataset's features. */
export const DatasetAttribute = z
  .object({ name: z.string(), type: z.enum(ATTRIBUTE_TYPES) })
  .openapi("DatasetAttribute", {
    description: "`integer` and `number` mixed are `number`; any other mix, objects and arrays are `json`.",
  });

/** A vector (or network) version's manifest. */
export const VectorDatasetManifest = z
  .looseObject({
    name: DatasetName,
    version: z.int().positive(),
    owner_domain: z.string(),
    classification: Classification,
    feature_count: z.int().nonnegative(),
    bbox: Bbox.nullable(),
    geometry_types: z.array(z.enum(GEOMETRY_TYPES)),
    attributes: z.array(DatasetAttribute).optional().openapi({
      description: "The features' attributes, typed over all their values (absent on versions published before " +
        "they were recorded). A job's `properties` selects among them.",
    }),
    tiles: z.array(TileEntry),
    etag: z.string(),
    repaired_count: z.int().nonnegative().optional().openapi({ description: "Features made valid (repair=true)." }),
    created_at: Timestamp.optional(),
    kind: z.enum(["vector", "network"]).optional().openapi({
      description: "Absent in manifests published before kinds: `vector`.",
    }),
    vertex_count: z.int().nonnegative().optional().openapi({
      description: "kind=network: distinct (snapped) vertices.",
    }),
    edge_count: z.int().nonnegative().optional().openapi({ description: "kind=network: published edges." }),
    component_count: z.int().nonnegative().optional().openapi({
      description: "kind=network: weakly connected components (a vertex on no usable edge is one).",
    }),
    snap_m: z.number().nonnegative().optional().openapi({ description: "kind=network: the snapping distance used." }),
  })
  .openapi("VectorDatasetManifest");

/** A raster version's manifest (`?kind=raster`): the GeoTIFF's grid, bands and block layout. */
export const RasterDatasetManifest = z
  .looseObject({
    kind: z.literal("raster"),
    name: DatasetName,
    version: z.int().positive(),
    owner_domain: z.string(),
    classification: Classification,
    width: z.int().positive(),
    height: z.int().positive(),
    bands: z.array(z.object({
      data_type: z.enum(RASTER_DATA_TYPES),
      nodata: z.union([z.number(), z.literal("nan")]).nullable().openapi({
        description: 'The file\'s GDAL_NODATA value (`"nan"` for NaN); null: every pixel is data.',
      }),
    })),
    bbox: Bbox.nullable().openapi({ description: "Extent in EPSG:4326 (within the caller's scope on GET)." }),
    extent: Bbox.openapi({ description: "Extent in the raster's CRS." }),
    crs: z.enum(RASTER_CRS),
    pixel_size: z.tuple([z.number(), z.number()]).openapi({ description: "[dx, dy] in CRS units (dy < 0)." }),
    geotransform: z.array(z.number()).length(6).openapi({ description: "GDAL's geotransform of the grid." }),
    block_size: z.tuple([z.int(), z.int()]).openapi({
      description: "Tile size, or [width, rows per strip] of a striped file: the unit a job reads by range.",
    }),
    layout: z.enum(["tiled", "striped"]),
    bytes: z.int().nonnegative(),
    etag: z.string(),
    created_at: Timestamp.optional(),
  })
  .openapi("RasterDatasetManifest");

/** The 201 body of a publish: the new version's manifest. */
export const DatasetManifest = z.union([RasterDatasetManifest, VectorDatasetManifest]).openapi("DatasetManifest");
export type DatasetManifest = z.infer<typeof DatasetManifest>;

/** `GET /v1/datasets/{name}`: the current version's manifest plus the version history. */
export const DatasetDocument = z.union([
  RasterDatasetManifest.extend({ versions: z.array(DatasetVersionEntry) }),
  VectorDatasetManifest.extend({ versions: z.array(DatasetVersionEntry) }),
]).openapi("DatasetDocument");
export type DatasetDocument = z.infer<typeof DatasetDocument>;

/** `GET /v1/datasets`: one dataset, its current version (no tiles). */
export const DatasetSummary = z
  .object({
    name: DatasetName,
    kind: z.enum(DATASET_KINDS),
    version: z.int().positive(),
    owner_domain: z.string(),
    classification: Classification,
    feature_count: z.int().nonnegative().nullable().openapi({ description: "Null for a raster." }),
    bbox: Bbox.nullable().openapi({ description: "Clipped to the caller's spatial_scope (null: outside it)." }),
    geometry_types: z.array(z.enum(GEOMETRY_TYPES)).openapi({ description: "Empty for a raster." }),
    created_at: Timestamp,
    etag: z.string(),
    versions: z.int().positive().openapi({ description: "How many versions are kept." }),
  })
  .openapi("DatasetSummary");
export type DatasetSummary = z.infer<typeof DatasetSummary>;

export const DatasetListParams = z.object({
  limit: PageLimit,
  cursor: DatasetName.optional().openapi({
    param: { name: "cursor", in: "query" },
    description: "`next_cursor` of the previous page.",
  }),
});
export type DatasetListQuery = z.output<typeof DatasetListParams>;

export const DatasetList = z
  .object({
    datasets: z.array(DatasetSummary),
    next_cursor: z.string().optional().openapi({ description: "Absent on the last page." }),
  })
  .openapi("DatasetList");
export type DatasetList = z.infer<typeof DatasetList>;

export const DatasetVersionParams = DatasetParams.extend({
  version: z.coerce.number({ error: "version must be an integer" }).int("version must be an integer").min(1).openapi({
    param: { name: "version", in: "path" },
    type: "integer",
  }),
});

// ------------------------------------------------------------ multipart uploads

/** `POST /v1/datasets/{name}/uploads`: the same options as `PUT`, applied to every part. */
export const DatasetUploadQuery = DatasetPutQuery;

export const UploadId = z
  .string()
  .regex(/^upl_[0-9a-f]{32}$/, "an upload id (upl_ and 32 hex digits)")
  .openapi({ example: "upl_3f2b6c1e9a7d4e0f8b5a2c1d0e9f8a7b" });

export const DatasetUploadParams = DatasetParams.extend({
  upload_id: UploadId.openapi({ param: { name: "upload_id", in: "path" } }),
});

export const DatasetUploadPartParams = DatasetUploadParams.extend({
  n: z.coerce.number({ error: "n must be an integer" }).int("n must be an integer").min(1).max(10_000).openapi({
    param: { name: "n", in: "path" },
    type: "integer",
    description: "Part number, 1–10000. Parts may arrive in any order; re-sending a number replaces that part.",
  }),
});

export const UploadState = z.enum(["OPEN", "COMPLETING", "COMPLETED", "FAILED", "ABORTED"]);

/** `POST /v1/datasets/{name}/uploads` → 201. */
export const DatasetUploadCreated = z
  .object({
    upload_id: UploadId,
    expires_at: Timestamp,
    links: z.object({ self: z.string(), parts: z.string(), complete: z.string() }),
  })
  .openapi("DatasetUploadCreated");

/** `PUT …/parts/{n}` → 200: what the part holds once validated and tiled. */
export const DatasetUploadPart = z
  .object({
    n: z.int().positive(),
    feature_count: z.int().nonnegative(),
    repaired_count: z.int().nonnegative(),
    bbox: Bbox.nullable(),
    geometry_types: z.array(z.enum(GEOMETRY_TYPES)),
    tiles: z.int().nonnegative().openapi({ description: "H3 cells the part's features touch." }),
  })
  .openapi("DatasetUploadPart");
export type DatasetUploadPart = z.infer<typeof DatasetUploadPart>;

/** `PUT …/parts/{n}` of a `kind=raster` upload → 200: the part's bytes, stored as they are. */
export const RasterUploadPart = z
  .object({ n: z.int().positive(), bytes: z.int().positive() })
  .openapi("RasterUploadPart");
export type RasterUploadPart = z.infer<typeof RasterUploadPart>;

/** `GET …/uploads/{upload_id}` (and the answer of complete/abort). */
export const DatasetUploadStatus = z
  .object({
    upload_id: UploadId,
    name: DatasetName,
    state: UploadState,
    created_at: Timestamp,
    expires_at: Timestamp,
    parts: z.array(
      z.union([
        z.object({ n: z.int(), feature_count: z.int(), tiles: z.int() }),
        z.object({ n: z.int(), bytes: z.int() }),
      ]),
    ),
    manifest: DatasetManifest.optional().openapi({ description: "Once COMPLETED: the published version." }),
    error: z.string().optional().openapi({ description: "Once FAILED: why." }),
  })
  .openapi("DatasetUploadStatus");
export type DatasetUploadStatus = z.infer<typeof DatasetUploadStatus>;
