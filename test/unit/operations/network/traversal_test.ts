/**
 * The network core against pgRouting's answers (test/fixtures/network): vertices, snapping,
 * pgr_dijkstraCost, pgr_drivingDistance and pgr_dijkstra's path lines.
 */
import { deepEqual, ok } from "node:assert/strict";
import { snapPoint } from "../../../../operations/network/snap.ts";
import { serviceAreaFrom, shortestPathsFrom } from "../../../../operations/network/traverse.ts";
import { type LoadedNetwork, loadNetwork, readAnswer, readFeatures } from "./fixture_network.ts";

function near(got: number, want: number, tolerance: number, message: string) {
  ok(Math.abs(got - want) <= tolerance, `${message}: ${got} vs ${want}`);
}

type Row = { left_id: number; right_id: number; start_vid: number; end_vid: number; cost: number };
type AreaRow = { left_id: number; vertex_id: number; agg_cost: number };
type PathRow = Row & { geometry: { coordinates: number[][] } };

async function snapped(net: LoadedNetwork, pointsFile: string) {
  const points = await readFeatures(pointsFile);
  const out = [];
  for (const p of points) {
    const [x, y] = p.geometry.coordinates as number[];
    out.push({ id: p.id, ...await snapPoint(net.cache, x!, y!) });
  }
  return out;
}

function vertexList(net: LoadedNetwork): [number, number, number][] {
  return net.topology.blocks
    .flatMap((b) =>
      [...b.vertexIds].map((id, i) => [id, b.lonlat[2 * i]!, b.lonlat[2 * i + 1]!] as [number, number, number])
    )
    .sort((a, b) => a[0] - b[0]);
}

async function shortestRows(
  net: LoadedNetwork,
  origins: Awaited<ReturnType<typeof snapped>>,
  dests: typeof origins,
  withLine = false,
) {
  const rows: (Row & { line?: Float64Array })[] = [];
  for (const o of origins) {
    const { reached } = await shortestPathsFrom(net.cache, o.ref, dests.map((d) => d.ref), withLine);
    for (const d of dests) {
      const r = reached.get(d.ref);
      if (r) {
        rows.push({
          left_id: o.id,
          right_id: d.id,
          start_vid: o.vertexId,
          end_vid: d.vertexId,
          cost: r.cost,
          ...(r.line ? { line: r.line } : {}),
        });
      }
    }
  }
  return rows;
}

function assertCosts(got: Row[], want: Row[], what: string) {
  deepEqual(
    got.map((r) => [r.left_id, r.right_id, r.start_vid, r.end_vid]),
    want.map((r) => [r.left_id, r.right_id, r.start_vid, r.end_vid]),
    `${what}: pairs`,
  );
  got.forEach((r, i) =>
    near(
      r.cost,
      want[i]!.cost,
      1e-9 * Math.max(1, want[i]!.cost),
      `${what}: cost ${r.left_id}→${r.right_id}`,
    )
  );
}

async function areaRows(net: LoadedNetwork, origins: Awaited<ReturnType<typeof snapped>>, maxCost: number) {
  const rows: AreaRow[] = [];
  for (const o of origins) {
    const { area } = await serviceAreaFrom(net.cache, o.ref, maxCost);
    area.vertexIds.forEach((id, k) => rows.push({ left_id: o.id, vertex_id: id, agg_cost: area.costs[k]! }));
  }
  return rows;
}

function assertArea(got: AreaRow[], want: AreaRow[], what: string) {
  deepEqual(
    got.map((r) => [r.left_id, r.vertex_id]),
    want.map((r) => [r.left_id, r.vertex_id]),
    `${what}: vertex sets`,
  );
  got.forEach((r, i) =>
    near(r.agg_cost, want[i]!.agg_cost, 1e-9 * Math.max(1, want[i]!.agg_cost), `${what}: ${r.left_id}→${r.vertex_id}`)
  );
}

