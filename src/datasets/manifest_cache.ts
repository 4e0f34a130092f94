/**
 * The current manifest of a dataset, as a submit pins it. Which version is current is asked of the dataset's
 * catalog on every submit: a publish or a delete changes it, and the next submit anywhere must see that. A
 * version's manifest never changes, so the isolate keeps the one it last saw per dataset, and the catalog sends
 * the manifest (with its tile map, the bulk of the answer) only when the current version is another one.
 */
import type { DatasetManifest } from "../../shared/dataset_manifest.ts";
import { catalogStub } from "../../shared/routing/partitions.ts";

/** Datasets whose manifest this isolate keeps; least recently submitted against leave first. */
const CAPACITY = 64;
const held = new Map<string, DatasetManifest>();

/** The dataset's current manifest, or null if it was never published. */
export async function currentManifest(env: Env, name: string): Promise<DatasetManifest | null> {
  const known = held.get(name);
  const answer = await catalogStub(env, name).currentUnless(known?.version ?? null);
  if (!answer) return null;
  const manifest = answer.manifest ?? known!;
  held.delete(name);
  held.set(name, manifest);
  if (held.size > CAPACITY) held.delete(held.keys().next().value!);
  return manifest;
}
