/** A static packed Hilbert R-tree (flatbush) over feature bounds, for candidate search. */
import Flatbush from "flatbush";
import type { Bbox, FlatGeometry } from "./flat_geometry.ts";

/** `[minX, minY, maxX, maxY]` of a flat geometry, computed in JS (no GEOS). All NaN when empty. */
export function flatBounds(flat: FlatGeometry): Bbox {
  const box: Bbox = [0, 0, 0, 0];
  flatBoundsInto(flat, box, 0);
  return box;
}

/** {@link flatBounds} written into `out` at `at` (a flat array of boxes: no array per feature). */
export function flatBoundsInto(flat: FlatGeometry, out: Float64Array | number[], at: number): void {
  if (flat.kind === "Point" && flat.xy.length === 2) {
    out[at] = out[at + 2] = flat.xy[0]!;
    out[at + 1] = out[at + 3] = flat.xy[1]!;
    return;
  }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const visit = (g: FlatGeometry) => {
    const xy = g.xy;
    for (let i = 0; i < xy.length; i += 2) {
      const x = xy[i]!, y = xy[i + 1]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    for (const part of g.parts ?? []) visit(part);
  };
  visit(flat);
  if (minX <= maxX) {
    out[at] = minX;
    out[at + 1] = minY;
    out[at + 2] = maxX;
    out[at + 3] = maxY;
  } else out.fill(NaN, at, at + 4);
}

export class SpatialIndex {
  readonly #tree: Flatbush;
  readonly size: number;

  private constructor(tree: Flatbush, size: number) {
    this.#tree = tree;
    this.size = size;
  }

  /** Indexes items by their bounds (`[minX, minY, maxX, maxY]` each); item i keeps index i. */
  static fromBounds(bounds: ArrayLike<readonly number[]>, nodeSize = 16): SpatialIndex {
    const tree = new Flatbush(Math.max(1, bounds.length), nodeSize);
    for (let i = 0; i < bounds.length; i++) {
      const [minX, minY, maxX, maxY] = bounds[i]! as Bbox;
      tree.add(minX, minY, maxX, maxY);
    }
    if (!bounds.length) tree.add(NaN, NaN, NaN, NaN);
    tree.finish();
    return new SpatialIndex(tree, bounds.length);
  }

  /** Indexes items by boxes given flat (`minX, minY, maxX, maxY` at 4i); item i keeps index i. */
  static fromBoxes(boxes: Float64Array, nodeSize = 16): SpatialIndex {
    const n = boxes.length >> 2;
    const tree = new Flatbush(Math.max(1, n), nodeSize);
    for (let i = 0; i < n; i++) tree.add(boxes[4 * i]!, boxes[4 * i + 1]!, boxes[4 * i + 2]!, boxes[4 * i + 3]!);
    if (!n) tree.add(NaN, NaN, NaN, NaN);
    tree.finish();
    return new SpatialIndex(tree, n);
  }

  /** Indexes points given as interleaved x, y; point i keeps index i. */
  static fromPoints(xy: Float64Array, nodeSize = 16): SpatialIndex {
    const n = xy.length >> 1;
    const tree = new Flatbush(Math.max(1, n), nodeSize);
    for (let i = 0; i < n; i++) tree.add(xy[2 * i]!, xy[2 * i + 1]!);
    if (!n) tree.add(NaN, NaN);
    tree.finish();
    return new SpatialIndex(tree, n);
  }

  /** Indices of the items whose bounds intersect the box (boundary contact counts). */
  search(minX: number, minY: number, maxX: number, maxY: number): number[] {
    return this.size ? this.#tree.search(minX, minY, maxX, maxY) : [];
  }
}
