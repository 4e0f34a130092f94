/**
 * Flat geometries (flat_geometry.ts) as ISO WKB, little-endian, 2D: what
 * GeoParquet stores. Written straight from the flat arrays into one buffer
 * sized up front (no GeoJSON objects on the way: the route through them took
 * most of a GeoParquet commit).
 */
import type { FlatGeometry } from "./flat_geometry.ts";

const TYPE_CODES = { Point: 1, LineString: 2, Polygon: 3, MultiPoint: 4, MultiLineString: 5, MultiPolygon: 6 };

/** The WKB of a flat geometry. */
export function wkbFromFlat(geometry: FlatGeometry): Uint8Array {
  const out = new Uint8Array(wkbLength(geometry));
  checked(write(geometry, new DataView(out.buffer), 0), out.length);
  return out;
}

/**
 * WKBs of many geometries carved out of shared buffers: one allocation per MiB of WKB instead of one buffer and
 * view per geometry (per row, that was most of the WKB's cost). A WKB stays valid as long as it is referenced.
 */
export class WkbArena {
  #buffer = new Uint8Array(0);
  #view = new DataView(this.#buffer.buffer);
  #at = 0;

  wkb(geometry: FlatGeometry): Uint8Array {
    const length = wkbLength(geometry);
    if (this.#at + length > this.#buffer.length) {
      this.#buffer = new Uint8Array(Math.max(ARENA_BYTES, length));
      this.#view = new DataView(this.#buffer.buffer);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at = checked(write(geometry, this.#view, start), start + length);
    return this.#buffer.subarray(start, this.#at);
  }
}
const ARENA_BYTES = 2 ** 20;

function checked(end: number, planned: number): number {
  if (end !== planned) throw new RangeError(`WKB ends at ${end}, planned ${planned}`);
  return end;
}

const HEAD = 5; // byte order, type
const POINT = 16;

function wkbLength(g: FlatGeometry): number {
  const points = g.xy.length >> 1;
  switch (g.kind) {
    case "Point":
      return HEAD + POINT;
    case "LineString":
      return HEAD + 4 + points * POINT;
    case "MultiPoint":
      return HEAD + 4 + points * (HEAD + POINT);
    case "Polygon":
      return HEAD + 4 + ringCount(g) * 4 + points * POINT;
    case "MultiLineString":
      return HEAD + 4 + ringCount(g) * (HEAD + 4) + points * POINT;
    case "MultiPolygon":
      return polygonsOf(g).reduce((n, part) => n + wkbLength(part), HEAD + 4);
  }
}

function write(g: FlatGeometry, view: DataView, at: number): number {
  view.setUint8(at, 1);
  view.setUint32(at + 1, TYPE_CODES[g.kind], true);
  at += HEAD;
  const xy = g.xy;
  const points = xy.length >> 1;
  switch (g.kind) {
    case "Point":
      return writePoints(xy, 0, 1, view, at);
    case "LineString":
      view.setUint32(at, points, true);
      return writePoints(xy, 0, points, view, at + 4);
    case "MultiPoint":
      view.setUint32(at, points, true);
      at += 4;
      for (let i = 0; i < points; i++) {
        view.setUint8(at, 1);
        view.setUint32(at + 1, TYPE_CODES.Point, true);
        at = writePoints(xy, i, i + 1, view, at + HEAD);
      }
      return at;
    case "Polygon": {
      const rings = ringCount(g);
      view.setUint32(at, rings, true);
      at += 4;
      for (let r = 0, start = 0; r < rings; r++) {
        const end = g.ends?.[r] ?? points;
        view.setUint32(at, end - start, true);
        at = writePoints(xy, start, end, view, at + 4);
        start = end;
      }
      return at;
    }
    case "MultiLineString": {
      const lines = ringCount(g);
      view.setUint32(at, lines, true);
      at += 4;
      for (let r = 0, start = 0; r < lines; r++) {
        const end = g.ends?.[r] ?? points;
        view.setUint8(at, 1);
        view.setUint32(at + 1, TYPE_CODES.LineString, true);
        view.setUint32(at + HEAD, end - start, true);
        at = writePoints(xy, start, end, view, at + HEAD + 4);
        start = end;
      }
      return at;
    }
    case "MultiPolygon": {
      const parts = polygonsOf(g);
      view.setUint32(at, parts.length, true);
      at += 4;
      for (const part of parts) at = write(part, view, at);
      return at;
    }
  }
}

function writePoints(xy: Float64Array, from: number, to: number, view: DataView, at: number): number {
  for (let i = 2 * from; i < 2 * to; i++, at += 8) view.setFloat64(at, xy[i]!, true);
  return at;
}

/** Rings of a polygon, lines of a multi-line: `ends` counts them; without it there is one (none when empty). */
function ringCount(g: FlatGeometry): number {
  return g.ends?.length ?? (g.xy.length ? 1 : 0);
}

/** A MultiPolygon's polygons: its parts, or its own rings as one polygon. */
function polygonsOf(g: FlatGeometry): FlatGeometry[] {
  if (g.parts) return g.parts;
  return g.xy.length ? [{ kind: "Polygon", xy: g.xy, ...(g.ends ? { ends: g.ends } : {}) }] : [];
}
