/**
 * The ABAC policy of a job, as pure functions over what a job spec records,
 * so the edge (before enqueueing) and the Durable Object (before reading any
 * data) decide the same way. Defence in depth: the partition ledger calls
 * {@link authorizeJobSpec} with the claims summary the edge stored in the
 * spec, and refuses the job if the decision is a deny.
 */
import { type Bbox, type Classification, classificationRank, CLASSIFICATIONS } from "../contract/common.ts";
import type { Claims } from "./claims.ts";
import { bboxWithin } from "./abac.ts";

/**
 * The part of the caller's verified claims a job keeps: enough to re-check
 * the policy later, and nothing else (no `exp`/`iat`, no token, no headers).
 */
export interface ClaimsSummary {
  sub: string;
  domain: string;
  spatial_scope: Bbox;
  data_classification: Classification;
  roles?: string[];
}

/** The summary of verified claims to store in a job spec. */
export function claimsSummary(claims: Claims): ClaimsSummary {
  return {
    sub: claims.sub,
    domain: claims.domain,
    spatial_scope: [...claims.spatial_scope] as Bbox,
    data_classification: claims.data_classification,
    ...(claims.roles ? { roles: [...claims.roles] } : {}),
  };
}

/** A tile as the spec records it (only its extent matters here). */
interface TileExtent {
  bbox: readonly number[];
}

/** One side of a job as the spec records it; dataset sides must carry the pinned version's classification. */
export type PolicySide =
  | { kind: "dataset"; name: string; classification?: string; tiles: Record<string, TileExtent> }
  | { kind: "payload"; tiles: Record<string, TileExtent> };

/** The fields of a job spec the policy reads (structurally a subset of `JobSpec`). */
export interface PolicyJobSpec {
  owner_sub: string;
  bbox: Bbox | null;
  left: PolicySide;
  right: PolicySide;
}

export type PolicyRule = "owner" | "area_in_scope" | "can_read";

/** The policy's answer: allow, or the first rule that denies and why (safe to log and to record). */
export type JobSpecDecision =
  | { ok: true; area: Bbox | null }
  | { ok: false; code: "FORBIDDEN"; rule: PolicyRule; reason: string };

/** The union of the tiles' extents (whole features), or null when there are no tiles. */
export function tilesExtent(tiles: Record<string, TileExtent>): Bbox | null {
  let box: Bbox | null = null;
  for (const { bbox: b } of Object.values(tiles)) {
    box = box
      ? [Math.min(box[0], b[0]!), Math.min(box[1], b[1]!), Math.max(box[2], b[2]!), Math.max(box[3], b[3]!)]
      : [b[0]!, b[1]!, b[2]!, b[3]!];
  }
  return box;
}

/**
 * The area a job may touch, checked against `spatial_scope`: the request's
 * bbox ∪ the payload's extent when the left side is a payload; else the bbox;
 * else where the two datasets overlap (null when they do not).
 */
export function jobArea(bbox: Bbox | null, left: Bbox | null, right: Bbox | null, leftIsPayload: boolean): Bbox | null {
  if (leftIsPayload) {
    if (bbox && left) {
      return [
        Math.min(bbox[0], left[0]),
        Math.min(bbox[1], left[1]),
        Math.max(bbox[2], left[2]),
        Math.max(bbox[3], left[3]),
      ];
    }
    return bbox ?? left;
  }
  if (bbox) return bbox;
  if (!left || !right) return left ?? right;
  const overlap: Bbox = [
    Math.max(left[0], right[0]),
    Math.max(left[1], right[1]),
    Math.min(left[2], right[2]),
    Math.min(left[3], right[3]),
  ];
  return overlap[0] <= overlap[2] && overlap[1] <= overlap[3] ? overlap : null;
}

function isClassification(value: unknown): value is Classification {
  return typeof value === "string" && (CLASSIFICATIONS as readonly string[]).includes(value);
}

/**
 * Re-checks a recorded job against the claims recorded with it: the spec's
 * owner is the claims' subject; the job's area lies inside `spatial_scope`;
 * every dataset side is classified at or below the caller's tier. A dataset
 * side without a known classification is denied (fail closed). Pure: the
 * caller logs the decision.
 *
 * @example
 * ```ts
 * const decision = authorizeJobSpec(spec, spec.claims);
 * if (!decision.ok) return fail(spec.job_id, { status: 403, detail: decision.reason });
 * ```
 */
export function authorizeJobSpec(spec: PolicyJobSpec, claims: ClaimsSummary | null | undefined): JobSpecDecision {
  if (!claims || spec.owner_sub !== claims.sub) {
    return {
      ok: false,
      code: "FORBIDDEN",
      rule: "owner",
      reason: "the job's owner does not match the recorded claims",
    };
  }
  if (!isClassification(claims.data_classification)) {
    return { ok: false, code: "FORBIDDEN", rule: "can_read", reason: "the recorded claims have no valid tier" };
  }
  for (const [field, side] of [["left_dataset", spec.left], ["dataset", spec.right]] as const) {
    if (side.kind !== "dataset") continue;
    if (!isClassification(side.classification)) {
      return {
        ok: false,
        code: "FORBIDDEN",
        rule: "can_read",
        reason: `${field} "${side.name}" has no recorded classification`,
      };
    }
    if (classificationRank(side.classification) > classificationRank(claims.data_classification)) {
      return {
        ok: false,
        code: "FORBIDDEN",
        rule: "can_read",
        reason:
          `${field} "${side.name}" is ${side.classification}, above the caller's tier ${claims.data_classification}`,
      };
    }
  }
  const area = jobArea(
    spec.bbox,
    tilesExtent(spec.left.tiles),
    tilesExtent(spec.right.tiles),
    spec.left.kind === "payload",
  );
  if (area && !bboxWithin(area, claims.spatial_scope)) {
    return {
      ok: false,
      code: "FORBIDDEN",
      rule: "area_in_scope",
      reason: `the job's area [${area.join(", ")}] reaches outside spatial_scope [${claims.spatial_scope.join(", ")}]`,
    };
  }
  return { ok: true, area };
}
