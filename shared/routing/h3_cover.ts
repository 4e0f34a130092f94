/**
 * H3 covers: the cells at a resolution that a geometry TOUCHES (not only the cells whose centres
 * fall inside it). Used to place features in tiles and to route queries to partitions; a cover may
 * hold a few extra cells, but must never miss a cell that holds a point of the geometry.
 *
 * - Polygons: h3's `polygonToCellsExperimental(..., containmentOverlapping)` for the interior, plus
 *   every cell the rings pass through (traced edge by edge, below), as a guard where h3's overlap
 *   test (planar on approximate cell outlines) and `latLngToCell` disagree by a sliver.
 * - Lines: every cell a segment passes through, found by bisecting wherever the two ends of a
 *   short piece lie in different cells (cells are convex, so a piece whose ends share a cell stays
 *   in it).
 * - Points: `latLngToCell`.
 *
 * Coordinates are planar lon/lat (EPSG:4326, as in GEOS/PostGIS `geometry`): a polygon 200° wide
 * is 200° wide, not a narrow one across the antimeridian. Polygons 180° wide or more are cut into
 * strips narrower than 180° before h3 sees them (h3 would read their long edges as crossing the
 * antimeridian). A bbox with `minLon > maxLon` is read as crossing the antimeridian.
 *
 * @module
 */
import {
  getHexagonEdgeLengthAvg,
  latLngToCell,
  POLYGON_TO_CELLS_FLAGS,
  polygonToCellsExperimental,
  UNITS,
} from "h3-js";
import type { Bbox, FlatGeometry } from "../../wasm/flat_geometry.ts";

/** The geometry cannot be covered: bad resolution, coordinates out of range. */
export class CoverError extends RangeError {
  override name = "CoverError";
}

/**
 * The sorted H3 cells at `resolution` that `geometry` touches.
 *
 * @throws {CoverError} for a resolution outside 0..15 or coordinates that are not lon/lat.
 * @example
 * ```ts
 * const cells = cellsForGeometry({ kind: "Point", xy: new Float64Array([-74, 40.7]) }, 3);
 * ```
 */
export function cellsForGeometry(geometry: FlatGeometry, resolution: number): string[] {
  const cover = new Set<string>();
  addGeometryCells(cover, geometry, resolution);
  return [...cover].sort();
}

/** Adds the cells `geometry` touches to `cover` (for callers covering many geometries at once). */
function addGeometryCells(cover: Set<string>, geometry: FlatGeometry, resolution: number): void {
  checkResolution(resolution);
  checkCoordinates(geometry);
  switch (geometry.kind) {
    case "Point":
    case "MultiPoint": {
      const xy = geometry.xy;
      for (let i = 0; i < xy.length; i += 2) cover.add(latLngToCell(xy[i + 1]!, xy[i]!, resolution));
      return;
    }
    case "LineString":
    case "MultiLineString":
      for (const line of rings(geometry)) traceLine(cover, line, resolution, false);
      return;
    case "Polygon":
      addPolygonCells(cover, rings(geometry), resolution);
      return;
    case "MultiPolygon":
      if (!geometry.parts) {
        addPolygonCells(cover, rings(geometry), resolution);
        return;
      }
      for (const part of geometry.parts) addPolygonCells(cover, rings(part), resolution);
      return;
    default:
      throw new CoverError(`Geometry kind "${(geometry as FlatGeometry).kind}" cannot be covered`);
  }
}

/**
 * The sorted H3 cells at `resolution` that the closed box touches. `minLon > maxLon` means the
 * box crosses the antimeridian (`[170, -10, -170, 10]` is 20° wide).
 */
export function cellsForBbox(bbox: Readonly<Bbox>, resolution: number): string[] {
  checkResolution(resolution);
  const [minX, minY, maxX, maxY] = bbox;
  if (![minX, minY, maxX, maxY].every(Number.isFinite) || minY > maxY) {
    throw new CoverError(`Bbox ${JSON.stringify(bbox)} is invalid; give [minLon, minLat, maxLon, maxLat]`);
  }
  const cover = new Set<string>();
  const boxes: Bbox[] = minX <= maxX ? [[minX, minY, maxX, maxY]] : [[minX, minY, 180, maxY], [-180, minY, maxX, maxY]];
  for (const [x0, y0, x1, y1] of boxes) {
    const ring = new Float64Array([x0, y0, x1, y0, x1, y1, x0, y1, x0, y0]);
    checkCoordinates({ kind: "Polygon", xy: ring });
    if (x0 === x1 || y0 === y1) traceLine(cover, ring, resolution, false);
    else addPolygonCells(cover, [ring], resolution);
  }
  return [...cover].sort();
}

function checkResolution(resolution: number): void {
  if (!Number.isInteger(resolution) || resolution < 0 || resolution > 15) {
    throw new CoverError(`H3 resolution ${resolution} is invalid; use an integer in 0..15`);
  }
}

function checkCoordinates(geometry: FlatGeometry): void {
  const xy = geometry.xy;
  for (let i = 0; i < xy.length; i += 2) {
    const x = xy[i]!;
    const y = xy[i + 1]!;
    if (!(x >= -180 && x <= 180 && y >= -90 && y <= 90)) {
      throw new CoverError(`Coordinate [${x}, ${y}] is not lon/lat in EPSG:4326; reproject it first`);
    }
  }
  if (geometry.parts) { for (const part of geometry.parts) checkCoordinates(part); }
}

