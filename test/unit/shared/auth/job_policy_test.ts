/** The job policy: the window rule (jobWindow), the scope check on it, and the tier checks, as edge and DO share them. */
import { deepEqual, equal, ok } from "node:assert/strict";
import * as geographiclib from "geographiclib-geodesic";
import {
  authorizeJobSpec,
  authorizeReads,
  type ClaimsSummary,
  jobWindow,
  type PolicyJobSpec,
} from "../../../../shared/auth/job_policy.ts";

const claims: ClaimsSummary = {
  sub: "u1",
  domain: "geo",
  spatial_scope: [0, 0, 10, 10],
  data_classification: "internal",
};
const tile = (x0: number, y0: number, x1: number, y1: number) => ({ bbox: [x0, y0, x1, y1] });
const spec = (overrides: Partial<PolicyJobSpec> = {}): PolicyJobSpec => ({
  owner_sub: "u1",
  operation: "polygon_intersection",
  predicate: "intersects",
  distance_m: 0,
  bbox: null,
  left: { kind: "payload", tiles: { a: tile(1, 1, 2, 2), b: tile(3, 3, 4, 4) } },
  right: { kind: "dataset", name: "zones", classification: "public", tiles: { c: tile(2, 0, 9, 5) } },
  ...overrides,
});
const dwithin = (distance_m: number, overrides: Partial<PolicyJobSpec> = {}) =>
  spec({ operation: "spatial_join", predicate: "dwithin", distance_m, ...overrides });
const rule = (s: PolicyJobSpec, c: ClaimsSummary | null = claims) => {
  const d = authorizeJobSpec(s, c);
  return d.ok ? "allow" : d.rule;
};

Deno.test("jobWindow is the request bbox when given, else the union of everything the job reads", () => {
  deepEqual(jobWindow(spec({ bbox: [5, 5, 6, 6] })), [[5, 5, 6, 6]]);
  deepEqual(jobWindow(spec()), [[1, 0, 9, 5]], "payload ∪ right dataset");
  const left = { kind: "dataset" as const, name: "l", classification: "public", tiles: { x: tile(-3, -3, -2, -2) } };
  deepEqual(jobWindow(spec({ left })), [[-3, -3, 9, 5]], "disjoint datasets: their union, not their (empty) overlap");
  equal(jobWindow(spec({ left: { kind: "payload", tiles: {} }, right: { ...spec().right, tiles: {} } })), null);
});

Deno.test("jobWindow of a shortest_path reaches its destination points too, and a point outside the scope denies it", () => {
  const destinations = { kind: "points" as const, xy: [3, 7, -1, 2, 8, 9.5] };
  deepEqual(jobWindow(spec({ operation: "shortest_path", destinations })), [[-1, 0, 9, 9.5]]);
  deepEqual(jobWindow(spec({ destinations: { kind: "points", xy: [] } })), [[1, 0, 9, 5]], "no points: nothing added");
  equal(
    rule(spec({ operation: "shortest_path", destinations })),
    "area_in_scope",
    "x = -1 lies outside [0, 0, 10, 10]",
  );
  equal(rule(spec({ operation: "shortest_path", destinations: { kind: "points", xy: [3, 7, 8, 9.5] } })), "allow");
});

Deno.test("jobWindow of dwithin reaches distance_m further: at least the geodesic buffer of every corner", () => {
  const [box] = jobWindow(dwithin(100_000, { bbox: [5, 40, 6, 41] }))!;
  ok(box![1] <= 40 - 100_000 / 110_574 && box![3] >= 41 + 100_000 / 110_574, "≥ 0.904° of latitude");
  ok(box![0] <= 5 - 1.18 && box![2] >= 6 + 1.18, "≥ 1.18° of longitude at 41°N (cos 41° · 111.3 km a degree)");
  ok(box![2] - box![0] < 1 + 2 * 1.3, "and not much more");
  const lib = (geographiclib as unknown as { default?: typeof geographiclib }).default ?? geographiclib;
  for (const [x, y, metres] of [[5, 40, 1_000_000], [-70, -60, 500_000], [20, 85, 300_000], [179, 0, 200_000]]) {
    const window = jobWindow(dwithin(metres!, { bbox: [x!, y!, x! + 0.5, y! + 0.5] }))!;
    for (let azimuth = 0; azimuth < 360; azimuth += 5) {
      const p = lib.Geodesic.WGS84.Direct(y!, x!, azimuth, metres!);
      const inside = window.some(([x0, y0, x1, y1]) =>
        p.lon2! >= x0 && p.lon2! <= x1 && p.lat2! >= y0 && p.lat2! <= y1
      );
      ok(inside, `${metres} m at ${azimuth}° from [${x}, ${y}] lands at [${p.lon2}, ${p.lat2}], outside the window`);
    }
  }
});

