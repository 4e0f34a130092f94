/**
 * Publishing a dataset version: validate (or repair) every geometry with
 * GEOS, split the features into one FlatGeobuf tile per H3 cell they touch,
 * write the tiles under a fresh prefix, then make the version current in the
 * dataset's catalog. Nothing is written before the input is known good.
 */
import type { DatasetManifest, TileEntry } from "../../shared/dataset_manifest.ts";
import { type FlatFeature, type GeometryKind, loadGeometryCore } from "../../wasm/mod.ts";
import { workerdWasmModules } from "../../wasm/workerd_modules.js";
import type { Logger } from "../../shared/telemetry/log.ts";
import { ValidationError } from "../../shared/problem.ts";
import { buildTiles, type BuiltTile } from "../../shared/tiles/tiling.ts";
import { expandByBbox, geometryBbox } from "../../shared/tiles/geometry_bbox.ts";
import type { Bbox } from "../../wasm/flat_geometry.ts";
import { MAX_REPORTED_ERRORS } from "../../shared/contract/limits.ts";
import { requestHash } from "../../shared/request_hash.ts";
import { datasetVersionPrefix } from "../../shared/r2_keys.ts";
import { config } from "../../shared/config.ts";
import { attributesOf } from "../../shared/attributes.ts";
import { authorizePublication, makeCurrent, type Publication } from "./publication.ts";

export interface PublishInput extends Publication {
  repair: boolean;
  features: FlatFeature[];
}

const UPLOAD_CONCURRENCY = 8;

/** The sorted geometry kinds and the bbox (null when empty) of a set of features. */
export function describeFeatures(features: FlatFeature[]): { geometry_types: GeometryKind[]; bbox: Bbox | null } {
  const types = new Set<GeometryKind>();
  const bbox: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const feature of features) {
    types.add(feature.geometry.kind);
    const box = geometryBbox(feature.geometry);
    if (box) expandByBbox(bbox, box);
  }
  return { geometry_types: [...types].sort(), bbox: bbox[0] <= bbox[2] ? bbox : null };
}

/** Writes built tiles to R2, a few at a time; returns their manifest entries in cell order. */
export async function uploadTiles(
  bucket: R2Bucket,
  tiles: BuiltTile[],
  customMetadata?: Record<string, string>,
): Promise<TileEntry[]> {
  for (let i = 0; i < tiles.length; i += UPLOAD_CONCURRENCY) {
    await Promise.all(
      tiles.slice(i, i + UPLOAD_CONCURRENCY).map(({ entry, bytes }) =>
        bucket.put(entry.key, bytes, {
          httpMetadata: { contentType: "application/flatgeobuf" },
          ...(customMetadata ? { customMetadata } : {}),
        })
      ),
    );
  }
  return tiles.map((t) => t.entry);
}

export async function publishDataset(env: Env, input: PublishInput, logger: Logger): Promise<DatasetManifest> {
  const resolution = config(env).PARTITION_RESOLUTION;
  const { features, repairedCount } = await validateGeometries(input.features, input.repair);
  if (features.length === 0) throw new ValidationError("The dataset has no features left to publish.");

  const { catalog, classification } = await authorizePublication(env, input, logger);
  const { geometry_types, bbox } = describeFeatures(features);

  // A fresh prefix per upload: tiles are immutable, and a losing concurrent publish never overwrites a winner's.
  const tiles = await uploadTiles(
    env.TILES,
    buildTiles(features, resolution, datasetVersionPrefix(input.name, crypto.randomUUID())),
  );
  const contentHash = await requestHash(tiles);

  const manifest = await makeCurrent(catalog, {
    name: input.name,
    owner_domain: input.caller.domain,
    classification,
    feature_count: features.length,
    bbox,
    geometry_types,
    attributes: attributesOf(features),
    resolution,
    repaired_count: repairedCount,
    tiles,
    content_hash: contentHash,
    published_by: input.caller.sub,
  });
  logger.info("dataset published", {
    dataset: input.name,
    version: manifest.version,
    features: features.length,
    tiles: tiles.length,
    repaired: repairedCount,
  });
  return manifest;
}

/**
 * ST_IsValid on every feature: invalid ones are a 422 listing ids and GEOS's
 * reasons, or, with `repair`, made valid (ST_MakeValid, polygonal part kept).
 * A feature that repairs to nothing (a collapsed ring) is left out of the tiles.
 */
export async function validateGeometries(
  features: FlatFeature[],
  repair: boolean,
  path = "features",
): Promise<{ features: FlatFeature[]; repairedCount: number }> {
  const core = await loadGeometryCore(workerdWasmModules);
  const errors: { path: string; message: string }[] = [];
  const out: FlatFeature[] = [];
  let repairedCount = 0;
  features.forEach((feature, i) => {
    const validity = core.validate(feature.geometry, { id: feature.id });
    if (validity.valid) {
      out.push(feature);
      return;
    }
    if (!repair) {
      if (errors.length < MAX_REPORTED_ERRORS) {
        errors.push({
          path: `${path}[${i}].geometry`,
          message: `Feature ${JSON.stringify(feature.id)}: ${validity.reason}`,
        });
      }
      return;
    }
    repairedCount++;
    using repaired = core.makeValid(feature.geometry, { id: feature.id });
    if (!repaired.isEmpty()) out.push({ ...feature, geometry: repaired.toFlat() });
  });
  if (errors.length) {
    throw new ValidationError(
      `${errors.length} feature(s) have invalid geometry; fix them or publish with ?repair=true.`,
      errors,
    );
  }
  return { features: out, repairedCount };
}
