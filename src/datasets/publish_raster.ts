/**
 * Publishing a raster version: the GeoTIFF is read (header only) and checked,
 * then stored as is under a fresh prefix, so jobs read its tiles or strips by
 * range; the catalog then makes the version current. Nothing is written
 * before the file is known good.
 */
import { fromArrayBuffer } from "geotiff";
import type { Classification } from "../../shared/contract/common.ts";
import type { DatasetManifest } from "../../shared/dataset_manifest.ts";
import { assertCanClassify, assertCanPublish } from "../../shared/auth/abac.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { ForbiddenError } from "../../shared/problem.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { readGeoTiff } from "../../shared/raster/raster_info.ts";
import { datasetVersionPrefix, rasterKey } from "../../shared/r2_keys.ts";

export interface PublishRasterInput {
  name: string;
  classification: Classification | undefined;
  bytes: Uint8Array;
  caller: { sub: string; domain: string; tier: Classification };
}

export async function publishRaster(env: Env, input: PublishRasterInput, logger: Logger): Promise<DatasetManifest> {
  const bytes = input.bytes;
  const info = await readGeoTiff(() =>
    fromArrayBuffer(
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer as ArrayBuffer
        : bytes.slice().buffer,
    )
  );

  const catalog = catalogStub(env, input.name);
  const current = await catalog.current();
  assertCanPublish(current?.owner_domain, input.caller.domain, logger);
  const classification = input.classification ?? current?.classification ?? "internal";
  assertCanClassify(classification, current?.classification, input.caller.tier, logger);

  const key = rasterKey(datasetVersionPrefix(input.name, crypto.randomUUID()));
  const stored = await env.TILES.put(key, input.bytes, {
    httpMetadata: { contentType: "image/tiff" },
    sha256: await crypto.subtle.digest("SHA-256", input.bytes as Uint8Array<ArrayBuffer>),
  });
  const { compression: _compression, ...grid } = info;
  const outcome = await catalog.publish({
    kind: "raster",
    name: input.name,
    owner_domain: input.caller.domain,
    classification,
    ...grid,
    key,
    bytes: input.bytes.byteLength,
    content_hash: [...new Uint8Array(stored.checksums.sha256!)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    published_by: input.caller.sub,
  });
  if (!outcome.ok) {
    await env.TILES.delete(key);
    throw new ForbiddenError(`Dataset "${input.name}" belongs to domain "${outcome.owner_domain}".`);
  }
  logger.info("raster dataset published", {
    dataset: input.name,
    version: outcome.manifest.version,
    width: info.width,
    height: info.height,
    bands: info.bands.length,
    bytes: input.bytes.byteLength,
  });
  return outcome.manifest;
}
