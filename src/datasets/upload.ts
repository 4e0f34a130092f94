/**
 * Multipart publishing, for datasets larger than one request (a Worker holds
 * 128 MB; a million points is 122 MiB of GeoJSON):
 *
 * 1. open: ownership checked like `PUT`, an upload id and a staging prefix `datasets/<name>/<uuid>/`;
 * 2. each part is validated exactly like `PUT` (ids, geometry, repair), tiled by H3 cell
 *    ({@link buildTiles}) under `<prefix>parts/<n>/tiles/<cell>.fgb`, and its summary and ids
 *    recorded in the catalog (re-sending part `n` replaces it);
 * 3. complete: the catalog refuses ids present in two parts (422), then its alarm merges each
 *    cell's part tiles into `<prefix>tiles/<cell>.fgb` (`mergeUploadTiles` in the catalog; memory bounded by
 *    the largest cell) and publishes the version like `PUT` does (same manifest shape).
 *
 * A raster (`kind=raster`) takes the same steps with byte ranges of one GeoTIFF for parts
 * (src/datasets/raster_upload.ts).
 *
 * @module
 */
import type { UploadPartSummary, UploadRecord } from "../../durable-objects/dataset_catalog/uploads.ts";
import { publicManifest } from "../../shared/dataset_manifest.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import type { Classification } from "../../shared/contract/common.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { ConflictError, ForbiddenError, NotFoundError, ProblemError, ValidationError } from "../../shared/problem.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { buildTiles } from "../../shared/tiles/tiling.ts";
import { describeFeatures, uploadTiles, validateGeometries } from "./publish.ts";
import { uploadPartPrefix } from "../../shared/r2_keys.ts";
import { config } from "../../shared/config.ts";
import { discardRaster, isRasterPart } from "../../shared/raster/multipart.ts";
import { stageNetworkPart } from "./upload_network.ts";
import { attributesOf } from "../../shared/attributes.ts";
import { authorizeClassification, authorizePublication, type Caller, foreignDomain } from "./publication.ts";

/** The public status document of an upload. */
export function uploadStatus(upload: UploadRecord) {
  return {
    upload_id: upload.upload_id,
    name: upload.name,
    state: upload.state,
    created_at: upload.created_at,
    expires_at: upload.expires_at,
    parts: upload.parts.map((p) =>
      isRasterPart(p) ? { n: p.n, bytes: p.bytes } : { n: p.n, feature_count: p.feature_count, tiles: p.tiles.length }
    ),
    ...(upload.manifest ? { manifest: publicManifest(upload.manifest) } : {}),
    ...(upload.error ? { error: upload.error } : {}),
  };
}

export async function openUpload(
  env: Env,
  input: {
    name: string;
    classification: Classification | undefined;
    repair: boolean;
    crs: string;
    kind?: "raster";
    network?: { snap_m: number };
  },
  caller: Caller,
  logger: Logger,
): Promise<UploadRecord> {
  // Checked here so a foreign domain writes nothing (the catalog checks again in its transaction).
  const { catalog } = await authorizePublication(env, { ...input, caller }, logger);
  const outcome = await catalog.openUpload({
    name: input.name,
    owner_domain: caller.domain,
    created_by: caller.sub,
    classification: input.classification ?? null,
    repair: input.repair,
    crs: input.crs,
    resolution: config(env).PARTITION_RESOLUTION,
    ...(input.kind ? { kind: input.kind } : {}),
    ...(input.network ? { network: input.network } : {}),
  });
  if (!outcome.ok) throw foreignDomain(input.name, outcome.owner_domain);
  logger.info("dataset upload opened", { dataset: input.name, upload_id: outcome.upload.upload_id });
  return outcome.upload;
}

/** The upload, if it exists and belongs to the caller's domain (404 / 403 otherwise). */
export async function uploadOf(env: Env, name: string, uploadId: string, caller: Caller): Promise<UploadRecord> {
  const upload = await catalogStub(env, name).getUpload(uploadId);
  if (!upload) throw new NotFoundError(`No upload "${uploadId}" for dataset "${name}".`);
  if (upload.owner_domain !== caller.domain) {
    throw new ForbiddenError(`Upload "${uploadId}" belongs to domain "${upload.owner_domain}".`);
  }
  return upload;
}

export function notOpen(upload: { upload_id: string }, state: string, code: string): ProblemError {
  return code === "EXPIRED"
    ? new ConflictError(`Upload "${upload.upload_id}" has expired; open a new one.`, "upload-expired")
    : new ConflictError(`Upload "${upload.upload_id}" is ${state}, not OPEN.`, "upload-not-open");
}

/**
 * Part `n`: validated exactly like `PUT` (`features` come from the same parsing), tiled under the
 * part's prefix, then recorded. Nothing is written when validation fails.
 */
