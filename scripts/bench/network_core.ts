/**
 * The network core in one process on the generated million-edge network (N2/N3's graph): topology build, block
 * sizes, and searches under different block-cache budgets, checked against pgRouting's per-origin summaries.
 * The figures behind the storage and memory choices in the README ("Network datasets").
 *
 * Usage: deno run -A scripts/bench/network_core.ts [--origins 20] [--budgets 64,16,4] [--block-vertices 65536]
 * Needs ~/.cache/spatial-jobs/network/generated_large_edges.geojson (`generate_network.ts large`).
 */
import { parseArgs } from "node:util";
import { readFeatureLines } from "../fixtures/network/edges.ts";
import { buildTopology, type NetworkEdge } from "../../shared/network/topology.ts";
import { encodeBlockGraph, encodeBlockLines } from "../../shared/network/block_codec.ts";
import { BlockCache } from "../../operations/network/block_cache.ts";
import { snapPoint } from "../../operations/network/snap.ts";
import { serviceAreaFrom, shortestPathsFrom } from "../../operations/network/traverse.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    origins: { type: "string", default: "20" },
    budgets: { type: "string", default: "64,16,4" },
    "block-vertices": { type: "string", default: "65536" },
  },
});
const cacheDir = `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/spatial-jobs/network`;
const fixtures = new URL("../../test/fixtures/network/", import.meta.url);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
const cpu = () => {
  // Deno.cpuUsage is newer than the lib the check uses here.
  const usage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } }).cpuUsage;
  const u = usage?.();
  return u ? (u.user + u.system) / 1000 : performance.now();
};

type EdgeLine = { properties: { cost: number; reverse_cost: number }; geometry: { coordinates: number[][] } };
const edges: NetworkEdge[] = [];
for await (const f of readFeatureLines<EdgeLine>(`${cacheDir}/generated_large_edges.geojson`)) {
  edges.push({
    xy: Float64Array.from(f.geometry.coordinates.flat()),
    cost: f.properties.cost,
    reverse_cost: f.properties.reverse_cost,
  });
}
let t = cpu();
const topology = buildTopology(edges, {
  snapM: 0,
  baseResolution: 1,
  maxBlockVertices: Number(flags["block-vertices"]),
});
const buildMs = cpu() - t;
const stored = topology.blocks.map((b) => ({ graph: encodeBlockGraph(b), lines: encodeBlockLines(b) }));
const graphBytes = stored.reduce((n, s) => n + s.graph.byteLength, 0);
const linesBytes = stored.reduce((n, s) => n + s.lines.byteLength, 0);
console.log(
  `topology: ${topology.vertex_count} vertices, ${topology.edge_count} edges, ${topology.component_count} components, ` +
    `${topology.blocks.length} blocks at res ${topology.resolution}; build ${(buildMs / 1000).toFixed(1)} s CPU; ` +
    `graph ${mib(graphBytes)} MiB, lines ${mib(linesBytes)} MiB`,
);

type Summary = { left_id: number; rows: number; cost_sum: number; cost_max: number };
const readJson = async <T>(url: URL) => JSON.parse(await Deno.readTextFile(url)) as T;
const points = async (name: string) => {
  const fc = await readJson<{ features: { id: number; geometry: { coordinates: [number, number] } }[] }>(
    new URL(name, fixtures),
  );
  return fc.features;
};
const n2 = await readJson<Summary[]>(new URL("answers/large_shortest_path_n2_summary.json", fixtures));
const n3 = await readJson<Summary[]>(new URL("answers/large_service_area_n3_summary.json", fixtures));
const origins = await points("points_large_origins.geojson");
const destinations = await points("points_large_destinations.geojson");
const originCount = Number(flags.origins);

for (const budgetMiB of flags.budgets.split(",").map(Number)) {
  const cache = new BlockCache(
    { shift: topology.shift, blocks: topology.blocks.map((b) => ({ vertex_count: b.vertexIds.length, bbox: b.bbox })) },
    (block, part) => Promise.resolve(stored[block]![part]),
    budgetMiB * 2 ** 20,
  );
  t = cpu();
  const snapped = [];
  for (const p of [...origins, ...destinations]) snapped.push(await snapPoint(cache, ...p.geometry.coordinates));
  const snapMs = cpu() - t;
  const o = snapped.slice(0, origins.length);
  const d = snapped.slice(origins.length).map((s) => s.ref);
  t = cpu();
  let bad = 0;
  const perOrigin: number[] = [];
  for (let i = 0; i < originCount; i++) {
    const started = cpu();
    const { reached } = await shortestPathsFrom(cache, o[i]!.ref, d, false);
    perOrigin.push(cpu() - started);
    let sum = 0;
    for (const ref of d) sum += reached.get(ref)?.cost ?? 0;
    if (reached.size !== n2[i]!.rows || Math.abs(sum - n2[i]!.cost_sum) > 1e-9 * n2[i]!.cost_sum) bad++;
  }
  const n2Ms = (cpu() - t) / originCount;
  // The least per-origin time is the one the machine's other load inflates least.
  const leastMs = Math.min(...perOrigin);
  const readsAfterN2 = cache.stats.block_reads;
  t = cpu();
  let area = 0;
  for (let i = 0; i < 100; i++) {
    const { area: settled } = await serviceAreaFrom(cache, o[i]!.ref, 300);
    const sum = settled.costs.reduce((s, cost) => s + cost, 0);
    area += settled.costs.length;
    if (settled.costs.length !== n3[i]!.rows || Math.abs(sum - n3[i]!.cost_sum) > 1e-9 * n3[i]!.cost_sum) bad++;
  }
  const n3Ms = cpu() - t;
  console.log(
    `cache ${budgetMiB} MiB: snap 2,000 points ${(snapMs / 1000).toFixed(2)} s; N2 ${
      n2Ms.toFixed(0)
    } ms CPU per origin (least ${leastMs.toFixed(0)} ms) ` +
      `(${originCount} origins × 1,000; 1,000 origins ≈ ${n2Ms.toFixed(0)} s); N3 100 origins ${
        (n3Ms / 1000).toFixed(2)
      } s ` +
      `(${area} rows); block reads ${readsAfterN2} during N2, ${cache.stats.block_reads} in all, ` +
      `peak ${mib(cache.stats.peak_block_bytes)} MiB of blocks; ${bad} origins differ from pgRouting`,
  );
}
