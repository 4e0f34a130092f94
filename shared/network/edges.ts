/**
 * A network upload's features as edges: each a LineString from its first to its last coordinate, with
 * pgRouting's costs (`cost` missing: the geodesic length in metres; `reverse_cost` missing: `cost`; negative:
 * that direction cannot be travelled). Anything else is a 422 naming the features, so nothing is stored.
 */
import type { FlatFeature } from "../../wasm/flat_geometry.ts";
import { MAX_REPORTED_ERRORS } from "../contract/limits.ts";
import { type FieldError, ValidationError } from "../problem.ts";
import { lineLength, type NetworkEdge } from "./topology.ts";

function costProblem(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== "number") return `must be a number, not ${value === null ? "null" : typeof value}`;
  return Number.isFinite(value) ? null : `must be finite, not ${value}`;
}

export function networkEdges(features: readonly FlatFeature[]): NetworkEdge[] {
  if (features.length === 0) throw new ValidationError("A network needs at least one LineString edge.");
  const errors: FieldError[] = [];
  let problems = 0;
  const report = (i: number, field: string, message: string) => {
    if (problems++ < MAX_REPORTED_ERRORS) errors.push({ path: `features[${i}]${field}`, message });
  };
  const edges = features.map((feature, i): NetworkEdge => {
    const { geometry, properties = {} } = feature;
    const id = JSON.stringify(feature.id);
    if (geometry.kind !== "LineString" || geometry.ends !== undefined && geometry.ends.length > 1) {
      report(i, ".geometry", `Feature ${id}: an edge must be a LineString, not a ${geometry.kind}`);
    } else if (geometry.xy.length < 4) {
      report(i, ".geometry", `Feature ${id}: an edge needs at least two positions`);
    }
    for (const field of ["cost", "reverse_cost"] as const) {
      const problem = costProblem(properties[field]);
      if (problem) report(i, `.properties.${field}`, `Feature ${id}: ${field} ${problem}`);
    }
    const cost = properties.cost as number | undefined ?? (problems === 0 ? lineLength(geometry.xy) : NaN);
    return { xy: geometry.xy, cost, reverse_cost: properties.reverse_cost as number | undefined ?? cost };
  });
  if (problems > 0) {
    throw new ValidationError(`${problems} feature(s) are not network edges.`, errors);
  }
  return edges;
}
