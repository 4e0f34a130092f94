/**
 * Attribute-based access decisions. Each helper logs its decision and reason
 * and throws {@link ForbiddenError} (403) on deny.
 */
import { type Classification, classificationRank } from "../contract/common.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import { ForbiddenError } from "../problem.ts";
import type { Claims } from "./claims.ts";

/** The role claim value that unlocks `/v1/ops/...`. */
export const OPERATOR_ROLE = "operator";

const fallback = createLogger({ trace_id: "none", span_id: "none" });

function decide(logger: Logger | undefined, rule: string, allow: boolean, reason: string, fields = {}): void {
  (logger ?? fallback)[allow ? "debug" : "warn"]("abac decision", {
    rule,
    decision: allow ? "allow" : "deny",
    reason,
    ...fields,
  });
}

/** True when `inner` lies within `outer` (edges inclusive). */
export function bboxWithin(inner: readonly number[], outer: readonly number[]): boolean {
  return inner[0]! >= outer[0]! && inner[1]! >= outer[1]! && inner[2]! <= outer[2]! && inner[3]! <= outer[3]!;
}

/** Allows reading data classified at or below the caller's tier; 403 otherwise. */
export function assertCanRead(
  classification: Classification,
  callerTier: Classification,
  logger?: Logger,
  what = "the dataset",
): void {
  const allow = classificationRank(classification) <= classificationRank(callerTier);
  decide(logger, "can_read", allow, allow ? "tier sufficient" : "classification above caller tier", {
    classification,
    caller_tier: callerTier,
  });
  if (!allow) {
    throw new ForbiddenError(
      `Reading ${what} needs tier "${classification}"; your token allows up to "${callerTier}".`,
    );
  }
}

/**
 * Allows publishing when the dataset is new (`ownerDomain` undefined) or owned
 * by the caller's domain; 403 otherwise.
 */
export function assertCanPublish(ownerDomain: string | undefined, callerDomain: string, logger?: Logger): void {
  const allow = ownerDomain === undefined || ownerDomain === callerDomain;
  decide(logger, "can_publish", allow, allow ? "caller owns the dataset" : "dataset owned by another domain", {
    owner_domain: ownerDomain ?? null,
    caller_domain: callerDomain,
  });
  if (!allow) {
    throw new ForbiddenError(
      `The dataset is owned by domain "${ownerDomain}"; your domain "${callerDomain}" cannot publish versions of it.`,
    );
  }
}

/** Allows callers whose `roles` claim includes `operator`; 403 otherwise. */
export function assertOperator(claims: Pick<Claims, "sub" | "roles">, logger?: Logger): void {
  const allow = Array.isArray(claims.roles) && claims.roles.includes(OPERATOR_ROLE);
  decide(logger, "operator", allow, allow ? "operator role present" : "operator role missing", { sub: claims.sub });
  if (!allow) throw new ForbiddenError(`This endpoint needs the "${OPERATOR_ROLE}" role.`);
}

/**
 * Allows publishing a version classified `next` over a current version classified `current` (undefined: a new
 * dataset) only when both are at or below the publisher's tier: nobody labels data above what they may read,
 * nor relabels data they could not read; 403 otherwise.
 */
export function assertCanClassify(
  next: Classification,
  current: Classification | undefined,
  callerTier: Classification,
  logger?: Logger,
): void {
  const above = [next, current].find((c) => c !== undefined && classificationRank(c) > classificationRank(callerTier));
  decide(logger, "can_classify", above === undefined, above ? "classification above caller tier" : "tier sufficient", {
    classification: next,
    current_classification: current ?? null,
    caller_tier: callerTier,
  });
  if (above !== undefined) {
    throw new ForbiddenError(
      above === next
        ? `Publishing at tier "${next}" needs a token of that tier; yours allows up to "${callerTier}".`
        : `The dataset is classified "${above}"; your token allows up to "${callerTier}", so you cannot publish or ` +
          `reclassify it.`,
      [{ path: "classification", message: `above the caller's tier "${callerTier}"` }],
    );
  }
}
