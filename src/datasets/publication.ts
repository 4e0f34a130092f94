/**
 * What every way of publishing a version shares, whatever the dataset's kind: the caller may publish the dataset at
 * the classification asked (checked before anything is written), and the catalog makes the new version current.
 */
import type { Classification } from "../../shared/contract/common.ts";
import type { DatasetManifest, ManifestDraft } from "../../shared/dataset_manifest.ts";
import { assertCanClassify, assertCanPublish } from "../../shared/auth/abac.ts";
import type { Logger } from "../../shared/telemetry/log.ts";
import { ForbiddenError } from "../../shared/problem.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";

export interface Caller {
  sub: string;
  domain: string;
  /** The caller's `data_classification`: the highest tier it may publish at. */
  tier: Classification;
}

/** A version to publish: the dataset, the classification asked (the current one's when absent), who publishes. */
export interface Publication {
  name: string;
  classification: Classification | undefined;
  caller: Caller;
}

type Catalog = ReturnType<typeof catalogStub>;

/**
 * The dataset's catalog and the new version's classification, once the caller's domain owns the dataset (or nobody
 * does) and its tier allows the classification; 403 otherwise. The catalog checks the owner again when it publishes.
 */
export async function authorizePublication(
  env: Env,
  publication: Publication,
  logger: Logger,
): Promise<{ catalog: Catalog; classification: Classification }> {
  const catalog = catalogStub(env, publication.name);
  const current = await catalog.current();
  assertCanPublish(current?.owner_domain, publication.caller.domain, logger);
  return { catalog, classification: authorizeClassification(current, publication, logger) };
}

/**
 * The new version's classification (the one asked, else the current version's, else `internal`), once the caller's
 * tier allows it against the current version's (403 otherwise).
 */
export function authorizeClassification(
  current: { classification: Classification } | null | undefined,
  publication: Pick<Publication, "classification" | "caller">,
  logger: Logger,
): Classification {
  const classification = publication.classification ?? current?.classification ?? "internal";
  assertCanClassify(classification, current?.classification, publication.caller.tier, logger);
  return classification;
}

/** Refused because another domain claimed the dataset meanwhile (403). */
export function foreignDomain(name: string, ownerDomain: string): ForbiddenError {
  return new ForbiddenError(`Dataset "${name}" belongs to domain "${ownerDomain}".`);
}

/** Makes `draft` the dataset's current version; a dataset another domain claimed meanwhile is a 403. */
export async function makeCurrent(catalog: Catalog, draft: ManifestDraft): Promise<DatasetManifest> {
  const outcome = await catalog.publish(draft);
  if (!outcome.ok) throw foreignDomain(draft.name, outcome.owner_domain);
  return outcome.manifest;
}
