/**
 * How a network job is planned: each origin tile's searches spread over up to 7 partitions only when they are
 * worth it (origins × the network's vertices), since a partition's machinery costs more than a small job's searches.
 */
import { deepEqual, equal } from "node:assert/strict";
import type { DatasetManifest } from "../../../../shared/dataset_manifest.ts";
import type { PlanInput } from "../../../../operations/operation.ts";
import { shortestPath } from "../../../../operations/shortest_path.ts";

const CELL = "851f9a4bfffffff"; // an H3 cell at resolution 5

function input(origins: number, vertices: number): PlanInput {
  const dataset = {
    name: "roads",
    version: 1,
    owner_domain: "d",
    classification: "public",
    feature_count: vertices,
    bbox: [0, 0, 1, 1],
    geometry_types: ["LineString"],
    resolution: 5,
    repaired_count: 0,
    tiles: [{ cell: CELL, key: "k", feature_count: vertices, bbox: [0, 0, 1, 1], bytes: 1 }],
    content_hash: "h",
    etag: "e",
    created_at: "2026-01-01T00:00:00Z",
    published_by: "p",
    kind: "network",
    vertex_count: vertices,
    edge_count: vertices,
    component_count: 1,
    snap_m: 0,
    block_resolution: 5,
    block_shift: 16,
  } as DatasetManifest;
  return {
    request: { spatial_operation: "shortest_path", dataset: "roads", path_geometry: false } as PlanInput["request"],
    left: {
      side: {
        kind: "points_payload",
        tiles: { [CELL]: { key: "o", bbox: [0, 0, 1, 1], feature_count: origins, bytes: 1 } },
      } as unknown as PlanInput["left"]["side"],
      types: ["Point"],
      bbox: [0, 0, 1, 1],
    },
    dataset,
    filter: null,
    groupBytes: 0,
  };
}

Deno.test("100 origins on a 14,652-vertex network (N1) stay in one partition", () => {
  const plan = shortestPath.plan(input(100, 14_652));
  deepEqual(plan.partitions, [CELL]);
  deepEqual(plan.params.origin_shares, { [CELL]: [0, 1] });
});

Deno.test("1,000 origins on a 525,800-vertex network (N2) spread over 7 partitions", () => {
  const plan = shortestPath.plan(input(1_000, 525_800));
  equal(plan.partitions.length, 7);
  deepEqual(Object.values(plan.params.origin_shares!).map(([, of]) => of), Array(7).fill(7));
});

Deno.test("100 origins on a 525,800-vertex network spread over 6 partitions (10 M vertices each at most)", () => {
  equal(shortestPath.plan(input(100, 525_800)).partitions.length, 6);
});
