/** The dataset service behind src/routes/datasets_app.ts: publish a version (validated, tiled, immutable), read the current manifest. */
import type { DatasetBody, DatasetService } from "./datasets_app.ts";
import { assertCanRead, bboxWithin } from "../auth/mod.ts";
import type { Bbox } from "../../shared/contract/common.ts";
import { type DatasetDocument, flatGeometryToWgs84, toFlatFeatures } from "../../shared/contract/mod.ts";
import type { SupportedCrs } from "../../shared/contract/crs.ts";
import { publishDataset } from "../datasets/publish.ts";
import { publishRaster } from "../datasets/publish_raster.ts";
import { publishNetwork } from "../datasets/publish_network.ts";
import { getLogger } from "../../shared/telemetry/log.ts";
import { NotFoundError, ValidationError } from "../../shared/problem.ts";
import { collectFieldErrors } from "../http/validation.ts";
import { checkFlatFeatures } from "../../shared/contract/feature_checks.ts";
import { DATASET_LIMITS } from "../../shared/contract/limits.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { FlatGeobufFormatError, MissingFeatureIdError } from "../../shared/tiles/errors.ts";
import { parseFlatGeobuf } from "../../shared/tiles/fgb_features.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";

export const datasetService: DatasetService = {
  async putDataset(c, name, query, body, claims) {
    const caller = { sub: claims.sub, domain: claims.domain, tier: claims.data_classification };
    if (body.format === "geotiff") {
      return await publishRaster(
        c.env,
        { name, classification: query.classification, bytes: body.bytes, caller },
        getLogger(c),
      );
    }
    const features = featuresOf(body, query.crs);
    if (query.kind === "network") {
      const snapM = query.snap_m ?? 0;
      return publishNetwork(
        c.env,
        { name, classification: query.classification, snapM, features, caller },
        getLogger(c),
      );
    }
    if (query.snap_m !== undefined) {
      throw new ValidationError("snap_m applies to kind=network only.", [{
        path: "snap_m",
        message: "needs kind=network",
      }]);
    }
    const manifest = await publishDataset(c.env, {
      name,
      classification: query.classification,
      repair: query.repair,
      features,
      caller,
    }, getLogger(c));
    return manifest;
  },

  async getDataset(c, name, claims): Promise<DatasetDocument> {
    const described = await catalogStub(c.env, name).describe();
    if (!described) throw new NotFoundError(`No dataset "${name}".`);
    assertCanRead(described.manifest.classification, claims.data_classification, getLogger(c), `dataset "${name}"`);
    return { ...scopedExtent(described.manifest, claims.spatial_scope), versions: described.versions };
  },
};

/**
 * The manifest as a caller scoped to `scope` may see it: a tile's bbox is the extent of its features (a lone
 * point's bbox is its coordinates), so only tiles inside the scope are listed, and the dataset's bbox is clipped
 * to the scope (null when they do not meet).
 */
export function scopedExtent<M extends { bbox: Bbox | null; tiles?: { bbox?: unknown }[] }>(
  manifest: M,
  scope: Bbox,
): M {
  const tiles = manifest.tiles?.filter((tile) => Array.isArray(tile.bbox) && bboxWithin(tile.bbox as Bbox, scope));
  const b = manifest.bbox;
  if (!b || bboxWithin(b, scope)) return tiles ? { ...manifest, tiles } : manifest;
  const clipped: Bbox = [
    Math.max(b[0], scope[0]),
    Math.max(b[1], scope[1]),
    Math.min(b[2], scope[2]),
    Math.min(b[3], scope[3]),
  ];
  const bbox = clipped[0] <= clipped[2] && clipped[1] <= clipped[3] ? clipped : null;
  return tiles ? { ...manifest, bbox, tiles } : { ...manifest, bbox };
}

/** The upload's features in EPSG:4326: GeoJSON as checked by the contract, or a FlatGeobuf file (GDAL's too). */
export function featuresOf(body: Exclude<DatasetBody, { format: "geotiff" }>, crs: SupportedCrs): FlatFeature[] {
  if (body.format === "geojson") return toFlatFeatures(body.featureCollection, crs);
  let parsed;
  try {
    parsed = parseFlatGeobuf(body.bytes);
  } catch (error) {
    if (error instanceof FlatGeobufFormatError || error instanceof MissingFeatureIdError) {
      throw new ValidationError(`The FlatGeobuf file cannot be read: ${error.message}`, [{
        path: "body",
        message: error.message,
      }]);
    }
    throw error;
  }
  // The file's own CRS wins over the query's default; an unsupported one is refused.
  const fileCrs = parsed.header.epsg === null ? crs : `EPSG:${parsed.header.epsg}`;
  if (fileCrs !== "EPSG:4326" && fileCrs !== "EPSG:3857") {
    throw new ValidationError(`The file's CRS ${fileCrs} is not supported.`, [{
      path: "body",
      message: "use EPSG:4326 or EPSG:3857",
    }]);
  }
  // The same id, property, range and limit checks as a GeoJSON body, in the file's own CRS.
  const issues = collectFieldErrors("The FlatGeobuf file");
  checkFlatFeatures(parsed.features, fileCrs, DATASET_LIMITS, issues.sink);
  issues.throwIfAny();
  return fileCrs === "EPSG:4326"
    ? parsed.features
    : parsed.features.map((f) => ({ ...f, geometry: flatGeometryToWgs84(f.geometry, "EPSG:3857") }));
}
