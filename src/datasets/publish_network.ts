/**
 * Publishing a network version (`?kind=network`): the edges are checked (LineStrings, finite numeric costs),
 * the topology is built once (shared/network/topology.ts), and each block's graph and lines objects are written
 * under a fresh prefix before the catalog makes the version current. A bad network writes nothing.
 */
import type { DatasetManifest, TileEntry } from "../../shared/dataset_manifest.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { config } from "../../shared/config.ts";
import { networkEdges } from "../../shared/network/edges.ts";
import { buildTopology } from "../../shared/network/topology.ts";
import { storeBlock } from "../../shared/network/store_block.ts";
import { requestHash } from "../../shared/request_hash.ts";
import { datasetVersionPrefix } from "../../shared/r2_keys.ts";
import { describeFeatures } from "./publish.ts";
import { authorizePublication, makeCurrent, type Publication } from "./publication.ts";

export interface PublishNetworkInput extends Publication {
  snapM: number;
  features: FlatFeature[];
}

const UPLOAD_CONCURRENCY = 8;

export async function publishNetwork(env: Env, input: PublishNetworkInput, logger: Logger): Promise<DatasetManifest> {
  const edges = networkEdges(input.features);
  const { catalog, classification } = await authorizePublication(env, input, logger);

  const topology = buildTopology(edges, {
    snapM: input.snapM,
    baseResolution: Number(env.PARTITION_RESOLUTION),
    maxBlockVertices: config(env).NETWORK_BLOCK_VERTICES,
  });
  const prefix = datasetVersionPrefix(input.name, crypto.randomUUID());
  const tiles: TileEntry[] = [];
  for (let i = 0; i < topology.blocks.length; i += UPLOAD_CONCURRENCY) {
    tiles.push(
      ...await Promise.all(
        topology.blocks.slice(i, i + UPLOAD_CONCURRENCY).map((block) => storeBlock(env.TILES, prefix, block)),
      ),
    );
  }
  const { bbox } = describeFeatures(input.features);
  const manifest = await makeCurrent(catalog, {
    name: input.name,
    owner_domain: input.caller.domain,
    classification,
    feature_count: input.features.length,
    bbox,
    geometry_types: ["LineString"],
    resolution: Number(env.PARTITION_RESOLUTION),
    repaired_count: 0,
    tiles,
    content_hash: await requestHash(tiles),
    published_by: input.caller.sub,
    kind: "network",
    vertex_count: topology.vertex_count,
    edge_count: topology.edge_count,
    component_count: topology.component_count,
    snap_m: input.snapM,
    block_resolution: topology.resolution,
    block_shift: topology.shift,
  });
  logger.info("network published", {
    dataset: input.name,
    version: manifest.version,
    vertices: topology.vertex_count,
    edges: topology.edge_count,
    blocks: tiles.length,
  });
  return manifest;
}
