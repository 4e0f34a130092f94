/** authorizeJobSpec: the DO-side re-check of a recorded job against the recorded claims. */
import { deepEqual, equal } from "node:assert/strict";
import { authorizeJobSpec, type ClaimsSummary, jobArea, type PolicyJobSpec } from "../../../src/auth/job_policy.ts";

const claims: ClaimsSummary = {
  sub: "u1",
  domain: "geo",
  spatial_scope: [0, 0, 10, 10],
  data_classification: "internal",
};
const tile = (x0: number, y0: number, x1: number, y1: number) => ({ bbox: [x0, y0, x1, y1] });
const spec = (overrides: Partial<PolicyJobSpec> = {}): PolicyJobSpec => ({
  owner_sub: "u1",
  bbox: null,
  left: { kind: "payload", tiles: { a: tile(1, 1, 2, 2), b: tile(3, 3, 4, 4) } },
  right: { kind: "dataset", name: "zones", classification: "public", tiles: { c: tile(-50, -50, 50, 50) } },
  ...overrides,
});

Deno.test("authorizeJobSpec allows a payload inside scope and reports the area (payload ∪ bbox)", () => {
  deepEqual(authorizeJobSpec(spec(), claims), { ok: true, area: [1, 1, 4, 4] });
  deepEqual(authorizeJobSpec(spec({ bbox: [0, 0, 5, 5] }), claims), { ok: true, area: [0, 0, 5, 5] });
});

Deno.test("authorizeJobSpec denies an area outside scope, a tier above the caller's, another owner, missing data", () => {
  const rule = (s: PolicyJobSpec, c: ClaimsSummary | null = claims) => {
    const d = authorizeJobSpec(s, c);
    return d.ok ? "allow" : d.rule;
  };
  equal(rule(spec({ bbox: [0, 0, 11, 5] })), "area_in_scope");
  equal(rule(spec({ left: { kind: "payload", tiles: { a: tile(9, 9, 12, 12) } } })), "area_in_scope");
  equal(
    rule(spec({ right: { kind: "dataset", name: "s", classification: "confidential", tiles: {} } })),
    "can_read",
  );
  equal(rule(spec({ right: { kind: "dataset", name: "s", tiles: {} } })), "can_read", "unknown tier fails closed");
  equal(rule(spec({ owner_sub: "u2" })), "owner");
  equal(rule(spec(), null), "owner");
});

Deno.test("jobArea of two datasets without a bbox is their overlap (null when disjoint)", () => {
  deepEqual(jobArea(null, [0, 0, 5, 5], [3, 3, 9, 9], false), [3, 3, 5, 5]);
  equal(jobArea(null, [0, 0, 1, 1], [3, 3, 9, 9], false), null);
});