for (const [topo, snapM] of [["cases", 0], ["cases_snap1m", 1]] as const) {
  Deno.test(`${topo}: vertices, snaps, costs, paths and service areas equal pgRouting's (one-way, sink, island, self-loop, parallel edges)`, async () => {
    const net = await loadNetwork("cases_edges.geojson", { snapM });
    deepEqual(vertexList(net), await readAnswer(`${topo}_vertices.json`));
    deepEqual(net.topology.component_count, topo === "cases" ? 4 : 3);
    const points = await snapped(net, "cases_points.geojson");
    const wantSnaps = await readAnswer<{ id: number; vertex_id: number; distance_m: number }[]>(
      `${topo}_points_snapped.json`,
    );
    deepEqual(points.map((p) => [p.id, p.vertexId]), wantSnaps.map((s) => [s.id, s.vertex_id]));
    const rows = await shortestRows(net, points, points, true);
    assertCosts(rows, await readAnswer(`${topo}_shortest_path.json`), topo);
    const paths = await readAnswer<PathRow[]>(`${topo}_paths.json`);
    for (const path of paths) {
      const row = rows.find((r) => r.left_id === path.left_id && r.right_id === path.right_id)!;
      deepEqual([...row.line!], path.geometry.coordinates.flat(), `path ${path.left_id}→${path.right_id}`);
    }
    for (const maxCost of [100, 200]) {
      assertArea(
        await areaRows(net, points, maxCost),
        await readAnswer(`${topo}_service_area_${maxCost}.json`),
        `${topo} ${maxCost}`,
      );
    }
  });
}

Deno.test("small generated network cut into many blocks: 50 × 50 costs, paths and service areas equal pgRouting's", async () => {
  const net = await loadNetwork("generated_small_edges.geojson", { maxBlockVertices: 100, budgetBytes: 64 * 1024 });
  ok(net.topology.blocks.length >= 10, `${net.topology.blocks.length} blocks`);
  deepEqual(vertexList(net), await readAnswer("small_vertices.json"));
  deepEqual(net.topology.component_count, 4);
  const points = await snapped(net, "points_small.geojson");
  deepEqual(
    points.map((p) => [p.id, p.vertexId]),
    (await readAnswer<{ id: number; vertex_id: number }[]>("small_points_snapped.json")).map((
      s,
    ) => [s.id, s.vertex_id]),
  );
  const rows = await shortestRows(net, points, points, true);
  assertCosts(rows, await readAnswer("small_shortest_path.json"), "small");
  for (const path of await readAnswer<PathRow[]>("small_paths.json")) {
    const row = rows.find((r) => r.left_id === path.left_id && r.right_id === path.right_id)!;
    deepEqual([...row.line!], path.geometry.coordinates.flat(), `path ${path.left_id}→${path.right_id}`);
  }
  assertArea(
    await areaRows(net, points.slice(0, 10), 120),
    await readAnswer("small_service_area_120.json"),
    "small 120",
  );
  ok(net.cache.stats.block_reads > net.topology.blocks.length, "a 64 KiB budget re-reads dropped blocks");
});

Deno.test("OSM Gothenburg (N1): 100 × 100 costs equal pgr_dijkstraCost's, service areas pgr_drivingDistance's", async () => {
  const net = await loadNetwork("osm_gothenburg_edges.geojson.gz", { maxBlockVertices: 2000 });
  deepEqual(net.topology.vertex_count, 14_652);
  deepEqual(net.topology.component_count, 42);
  const origins = await snapped(net, "points_osm_origins.geojson");
  const dests = await snapped(net, "points_osm_destinations.geojson");
  deepEqual(
    origins.map((p) => p.vertexId),
    (await readAnswer<{ vertex_id: number }[]>("osm_origins_snapped.json")).map((s) => s.vertex_id),
  );
  assertCosts(await shortestRows(net, origins, dests), await readAnswer("osm_shortest_path_n1.json"), "osm N1");
  assertArea(
    await areaRows(net, origins.slice(0, 20), 1000),
    await readAnswer("osm_service_area_1000.json"),
    "osm 1000",
  );
});

Deno.test("OSM Gothenburg snapped at 5 m: vertices, costs and service areas equal pgRouting's", async () => {
  const net = await loadNetwork("osm_gothenburg_edges.geojson.gz", { snapM: 5 });
  deepEqual(net.topology.vertex_count, 14_105);
  deepEqual(net.topology.component_count, 40);
  const origins = (await snapped(net, "points_osm_origins.geojson")).slice(0, 20);
  const dests = (await snapped(net, "points_osm_destinations.geojson")).slice(0, 20);
  assertCosts(await shortestRows(net, origins, dests), await readAnswer("osm_snap5m_shortest_path.json"), "osm snap5m");
  assertArea(
    await areaRows(net, origins.slice(0, 5), 1000),
    await readAnswer("osm_snap5m_service_area_1000.json"),
    "osm snap5m 1000",
  );
});
