/** Network fixtures (test/fixtures/network) loaded into a block cache the way a partition holds them. */
import { gunzipSync } from "node:zlib";
import type { FlatFeature } from "../../../../wasm/flat_geometry.ts";
import { networkEdges } from "../../../../shared/network/edges.ts";
import { buildTopology, type NetworkTopology } from "../../../../shared/network/topology.ts";
import { encodeBlockGraph, encodeBlockLines } from "../../../../shared/network/block_codec.ts";
import { BlockCache } from "../../../../operations/network/block_cache.ts";

export const DIR = new URL("../../../fixtures/network/", import.meta.url);

interface GeoFeature {
  id: number;
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: number[][] | number[] };
}

export async function readFeatures(name: string): Promise<GeoFeature[]> {
  const bytes = await Deno.readFile(new URL(name, DIR));
  const text = new TextDecoder().decode(name.endsWith(".gz") ? gunzipSync(bytes) : bytes);
  return (JSON.parse(text) as { features: GeoFeature[] }).features;
}

export function readAnswer<T>(name: string): Promise<T> {
  return Deno.readTextFile(new URL(`answers/${name}`, DIR)).then((t) => JSON.parse(t) as T);
}

export function lineFeatures(features: GeoFeature[]): FlatFeature[] {
  return features.map((f) => ({
    id: f.id,
    properties: f.properties,
    geometry: { kind: "LineString", xy: Float64Array.from((f.geometry.coordinates as number[][]).flat()) },
  }));
}

export interface LoadedNetwork {
  topology: NetworkTopology;
  cache: BlockCache;
}

/** Builds the topology, encodes every block as R2 would store it and serves them from memory. */
export async function loadNetwork(
  name: string,
  options: { snapM?: number; maxBlockVertices?: number; budgetBytes?: number } = {},
): Promise<LoadedNetwork> {
  const edges = networkEdges(lineFeatures(await readFeatures(name)));
  const topology = buildTopology(edges, {
    snapM: options.snapM ?? 0,
    baseResolution: 1,
    maxBlockVertices: options.maxBlockVertices ?? 1_000_000,
  });
  const stored = topology.blocks.map((b) => ({ graph: encodeBlockGraph(b), lines: encodeBlockLines(b) }));
  const cache = new BlockCache(
    { shift: topology.shift, blocks: topology.blocks.map((b) => ({ vertex_count: b.vertexIds.length, bbox: b.bbox })) },
    (block, part) => Promise.resolve(stored[block]![part].slice()),
    options.budgetBytes ?? 64 * 1024 * 1024,
  );
  return { topology, cache };
}
