/**
 * One part of a multipart network upload (`kind=network`): its edges are checked exactly like a network `PUT`
 * (a 422 stores nothing) and staged as one object; the catalog builds the topology from all parts at complete
 * (durable-objects/dataset_catalog/build_network.ts).
 */
import type { UploadPartSummary, UploadRecord } from "../../durable-objects/dataset_catalog/uploads.ts";
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import { networkEdges } from "../../shared/network/edges.ts";
import { encodeStagedEdges } from "../../shared/network/staged_edges.ts";
import { uploadPartPrefix } from "../../shared/r2_keys.ts";
import { describeFeatures } from "./publish.ts";

export async function stageNetworkPart(
  env: Env,
  upload: UploadRecord,
  n: number,
  features: FlatFeature[],
): Promise<UploadPartSummary> {
  const edges = networkEdges(features);
  const key = `${uploadPartPrefix(upload.prefix, n)}edges.bin`;
  await env.TILES.put(key, encodeStagedEdges(edges));
  return {
    n,
    tiles: [],
    edges_key: key,
    feature_count: features.length,
    bbox: describeFeatures(features).bbox!,
    geometry_types: ["LineString"],
    repaired_count: 0,
  };
}
