/** The dataset service behind src/routes/datasets_app.ts: publish a version (validated, tiled, immutable), read the current manifest. */
import type { DatasetBody, DatasetService } from "./datasets_app.ts";
import { assertCanPublish, assertCanRead, bboxWithin } from "../auth/mod.ts";
import { type Bbox, classificationRank } from "../../shared/contract/common.ts";
import type { DatasetSummary } from "../../shared/contract/dataset.ts";
import {
  datasetKind,
  type DatasetManifest as StoredManifest,
  isRasterManifest,
  publicManifest,
  storedKeys,
} from "../../shared/dataset_manifest.ts";
import type { Pin } from "../../durable-objects/dataset_catalog/versions.ts";
import { homeCellOf } from "../routing/job_id.ts";
import { type DatasetDocument, flatGeometryToWgs84, toFlatFeatures } from "../../shared/contract/mod.ts";
import { isSupportedCrs, type SupportedCrs, unsupportedCrsMessage } from "../../shared/contract/crs.ts";
import { publishDataset } from "../datasets/publish.ts";
import { publishRaster } from "../datasets/publish_raster.ts";
import { publishNetwork } from "../datasets/publish_network.ts";
import { getLogger } from "../../shared/telemetry/log.ts";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../../shared/problem.ts";
import { collectFieldErrors } from "../http/validation.ts";
import { checkFlatFeatures } from "../../shared/contract/feature_checks.ts";
import { DATASET_LIMITS } from "../../shared/contract/limits.ts";
import { catalogStub, directoryStub, partitionStub } from "../../shared/routing/partitions.ts";
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
    return publicManifest(manifest);
  },

  async getDataset(c, name, claims): Promise<DatasetDocument> {
    const described = await catalogStub(c.env, name).describe();
    if (!described) throw new NotFoundError(`No dataset "${name}".`);
    assertCanRead(described.manifest.classification, claims.data_classification, getLogger(c), `dataset "${name}"`);
    return { ...scopedExtent(publicManifest(described.manifest), claims.spatial_scope), versions: described.versions };
  },

  async listDatasets(c, query, claims) {
    const directory = directoryStub(c.env);
    const datasets: DatasetSummary[] = [];
    let after = query.cursor ?? null;
    // Names are read a page at a time; those the caller may not read (or with no version) are skipped.
    for (let scanned = 0; scanned < MAX_SCANNED;) {
      const names = await directory.names(after, LIST_BATCH);
      const described = await Promise.all(names.map((name) => catalogStub(c.env, name).describe()));
      for (const [i, name] of names.entries()) {
        after = name;
        scanned++;
        const d = described[i];
        if (!d || classificationRank(d.manifest.classification) > classificationRank(claims.data_classification)) {
          continue;
        }
        datasets.push(datasetSummary(d.manifest, d.versions.length, claims.spatial_scope));
        if (datasets.length === query.limit) return { datasets, next_cursor: name };
      }
      if (names.length < LIST_BATCH) return { datasets };
    }
    return after === null ? { datasets } : { datasets, next_cursor: after };
  },

  async deleteVersion(c, name, version, claims) {
    const catalog = catalogStub(c.env, name);
    const described = await catalog.describe();
    if (!described) throw new NotFoundError(`No dataset "${name}".`);
    assertCanPublish(described.manifest.owner_domain, claims.domain, getLogger(c));
    const pins = await catalog.pins(version);
    if (!pins) throw new NotFoundError(`Dataset "${name}" has no version ${version}.`);
    const live = await liveJobs(c.env, pins);
    if (live > 0) {
      throw new ConflictError(
        `Version ${version} of dataset "${name}" is read by ${live} job(s) not finished yet; delete it once they end.`,
        "dataset-version-pinned",
      );
    }
    const outcome = await catalog.deleteVersion(version, pins.map((p) => p.job_id), claims.domain, claims.sub);
    if (!outcome.ok) {
      if (outcome.code === "NOT_FOUND") throw new NotFoundError(`Dataset "${name}" has no version ${version}.`);
      if (outcome.code === "FOREIGN_DOMAIN") {
        throw new ForbiddenError(`Dataset "${name}" belongs to domain "${outcome.owner_domain}".`);
      }
      throw new ConflictError(
        outcome.code === "LAST_VERSION"
          ? `Version ${version} is the only version of dataset "${name}"; a dataset keeps at least one.`
          : `A job pinned version ${version} of dataset "${name}" meanwhile; try again.`,
        outcome.code === "LAST_VERSION" ? "last-dataset-version" : "dataset-version-pinned",
      );
    }
    // The version's tiles; any left by a crash here are collected later (no version names their prefix).
    const keys = storedKeys(outcome.manifest);
    for (let i = 0; i < keys.length; i += 1000) await c.env.TILES.delete(keys.slice(i, i + 1000));
    getLogger(c).info("dataset version deleted", { dataset: name, version, tiles: keys.length });
  },
};

const LIST_BATCH = 100;
const MAX_SCANNED = 1_000;
/** A pin whose job its home does not know yet may be a submit still on its way (pins come before the record). */
const PIN_GRACE_MS = 10 * 60_000;

/** How many of the jobs that pinned a version may still read it: queued or running, or not recorded yet. */
async function liveJobs(env: Env, pins: Pin[]): Promise<number> {
  const byHome = new Map<string, string[]>();
  for (const pin of pins) {
    const cell = homeCellOf(pin.job_id);
    if (cell) byHome.set(cell, [...byHome.get(cell) ?? [], pin.job_id]);
  }
  const records = (await Promise.all([...byHome].map(([cell, ids]) => partitionStub(env, cell).jobsById(ids)))).flat();
  const status = new Map(records.map((job) => [job.job_id, job.status]));
  return pins.filter((pin) => {
    const s = status.get(pin.job_id);
    return s === undefined ? Date.now() - pin.pinned_at < PIN_GRACE_MS : s === "QUEUED" || s === "IN_PROGRESS";
  }).length;
}

/** One dataset of the list: its current version, without tiles, as the caller's scope sees it. */
function datasetSummary(manifest: StoredManifest, versions: number, scope: Bbox): DatasetSummary {
  const { name, version, owner_domain, classification, created_at, etag } = manifest;
  const { bbox } = scopedExtent({ bbox: manifest.bbox, tiles: [] }, scope);
  const raster = isRasterManifest(manifest);
  const feature_count = raster ? null : manifest.feature_count;
  const geometry_types = raster ? [] : manifest.geometry_types;
  return {
    name,
    kind: datasetKind(manifest),
    version,
    owner_domain,
    classification,
    feature_count,
    bbox,
    geometry_types,
    created_at,
    etag,
    versions,
  };
}

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
  if (body.format === "geojson") {
    return toFlatFeatures(body.featureCollection, body.crs ?? crs);
  }
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
  if (!isSupportedCrs(fileCrs)) {
    throw new ValidationError(`The file's CRS ${fileCrs} is not supported.`, [{
      path: "body",
      message: unsupportedCrsMessage(fileCrs),
    }]);
  }
  // The same id, property, range and limit checks as a GeoJSON body, in the file's own CRS.
  const issues = collectFieldErrors("The FlatGeobuf file");
  checkFlatFeatures(parsed.features, fileCrs, DATASET_LIMITS, issues.sink);
  issues.throwIfAny();
  return fileCrs === "EPSG:4326"
    ? parsed.features
    : parsed.features.map((f) => ({ ...f, geometry: flatGeometryToWgs84(f.geometry, fileCrs) }));
}
