/** Bounding boxes of flat geometries and the Hilbert key used to order an index. */
import type { Bbox, FlatGeometry } from "../../wasm/flat_geometry.ts";

/** The bbox of a geometry, or `null` when it has no coordinates. */
export function geometryBbox(geometry: FlatGeometry): Bbox | null {
  const box: Bbox = [Infinity, Infinity, -Infinity, -Infinity];
  expandByGeometry(box, geometry);
  return box[0] <= box[2] ? box : null;
}

/** Grows `box` in place to cover `geometry` (parts included). */
function expandByGeometry(box: Bbox, geometry: FlatGeometry): void {
  const xy = geometry.xy;
  let [minX, minY, maxX, maxY] = box;
  for (let i = 0; i < xy.length; i += 2) {
    const x = xy[i]!;
    const y = xy[i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  box[0] = minX;
  box[1] = minY;
  box[2] = maxX;
  box[3] = maxY;
  if (geometry.parts) { for (const part of geometry.parts) expandByGeometry(box, part); }
}

/** Grows `box` in place to cover `other`. */
export function expandByBbox(box: Bbox, other: Readonly<Bbox>): void {
  if (other[0] < box[0]) box[0] = other[0];
  if (other[1] < box[1]) box[1] = other[1];
  if (other[2] > box[2]) box[2] = other[2];
  if (other[3] > box[3]) box[3] = other[3];
}

/** Closed-box intersection, the test FlatGeobuf's index applies (touching boxes intersect). */
export function bboxesIntersect(a: Readonly<Bbox>, b: Readonly<Bbox>): boolean {
  return a[0] <= b[2] && a[1] <= b[3] && a[2] >= b[0] && a[3] >= b[1];
}

/**
 * Position of `(x, y)` on a Hilbert curve over a 2^16 × 2^16 grid (x, y already scaled to
 * 0..65535), as in FlatGeobuf's and flatbush's packed Hilbert R-trees (after
 * https://github.com/rawrunprotected/hilbert_curves, public domain).
 */
export function hilbert(x: number, y: number): number {
  let a = x ^ y;
  let b = 0xffff ^ a;
  let c = 0xffff ^ (x | y);
  let d = x & (y ^ 0xffff);

  let A = a | (b >> 1);
  let B = (a >> 1) ^ a;
  let C = ((c >> 1) ^ (b & (d >> 1))) ^ c;
  let D = ((a & (c >> 1)) ^ (d >> 1)) ^ d;

  a = A;
  b = B;
  c = C;
  d = D;
  A = (a & (a >> 2)) ^ (b & (b >> 2));
  B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2));
  C ^= (a & (c >> 2)) ^ (b & (d >> 2));
  D ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2));

  a = A;
  b = B;
  c = C;
  d = D;
  A = (a & (a >> 4)) ^ (b & (b >> 4));
  B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4));
  C ^= (a & (c >> 4)) ^ (b & (d >> 4));
  D ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4));

  a = A;
  b = B;
  c = C;
  d = D;
  C ^= (a & (c >> 8)) ^ (b & (d >> 8));
  D ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8));

  a = C ^ (C >> 1);
  b = D ^ (D >> 1);

  let i0 = x ^ y;
  let i1 = b | (0xffff ^ (i0 | a));

  i0 = (i0 | (i0 << 8)) & 0x00ff00ff;
  i0 = (i0 | (i0 << 4)) & 0x0f0f0f0f;
  i0 = (i0 | (i0 << 2)) & 0x33333333;
  i0 = (i0 | (i0 << 1)) & 0x55555555;

  i1 = (i1 | (i1 << 8)) & 0x00ff00ff;
  i1 = (i1 | (i1 << 4)) & 0x0f0f0f0f;
  i1 = (i1 | (i1 << 2)) & 0x33333333;
  i1 = (i1 | (i1 << 1)) & 0x55555555;

  return ((i1 << 1) | i0) >>> 0;
}