Deno.test("jobWindow of dwithin is clamped at the poles and split at the antimeridian", () => {
  const polar = jobWindow(dwithin(50_000, { bbox: [10, 89.8, 11, 89.9] }))!;
  equal(polar.length, 1);
  const [x0, y0, x1, y1] = polar[0]!;
  deepEqual([x0, x1, y1], [-180, 180, 90], "over the pole: every longitude, up to 90°N");
  ok(y0 <= 89.8 - 50_000 / 110_574 && y0 > 89, String(y0));
  const split = jobWindow(dwithin(20_000, { bbox: [179.9, 10, 179.95, 10.1] }))!;
  equal(split.length, 2);
  ok(split[0]![2] === 180 && split[1]![0] === -180 && split[1]![2] > -179.9, JSON.stringify(split));
  for (const [x0, y0, x1, y1] of split) ok(x0 >= -180 && x1 <= 180 && y0 >= -90 && y1 <= 90);
});

Deno.test("authorizeJobSpec allows a window inside scope and reports it", () => {
  deepEqual(authorizeJobSpec(spec(), claims), { ok: true, window: [[1, 0, 9, 5]] });
  deepEqual(authorizeJobSpec(spec({ bbox: [0, 0, 5, 5] }), claims), { ok: true, window: [[0, 0, 5, 5]] });
});

Deno.test("authorizeJobSpec denies a window reaching outside scope and tells the caller to pass a bbox", () => {
  const wide = { ...spec().right, tiles: { c: tile(-50, -50, 50, 50) } };
  const decision = authorizeJobSpec(spec({ right: wide }), claims);
  equal(decision.ok, false);
  ok(!decision.ok && /pass a bbox inside your spatial_scope/.test(decision.reason), JSON.stringify(decision));
  equal(rule(spec({ right: wide, bbox: [1, 1, 9, 9] })), "allow", "a bbox inside the scope bounds the window");
  equal(rule(spec({ bbox: [0, 0, 11, 5] })), "area_in_scope");
  equal(rule(spec({ left: { kind: "payload", tiles: { a: tile(9, 9, 12, 12) } } })), "area_in_scope");
});

Deno.test("authorizeJobSpec denies a dwithin between two datasets elsewhere (no overlap, no bbox)", () => {
  const elsewhere = (x: number) => ({
    kind: "dataset" as const,
    name: `d${x}`,
    classification: "public",
    tiles: { t: tile(x, 40, x + 1, 41) },
  });
  equal(rule(dwithin(1_000_000, { left: elsewhere(100), right: elsewhere(120) })), "area_in_scope");
});

Deno.test("authorizeJobSpec denies a payload near the scope's edge whose dwithin reach crosses it", () => {
  const near = { kind: "payload" as const, tiles: { a: tile(9.5, 5, 9.6, 5.1) } };
  const right = { ...spec().right, tiles: { c: tile(9, 4, 9.7, 6) } };
  equal(rule(spec({ left: near, right })), "allow");
  equal(rule(dwithin(100_000, { left: near, right })), "area_in_scope", "0.9° of reach crosses x = 10");
  equal(rule(dwithin(100_000, { left: near, right, bbox: [2, 2, 8, 8] })), "allow");
});

Deno.test("authorizeJobSpec denies a tier above the caller's, another owner, a side without a tier", () => {
  equal(rule(spec({ right: { kind: "dataset", name: "s", classification: "confidential", tiles: {} } })), "can_read");
  equal(rule(spec({ right: { kind: "dataset", name: "s", tiles: {} } })), "can_read", "unknown tier fails closed");
  equal(rule(spec({ owner_sub: "u2" })), "owner");
  equal(rule(spec(), null), "owner");
});

Deno.test("authorizeReads checks any reader (an operator downloading another's result) by tier and scope", () => {
  const operator: ClaimsSummary = { ...claims, sub: "ops", data_classification: "public", roles: ["operator"] };
  const internal = { ...spec().right, classification: "internal" };
  equal(authorizeReads(spec({ right: internal }), operator).ok, false, "tier public < internal");
  equal(authorizeReads(spec(), { ...operator, spatial_scope: [0, 0, 3, 3] }).ok, false, "scope");
  equal(authorizeReads(spec(), operator).ok, true);
});