/** The rings (or lines) of a geometry as interleaved lon/lat views. */
function rings(geometry: FlatGeometry): Float64Array[] {
  const xy = geometry.xy;
  const ends = geometry.ends;
  if (!ends || ends.length === 0) return xy.length > 0 ? [xy] : [];
  const out: Float64Array[] = [];
  let start = 0;
  for (const end of ends) {
    out.push(xy.subarray(start * 2, end * 2));
    start = end;
  }
  return out;
}

const OVERLAPPING = POLYGON_TO_CELLS_FLAGS.containmentOverlapping;

function addPolygonCells(cover: Set<string>, polygon: Float64Array[], resolution: number): void {
  const outer = polygon[0];
  if (!outer || outer.length < 2) return;
  for (const ring of polygon) traceLine(cover, ring, resolution, true);
  let minX = Infinity, maxX = -Infinity;
  for (let i = 0; i < outer.length; i += 2) {
    if (outer[i]! < minX) minX = outer[i]!;
    if (outer[i]! > maxX) maxX = outer[i]!;
  }
  // Strips narrower than 180° so that h3 reads every edge the short way round, as drawn.
  const strips = Math.max(1, Math.ceil((maxX - minX) / 120));
  for (let s = 0; s < strips; s++) {
    const lo = strips === 1 ? -Infinity : minX + ((maxX - minX) * s) / strips;
    const hi = strips === 1 ? Infinity : minX + ((maxX - minX) * (s + 1)) / strips;
    const loops: number[][][] = [];
    for (let r = 0; r < polygon.length; r++) {
      const loop = strips === 1 ? toPairs(polygon[r]!) : clipToStrip(toPairs(polygon[r]!), lo, hi);
      if (loop.length < 3) {
        if (r === 0) break;
        continue;
      }
      loops.push(loop);
    }
    if (loops.length === 0) continue;
    for (const cell of polygonToCellsExperimental(loops, resolution, OVERLAPPING, true)) cover.add(cell);
  }
}

function toPairs(ring: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ring.length; i += 2) out.push([ring[i]!, ring[i + 1]!]);
  return out;
}

/** Sutherland–Hodgman clip of a ring to `lo ≤ lon ≤ hi` (degenerate seams on the cut are harmless here). */
function clipToStrip(ring: number[][], lo: number, hi: number): number[][] {
  const clip = (input: number[][], inside: (x: number) => boolean, edge: number): number[][] => {
    const out: number[][] = [];
    for (let i = 0; i < input.length; i++) {
      const a = input[i]!;
      const b = input[(i + 1) % input.length]!;
      const aIn = inside(a[0]!);
      const bIn = inside(b[0]!);
      if (aIn) out.push(a);
      if (aIn !== bIn) {
        const t = (edge - a[0]!) / (b[0]! - a[0]!);
        out.push([edge, a[1]! + t * (b[1]! - a[1]!)]);
      }
    }
    return out;
  };
  return clip(clip(ring, (x) => x >= lo, lo), (x) => x <= hi, hi);
}

/** Longest piece (degrees) checked by its two end cells alone: half an average edge at `resolution`. */
function pieceLength(resolution: number): number {
  return getHexagonEdgeLengthAvg(resolution, UNITS.km) / 111.32 / 2;
}

/** Pieces shorter than this (degrees, ~0.1 mm) are not split further. */
const MIN_PIECE = 1e-9;

/** Adds every cell the polyline `line` (interleaved lon/lat) passes through. */
function traceLine(cover: Set<string>, line: Float64Array, resolution: number, closed: boolean): void {
  const n = line.length / 2;
  if (n === 0) return;
  const step = pieceLength(resolution);
  let ax = line[0]!, ay = line[1]!;
  let aCell = latLngToCell(ay, ax, resolution);
  cover.add(aCell);
  const last = closed && (line[0] !== line[2 * n - 2] || line[1] !== line[2 * n - 1]) ? n : n - 1;
  for (let i = 1; i <= last; i++) {
    const j = i % n;
    const bx = line[2 * j]!, by = line[2 * j + 1]!;
    const pieces = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / step));
    let px = ax, py = ay, pCell = aCell;
    for (let k = 1; k <= pieces; k++) {
      const qx = k === pieces ? bx : ax + ((bx - ax) * k) / pieces;
      const qy = k === pieces ? by : ay + ((by - ay) * k) / pieces;
      const qCell = latLngToCell(qy, qx, resolution);
      if (qCell !== pCell) {
        cover.add(qCell);
        bisect(cover, px, py, pCell, qx, qy, qCell, resolution);
      }
      px = qx;
      py = qy;
      pCell = qCell;
    }
    ax = bx;
    ay = by;
    aCell = pCell;
  }
}

/** Finds the cells between two points in different cells by halving until the halves agree. */
function bisect(
  cover: Set<string>,
  ax: number,
  ay: number,
  aCell: string,
  bx: number,
  by: number,
  bCell: string,
  resolution: number,
): void {
  if (Math.abs(bx - ax) + Math.abs(by - ay) < MIN_PIECE) return;
  const mx = (ax + bx) / 2;
  const my = (ay + by) / 2;
  const mCell = latLngToCell(my, mx, resolution);
  cover.add(mCell);
  if (mCell !== aCell) bisect(cover, ax, ay, aCell, mx, my, mCell, resolution);
  if (mCell !== bCell) bisect(cover, mx, my, mCell, bx, by, bCell, resolution);
}
