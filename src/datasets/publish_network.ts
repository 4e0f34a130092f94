/**
 * Publishing a network version (`?kind=network`): the edges are checked (LineStrings, finite numeric costs),
 * the topology is built once (shared/network/topology.ts), and each block's graph and lines objects are written
 * under a fresh prefix before the catalog makes the version current. A bad network writes nothing.
 */
import type { Classification } from "../../shared/contract/common.ts";
import type { DatasetManifest, TileEntry } from "../../shared/dataset_manifest.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import { assertCanClassify, assertCanPublish } from "../../shared/auth/abac.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { ForbiddenError } from "../../shared/problem.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";
import { config } from "../../shared/config.ts";
import { networkEdges } from "../../shared/network/edges.ts";
import { buildTopology } from "../../shared/network/topology.ts";
import { storeBlock } from "../../shared/network/store_block.ts";
import { requestHash } from "../../shared/request_hash.ts";
import { datasetVersionPrefix } from "../../shared/r2_keys.ts";
import { describeFeatures } from "./publish.ts";

export interface PublishNetworkInput {
  name: string;
  classification: Classification | undefined;
  snapM: number;
  features: FlatFeature[];
  caller: { sub: string; domain: string; tier: Classification };
}

const UPLOAD_CONCURRENCY = 8;

export async function publishNetwork(env: Env, input: PublishNetworkInput, logger: Logger): Promise<DatasetManifest> {
  const edges = networkEdges(input.features);
  const catalog = catalogStub(env, input.name);
  const current = await catalog.current();
  assertCanPublish(current?.owner_domain, input.caller.domain, logger);
  const classification = input.classification ?? current?.classification ?? "internal";
  assertCanClassify(classification, current?.classification, input.caller.tier, logger);

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
  const outcome = await catalog.publish({
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
  if (!outcome.ok) {
    throw new ForbiddenError(`Dataset "${input.name}" belongs to domain "${outcome.owner_domain}".`);
  }
  logger.info("network published", {
    dataset: input.name,
    version: outcome.manifest.version,
    vertices: topology.vertex_count,
    edges: topology.edge_count,
    blocks: tiles.length,
  });
  return outcome.manifest;
}