export async function putUploadPart(
  env: Env,
  upload: UploadRecord,
  n: number,
  input: FlatFeature[],
  logger: Logger,
): Promise<UploadPartSummary> {
  if (upload.state !== "OPEN") throw notOpen(upload, upload.state, "NOT_OPEN");
  if (upload.raster) throw new ValidationError("The upload is of a raster: its parts are bytes of a GeoTIFF.");
  const { summary, features } = upload.network
    ? { summary: await stageNetworkPart(env, upload, n, input), features: input }
    : await stageVectorPart(env, upload, n, input);
  const tiles = summary.tiles;
  // Ids as `<type>:<id>`, as the FlatGeobuf path compares them (1 and "1" are different ids).
  // Repaired features that collapsed to nothing are not stored, so not counted either.
  const ids = features.map((f) => `${typeof f.id}:${f.id}`);
  const outcome = await catalogStub(env, upload.name).putUploadPart(upload.upload_id, summary, ids);
  if (!outcome.ok) {
    // Expired, or aborted (by its owner or as abandoned) while this part was tiled: nothing will reference these.
    if (outcome.code === "EXPIRED" || (outcome.code === "NOT_OPEN" && outcome.state === "ABORTED")) {
      for (let i = 0; i < tiles.length; i += 1000) await env.TILES.delete(tiles.slice(i, i + 1000).map((t) => t.key));
    }
    if (outcome.code === "NOT_FOUND") throw new NotFoundError(`No upload "${upload.upload_id}".`);
    throw notOpen(upload, outcome.state, outcome.code);
  }
  // A replaced part's cells that the new one does not have are no longer referenced.
  const kept = new Set(tiles.map((t) => t.key));
  const replaced = outcome.replaced && !isRasterPart(outcome.replaced) ? outcome.replaced.tiles : [];
  const stale = replaced.map((t) => t.key).filter((k) => !kept.has(k));
  if (stale.length) await env.TILES.delete(stale);
  logger.info("dataset upload part stored", {
    dataset: upload.name,
    upload_id: upload.upload_id,
    part: n,
    features: features.length,
    tiles: tiles.length,
    replaced: outcome.replaced !== null,
  });
  return summary;
}

async function stageVectorPart(env: Env, upload: UploadRecord, n: number, input: FlatFeature[]) {
  const { features, repairedCount } = await validateGeometries(input, upload.repair);
  if (features.length === 0) throw new ValidationError("The part has no features left to publish.");
  const { geometry_types, bbox } = describeFeatures(features);
  const tiles = await uploadTiles(
    env.TILES,
    buildTiles(features, upload.resolution, uploadPartPrefix(upload.prefix, n)),
  );
  const summary: UploadPartSummary = {
    n,
    tiles,
    feature_count: features.length,
    bbox: bbox!,
    geometry_types,
    attributes: attributesOf(features),
    repaired_count: repairedCount,
  };
  return { summary, features };
}

/** Starts (or re-reads) the completion: duplicate ids across parts → 422; otherwise COMPLETING or COMPLETED. */
export async function completeUpload(
  env: Env,
  upload: UploadRecord,
  caller: Caller,
  logger: Logger,
): Promise<UploadRecord> {
  const catalog = catalogStub(env, upload.name);
  // Checked again: the current version may have been reclassified since the upload was opened. The owner is the
  // catalog's to check when the build publishes (a domain that took the name meanwhile fails the build).
  authorizeClassification(
    await catalog.current(),
    { classification: upload.classification ?? undefined, caller },
    logger,
  );
  const outcome = await catalog.completeUpload(upload.upload_id);
  if (outcome.ok) {
    logger.info("dataset upload completing", { dataset: upload.name, upload_id: upload.upload_id });
    return outcome.upload;
  }
  switch (outcome.code) {
    case "NOT_FOUND":
      throw new NotFoundError(`No upload "${upload.upload_id}".`);
    case "NO_PARTS":
      throw new ValidationError("The upload has no parts; PUT at least one before completing.");
    case "PART_SIZES":
      throw new ValidationError(`The parts cannot be assembled: ${outcome.problem}.`, [
        { path: "parts", message: outcome.problem },
      ]);
    case "DUPLICATE_IDS":
      throw new ValidationError(
        `${outcome.duplicates.length} feature id(s) appear in more than one part` +
          (outcome.duplicates.length >= 100 ? " (the first 100 are listed)." : "."),
        outcome.duplicates.map((d) => ({
          path: `parts[${d.parts.join(",")}]`,
          message: `duplicate id ${d.id.slice(d.id.indexOf(":") + 1)}`,
        })),
      );
    default:
      throw notOpen(upload, outcome.state, outcome.code);
  }
}

/** Aborts an upload and deletes its part tiles (a raster's: R2's pending parts). */
export async function abortUpload(env: Env, upload: UploadRecord): Promise<UploadRecord> {
  const outcome = await catalogStub(env, upload.name).abortUpload(upload.upload_id);
  if (!outcome.ok) {
    if (outcome.code === "NOT_FOUND") throw new NotFoundError(`No upload "${upload.upload_id}".`);
    throw new ConflictError(`Upload "${upload.upload_id}" is ${outcome.state}; it can no longer be aborted.`);
  }
  if (upload.raster) await discardRaster(env.TILES, upload.raster);
  for (let i = 0; i < outcome.keys.length; i += 1000) await env.TILES.delete(outcome.keys.slice(i, i + 1000));
  return outcome.upload;
}
