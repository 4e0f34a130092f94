/**
 * Publishing a raster version: the GeoTIFF is read (header only) and checked,
 * then stored as is under a fresh prefix, so jobs read its tiles or strips by
 * range; the catalog then makes the version current. Nothing is written
 * before the file is known good.
 */
import { fromArrayBuffer } from "geotiff";
import type { DatasetManifest } from "../../shared/dataset_manifest.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { readGeoTiff } from "../../shared/raster/raster_info.ts";
import { datasetVersionPrefix, rasterKey } from "../../shared/r2_keys.ts";
import { authorizePublication, foreignDomain, type Publication } from "./publication.ts";

export interface PublishRasterInput extends Publication {
  bytes: Uint8Array;
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

  const { catalog, classification } = await authorizePublication(env, input, logger);

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
    throw foreignDomain(input.name, outcome.owner_domain);
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
