/**
 * The ABAC policy of a job, as pure functions over what a job spec records,
 * so the edge (before enqueueing) and the Durable Object (before reading any
 * data) decide the same way. Defence in depth: the partition ledger calls
 * {@link authorizeJobSpec} with the claims summary the edge stored in the
 * spec, and refuses the job if the decision is a deny.
 */
import { type Bbox, type Classification, classificationRank, CLASSIFICATIONS } from "../contract/common.ts";
import type { Claims } from "./claims.ts";
import { reachBoxes } from "../../wasm/geodesic.ts";
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
  | { kind: "dataset"; name: string; classification?: string; tiles: Record<string, TileExtent>; network?: object }
  | { kind: "payload"; tiles: Record<string, TileExtent> };

/** A network job's destinations as the policy reads them: a side, or the request's own points. */
export type PolicyDestinations = PolicySide | { kind: "points"; xy: readonly number[] };

/** The fields of a job spec the policy reads (structurally a subset of `JobSpec`). */
export interface PolicyJobSpec {
  owner_sub: string;
  operation: string;
  /** spatial_join's predicate and `dwithin` distance (absent for other operations). */
  predicate?: string;
  distance_m?: number;
  bbox: Bbox | null;
  left: PolicySide;
  right: PolicySide;
  destinations?: PolicyDestinations;
}

export type PolicyRule = "owner" | "area_in_scope" | "can_read";

/** The policy's answer: allow, or the first rule that denies and why (safe to log and to record). */
export type JobSpecDecision =
  | { ok: true; window: JobWindow | null }
  | { ok: false; code: "FORBIDDEN"; rule: PolicyRule; reason: string };

/** The union of the tiles' extents (whole features), or null when there are no tiles. */
function tilesExtent(tiles: Record<string, TileExtent>): Bbox | null {
  let box: Bbox | null = null;
  for (const { bbox: b } of Object.values(tiles)) {
    box = box
      ? [Math.min(box[0], b[0]!), Math.min(box[1], b[1]!), Math.max(box[2], b[2]!), Math.max(box[3], b[3]!)]
      : [b[0]!, b[1]!, b[2]!, b[3]!];
  }
  return box;
}

/**
 * The area a job may read, as one or more lon/lat boxes inside the domain (two when it wraps the antimeridian):
 * every feature the job reads or returns, on either side, intersects it.
 */
export type JobWindow = Bbox[];

/**
 * A job's window: the request's bbox when given, else the union of the extents of everything the job reads
 * (payload, left dataset, right dataset, destinations); for `dwithin`, expanded by `distance_m` (geodesically,
 * clamped at the poles, split at the antimeridian: see {@link reachBoxes}). A network's search may reach any of its
 * blocks, so a network dataset's whole extent is always in the window, bbox or not. Null when the job reads nothing.
 *
 * @example
 * ```ts
 * jobWindow({ ...spec, bbox: [0, 0, 1, 1], operation: "polygon_intersection" }); // [[0, 0, 1, 1]]
 * ```
 */
export function jobWindow(
  spec: Pick<PolicyJobSpec, "operation" | "predicate" | "distance_m" | "bbox" | "left" | "right" | "destinations">,
): JobWindow | null {
  const read = spec.bbox ??
    unionOf(
      unionOf(tilesExtent(spec.left.tiles), tilesExtent(spec.right.tiles)),
      destinationsExtent(spec.destinations),
    );
  const whole = spec.right.kind === "dataset" && spec.right.network ? tilesExtent(spec.right.tiles) : null;
  const base = unionOf(read, whole);
  if (!base) return null;
  const dwithin = spec.operation === "spatial_join" && spec.predicate === "dwithin";
  return dwithin ? reachBoxes(base, spec.distance_m ?? 0) : [[...base] as Bbox];
}

/** Whether every box of the window lies inside `scope` (edges inclusive). */
function windowWithin(window: JobWindow, scope: Bbox): boolean {
  return window.every((box) => bboxWithin(box, scope));
}

function destinationsExtent(side: PolicyDestinations | undefined): Bbox | null {
  if (!side) return null;
  if (side.kind !== "points") return tilesExtent(side.tiles);
  if (!side.xy.length) return null;
  // Checked on every slice of a network job: no array per point (1,000 destinations made ~0.1 MB of garbage).
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < side.xy.length; i += 2) {
    const x = side.xy[i]!, y = side.xy[i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return [minX, minY, maxX, maxY];
}

function unionOf(a: Bbox | null, b: Bbox | null): Bbox | null {
  if (!a || !b) return a ?? b;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

function isClassification(value: unknown): value is Classification {
  return typeof value === "string" && (CLASSIFICATIONS as readonly string[]).includes(value);
}

/**
 * Checks a job against the claims recorded with it: the spec's owner is the
 * claims' subject; the job's window ({@link jobWindow}) lies inside `spatial_scope`;
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
  return authorizeReads(spec, claims);
}

/**
 * Whether `claims` may read what the job reads: every dataset side at or below the caller's tier, and the job's
 * window inside `spatial_scope`. Whoever the caller is: the owner submitting, the partition re-checking, anyone
 * (operators included) downloading the result.
 */
export function authorizeReads(spec: Omit<PolicyJobSpec, "owner_sub">, claims: ClaimsSummary): JobSpecDecision {
  if (!isClassification(claims.data_classification)) {
    return { ok: false, code: "FORBIDDEN", rule: "can_read", reason: "the recorded claims have no valid tier" };
  }
  const sides = [["left_dataset", spec.left], ["dataset", spec.right], [
    "destinations_dataset",
    spec.destinations,
  ]] as const;
  for (const [field, side] of sides) {
    if (side?.kind !== "dataset") continue;
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
  const window = jobWindow(spec);
  if (window && !windowWithin(window, claims.spatial_scope)) {
    // Without a bbox the window is the data's extent: naming it would hand out coordinates outside the scope.
    const boxes = spec.bbox
      ? ` ${window.map((box) => `[${box.join(", ")}]`).join(" and ")}`
      : " (the extent of the data it reads)";
    return {
      ok: false,
      code: "FORBIDDEN",
      rule: "area_in_scope",
      reason: `the job's window${boxes} reaches outside spatial_scope [${claims.spatial_scope.join(", ")}]: ` +
        "pass a bbox inside your spatial_scope (for dwithin, at least distance_m inside its edges)",
    };
  }
  return { ok: true, window };
}
