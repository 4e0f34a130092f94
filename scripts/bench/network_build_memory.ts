/**
 * Whether the multipart network build (durable-objects/dataset_catalog/build_network.ts) fits a Durable Object's
 * 128 MB on the generated million-edge network: the parts are staged as files (200,000 edges each, as the service
 * stages them in R2), then the build runs in a V8 whose old space is capped at 128 MB, reading the parts from disk;
 * it fails with an out-of-memory error if it does not fit. Prints the build's CPU time and the heap after it.
 *
 * Usage: deno run -A scripts/bench/network_build_memory.ts
 * Needs ~/.cache/spatial-jobs/network/generated_large_edges.geojson (`generate_network.ts large`).
 */
import { readFeatureLines } from "../fixtures/network/edges.ts";
import type { NetworkEdge } from "../../shared/network/topology.ts";
import { encodeStagedEdges } from "../../shared/network/staged_edges.ts";
import { buildUploadNetwork } from "../../durable-objects/dataset_catalog/build_network.ts";
import type { TileBucket } from "../../shared/tiles/fgb_reader.ts";

const PART_EDGES = 200_000;
const cacheDir = `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/spatial-jobs/network`;

if (Deno.args[0] === "--build") {
  const dir = Deno.args[1]!;
  const parts = JSON.parse(await Deno.readTextFile(`${dir}/parts.json`)) as { n: number; feature_count: number }[];
  const bucket = {
    get: async (key: string) => {
      const bytes = await Deno.readFile(`${dir}/${key}`);
      return { arrayBuffer: () => Promise.resolve(bytes.buffer) };
    },
    put: () => Promise.resolve(null),
  } as unknown as Pick<TileBucket, "get" | "put">;
  const started = performance.now();
  const built = await buildUploadNetwork(
    bucket,
    "",
    parts.map((p) => ({ ...p, edges_key: `part-${p.n}.bin` })),
    { snapM: 0, baseResolution: 1, maxBlockVertices: 65_536 },
  );
  console.log(
    `built ${built.vertex_count} vertices, ${built.edge_count} edges, ${built.component_count} components, ` +
      `${built.tiles.length} blocks in ${((performance.now() - started) / 1000).toFixed(1)} s with ` +
      `--max-old-space-size=128; heap used after: ${(Deno.memoryUsage().heapUsed / 2 ** 20).toFixed(1)} MiB`,
  );
} else {
  const dir = await Deno.makeTempDir({ prefix: "network-build-" });
  type EdgeLine = { properties: { cost: number; reverse_cost: number }; geometry: { coordinates: number[][] } };
  const parts: { n: number; feature_count: number }[] = [];
  let edges: NetworkEdge[] = [];
  const flush = async () => {
    const n = parts.length + 1;
    await Deno.writeFile(`${dir}/part-${n}.bin`, encodeStagedEdges(edges));
    parts.push({ n, feature_count: edges.length });
    edges = [];
  };
  for await (const f of readFeatureLines<EdgeLine>(`${cacheDir}/generated_large_edges.geojson`)) {
    edges.push({
      xy: Float64Array.from(f.geometry.coordinates.flat()),
      cost: f.properties.cost,
      reverse_cost: f.properties.reverse_cost,
    });
    if (edges.length === PART_EDGES) await flush();
  }
  if (edges.length) await flush();
  await Deno.writeTextFile(`${dir}/parts.json`, JSON.stringify(parts));
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=128", import.meta.filename!, "--build", dir],
  }).spawn().status;
  await Deno.remove(dir, { recursive: true });
  Deno.exit(child.code);
}
