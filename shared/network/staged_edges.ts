/**
 * One part of a multipart network upload as staged in R2: its edges in part order, per edge f64 × (3 + 2 points):
 * cost, reverse_cost, point count, then the line's lon/lat. The catalog builds the topology from these without
 * holding the whole network (durable-objects/dataset_catalog/build_network.ts): decoding is a view over the
 * object's bytes, and only the edges it keeps are copied.
 */
import type { NetworkEdge } from "./topology.ts";

const HEAD = 3;

export function encodeStagedEdges(edges: readonly NetworkEdge[]): Uint8Array {
  const out = new Float64Array(edges.reduce((n, e) => n + HEAD + e.xy.length, 0));
  let at = 0;
  for (const edge of edges) {
    out[at] = edge.cost, out[at + 1] = edge.reverse_cost, out[at + 2] = edge.xy.length / 2;
    out.set(edge.xy, at + HEAD);
    at += HEAD + edge.xy.length;
  }
  return new Uint8Array(out.buffer);
}

/** A staged part's edges in order; `xy` is a view over `bytes`. */
export function* stagedEdges(bytes: ArrayBuffer): Generator<NetworkEdge> {
  const all = new Float64Array(bytes);
  for (let at = 0; at < all.length;) {
    const end = at + HEAD + 2 * all[at + 2]!;
    yield { cost: all[at]!, reverse_cost: all[at + 1]!, xy: all.subarray(at + HEAD, end) };
    at = end;
  }
}
