/**
 * Polygons on a raster's pixel grid: rings in pixel coordinates (x to the
 * east, y to the south, pixel (c, r) covering [c, c+1) × [r, r+1)), and the
 * weight every pixel of a window gets under each pixel rule.
 *
 * `center` and `all_touched` reproduce GDAL's rasterizer (what rasterio's
 * `geometry_mask` and PostGIS `ST_Clip` select), ties included: the fixtures'
 * README (test/fixtures/raster/README.md) lists them. `coverage` is the exact
 * fraction of each pixel's area inside the polygon, accumulated edge by edge
 * (exactextract's semantics): the interior is filled by the running sum, so
 * the cost grows with the boundary, not with the area.
 */

/** One polygon's rings in pixel coordinates: `xy` interleaved, ring `i` = points `starts[i]`..`starts[i+1]` (open). */
export interface PixelPolygon {
  xy: Float64Array;
  /** Ring start offsets (in points), one more than the ring count. */
  starts: Uint32Array;
  /** [minX, minY, maxX, maxY] in pixel coordinates. */
  bbox: [number, number, number, number];
}

export type PixelRule = "center" | "all_touched" | "coverage";

/** A window of the grid: columns [c0, c1), rows [r0, r1). */
export interface Window {
  c0: number;
  r0: number;
  c1: number;
  r1: number;
}

/** Inverse of a north-up geotransform, computed as GDAL's GDALInvGeoTransform does (so ties land the same side). */
export function inverseGeotransform(gt: readonly number[]): [number, number, number, number] {
  return [-gt[0]! / gt[1]!, 1 / gt[1]!, -gt[3]! / gt[5]!, 1 / gt[5]!];
}

/**
 * Rings (in the raster's CRS, each closed or not, exteriors and holes of one
 * polygon or multipolygon) to pixel coordinates, with every ring oriented so
 * that exteriors run clockwise on the map (south edges from east to west) and
 * holes the other way. GDAL fills a horizontal edge lying on a row of centres
 * only when it runs westward; with this orientation a centre on a polygon's
 * south edge or a hole's north edge is in, as the committed answers pin in
 * either input orientation.
 */
export function toPixelPolygon(
  rings: { xy: ArrayLike<number>; hole: boolean }[],
  gt: readonly number[],
): PixelPolygon {
  const [a0, a1, b0, b1] = inverseGeotransform(gt);
  let total = 0;
  for (const ring of rings) total += openLength(ring.xy);
  const xy = new Float64Array(total * 2);
  const starts = new Uint32Array(rings.length + 1);
  const bbox: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  let p = 0;
  rings.forEach((ring, i) => {
    starts[i] = p;
    const n = openLength(ring.xy);
    // Exteriors map-clockwise (negative map area), holes counter-clockwise.
    const reverse = (signedArea(ring.xy, n) > 0) !== ring.hole;
    for (let k = 0; k < n; k++) {
      const j = reverse ? n - 1 - k : k;
      const x = a0 + ring.xy[2 * j]! * a1;
      const y = b0 + ring.xy[2 * j + 1]! * b1;
      xy[2 * p] = x;
      xy[2 * p + 1] = y;
      p++;
      if (x < bbox[0]) bbox[0] = x;
      if (y < bbox[1]) bbox[1] = y;
      if (x > bbox[2]) bbox[2] = x;
      if (y > bbox[3]) bbox[3] = y;
    }
  });
  starts[rings.length] = p;
  return { xy, starts, bbox };
}

/** Points of a ring without its closing repeat. */
function openLength(xy: ArrayLike<number>): number {
  const n = xy.length / 2;
  return n > 1 && xy[0] === xy[2 * n - 2] && xy[1] === xy[2 * n - 1] ? n - 1 : n;
}

/** Twice the signed shoelace area on the map (x east, y north): positive counter-clockwise. */
function signedArea(xy: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) s += (xy[2 * j]! - xy[2 * i]!) * (xy[2 * j + 1]! + xy[2 * i + 1]!);
  return s;
}

/** The pixels a polygon may touch: its pixel bbox clipped to the grid; null when it misses the grid. */
export function polygonWindow(poly: PixelPolygon, width: number, height: number): Window | null {
  const c0 = Math.max(0, Math.floor(poly.bbox[0]));
  const r0 = Math.max(0, Math.floor(poly.bbox[1]));
  const c1 = Math.min(width, Math.floor(poly.bbox[2]) + 1);
  const r1 = Math.min(height, Math.floor(poly.bbox[3]) + 1);
  return c0 < c1 && r0 < r1 ? { c0, r0, c1, r1 } : null;
}

/**
 * The weight of each pixel of `win` (row-major, `(r1-r0)·(c1-c0)` values): 1 or 0 for `center` and
 * `all_touched`, the covered fraction in [0, 1] for `coverage`. `width`/`height` are the whole grid's.
 */
export function pixelWeights(
  poly: PixelPolygon,
  rule: PixelRule,
  win: Window,
  width: number,
  height: number,
): Float64Array {
  const out = new Float64Array((win.r1 - win.r0) * (win.c1 - win.c0));
  if (rule === "coverage") coverage(poly, win, out);
  else {
    centerFill(poly, win, width, out);
    if (rule === "all_touched") burnEdges(poly, win, width, height, out);
  }
  return out;
}

/** GDAL's filled-polygon scanline at each row's centre: [floor(xl + .5), floor(xr + .5)) between crossings. */
function centerFill(poly: PixelPolygon, win: Window, width: number, out: Float64Array): void {
  const { xy, starts } = poly;
  const stride = win.c1 - win.c0;
  const xs: number[] = [];
  const flat: number[] = [];
  const fill = (r: number, from: number, to: number) => {
    const a = Math.max(from, win.c0), b = Math.min(to, win.c1, width);
    const base = (r - win.r0) * stride - win.c0;
    for (let c = a; c < b; c++) out[base + c] = 1;
  };
  for (let r = win.r0; r < win.r1; r++) {
    const dy = r + 0.5;
    xs.length = 0;
    flat.length = 0;
    for (let ring = 0; ring + 1 < starts.length; ring++) {
      const s = starts[ring]!, e = starts[ring + 1]!;
      for (let i = s; i < e; i++) {
        const j = i === s ? e - 1 : i - 1;
        let x1 = xy[2 * j]!, y1 = xy[2 * j + 1]!, x2 = xy[2 * i]!, y2 = xy[2 * i + 1]!;
        if ((y1 < dy && y2 < dy) || (y1 > dy && y2 > dy)) continue;
        if (y1 === y2) {
          // A horizontal edge on the centre line is filled when it runs westward (see toPixelPolygon).
          if (x1 > x2) flat.push(Math.floor(x2 + 0.5), Math.floor(x1 + 0.5));
          continue;
        }
        if (y1 > y2) [x1, y1, x2, y2] = [x2, y2, x1, y1];
        if (dy < y2 && dy >= y1) xs.push(Math.floor((dy - y1) * (x2 - x1) / (y2 - y1) + x1 + 0.5));
      }
    }
    xs.sort((a, b) => a - b);
    for (let i = 0; i + 1 < xs.length; i += 2) fill(r, xs[i]!, xs[i + 1]!);
    for (let i = 0; i + 1 < flat.length; i += 2) fill(r, flat[i]!, flat[i + 1]!);
  }
}

/** An edge whose ends are closer than this to a grid line lies on it and touches no pixel (GDAL 3.6 all_touched). */
const ON_EDGE = 1e-4;

/** GDAL's all_touched line walk over every ring edge: the pixels each edge passes through. */
function burnEdges(poly: PixelPolygon, win: Window, width: number, height: number, out: Float64Array): void {
  const { xy, starts } = poly;
  const stride = win.c1 - win.c0;
  const burn = (r: number, c: number) => {
    if (r >= win.r0 && r < win.r1 && c >= win.c0 && c < win.c1) out[(r - win.r0) * stride + c - win.c0] = 1;
  };
  for (let ring = 0; ring + 1 < starts.length; ring++) {
    const s = starts[ring]!, e = starts[ring + 1]!;
    for (let i = s; i < e; i++) {
      const j = i + 1 === e ? s : i + 1;
      let x = xy[2 * i]!, y = xy[2 * i + 1]!, xEnd = xy[2 * j]!, yEnd = xy[2 * j + 1]!;
      if ((y < 0 && yEnd < 0) || (y > height && yEnd > height) || (x < 0 && xEnd < 0) || (x > width && xEnd > width)) {
        continue;
      }
      if (x > xEnd) [x, y, xEnd, yEnd] = [xEnd, yEnd, x, y];
      if (Math.floor(x) === Math.floor(xEnd) || Math.abs(x - xEnd) < 0.01) {
        // (Nearly) vertical: one column; an edge lying on a column boundary touches no pixel's area.
        if (nearInt(x) && nearInt(xEnd)) continue;
        if (yEnd < y) [y, yEnd] = [yEnd, y];
        const c = Math.floor(xEnd);
        if (c < 0 || c >= width) continue;
        const rEnd = Math.min(height - 1, Math.floor(yEnd));
        for (let r = Math.max(0, Math.floor(y)); r <= rEnd; r++) burn(r, c);
        continue;
      }
      if (Math.floor(y) === Math.floor(yEnd) || Math.abs(y - yEnd) < 0.01) {
        if (nearInt(y) && nearInt(yEnd)) continue;
        const r = Math.floor(y);
        if (r < 0 || r >= height) continue;
        const cEnd = Math.min(width - 1, Math.floor(xEnd));
        for (let c = Math.max(0, Math.floor(x)); c <= cEnd; c++) burn(r, c);
        continue;
      }
      const slope = (yEnd - y) / (xEnd - x);
      if (xEnd > width) {
        yEnd -= (xEnd - width) * slope;
        xEnd = width;
      }
      if (x < 0) {
        y += (0 - x) * slope;
        x = 0;
      }
      if (yEnd > y) {
        if (y < 0) {
          x += (0 - y) / slope;
          y = 0;
        }
        if (yEnd >= height) xEnd = Math.min(width, xEnd + (yEnd - height) / slope);
      } else {
        if (y >= height) {
          x += (height - y) / slope;
          y = height;
        }
        if (yEnd < 0) xEnd -= yEnd / slope;
      }
      while (x >= 0 && x < xEnd) {
        const c = Math.floor(x), r = Math.floor(y);
        if (r >= 0 && r < height) burn(r, c);
        let stepX = Math.floor(x + 1) - x;
        let stepY = stepX * slope;
        if (Math.floor(y + stepY) === r) {
          x += stepX;
          y += stepY;
        } else if (slope < 0) {
          stepY = Math.min(r - y, -1e-9);
          stepX = stepY / slope;
          x += stepX;
          y += stepY;
        } else {
          stepY = Math.max(r + 1 - y, 1e-9);
          stepX = stepY / slope;
          x += stepX;
          y += stepY;
        }
      }
    }
  }
}

const nearInt = (v: number) => Math.abs(v - Math.round(v)) < ON_EDGE;

/**
 * Exact covered fractions. Each edge, cut at every grid line, adds to the pixel it crosses the signed area
 * between itself and that pixel's east side, and to every pixel further east its full height (`carry`); a
 * running sum along each row then gives every pixel's fraction, interior pixels included. Rings are oriented
 * (toPixelPolygon) so the sum is the polygon's area, holes subtracted.
 */
function coverage(poly: PixelPolygon, win: Window, out: Float64Array): void {
  const { xy, starts } = poly;
  const stride = win.c1 - win.c0;
  const rows = win.r1 - win.r0;
  // carry[r]: height added to every pixel of row r from column c0 on (edges west of the window).
  const cover = new Float64Array(rows * (stride + 1));
  const ts: number[] = [];
  const deposit = (c: number, r: number, xa: number, ya: number, xb: number, yb: number) => {
    if (r < win.r0 || r >= win.r1 || c >= win.c1) return;
    // Map-clockwise exteriors run counter-clockwise in pixel space (y down): their height counts negated.
    const dy = ya - yb;
    const row = (r - win.r0) * (stride + 1);
    if (c < win.c0) {
      cover[row] = cover[row]! + dy;
      return;
    }
    const k = c - win.c0;
    const at = (r - win.r0) * stride + k;
    out[at] = out[at]! + dy * (1 - ((xa - c) + (xb - c)) / 2);
    cover[row + k + 1] = cover[row + k + 1]! + dy;
  };
  for (let ring = 0; ring + 1 < starts.length; ring++) {
    const s = starts[ring]!, e = starts[ring + 1]!;
    for (let i = s; i < e; i++) {
      const j = i + 1 === e ? s : i + 1;
      const x0 = xy[2 * i]!, y0 = xy[2 * i + 1]!, x1 = xy[2 * j]!, y1 = xy[2 * j + 1]!;
      if (y0 === y1) continue; // no height: adds nothing
      if (Math.max(y0, y1) <= win.r0 || Math.min(y0, y1) >= win.r1) continue;
      ts.length = 0;
      ts.push(0, 1);
      const dx = x1 - x0, dy = y1 - y0;
      if (dx !== 0) {
        for (let g = Math.ceil(Math.min(x0, x1)); g <= Math.floor(Math.max(x0, x1)); g++) ts.push((g - x0) / dx);
      }
      for (let g = Math.ceil(Math.min(y0, y1)); g <= Math.floor(Math.max(y0, y1)); g++) ts.push((g - y0) / dy);
      ts.sort((a, b) => a - b);
      let ta = 0, xa = x0, ya = y0;
      for (let k = 1; k < ts.length; k++) {
        const tb = ts[k]!;
        if (tb <= ta) continue;
        const xb = tb === 1 ? x1 : x0 + dx * tb, yb = tb === 1 ? y1 : y0 + dy * tb;
        const tm = (ta + tb) / 2;
        deposit(Math.floor(x0 + dx * tm), Math.floor(y0 + dy * tm), xa, ya, xb, yb);
        ta = tb;
        xa = xb;
        ya = yb;
      }
    }
  }
  for (let r = 0; r < rows; r++) {
    let run = 0;
    const row = r * (stride + 1);
    for (let k = 0; k < stride; k++) {
      run += cover[row + k]!;
      const w = out[r * stride + k]! + run;
      // Orientation makes the sum positive; a fraction within rounding of 0 or 1 is 0 or 1.
      out[r * stride + k] = w < 1e-12 ? 0 : w > 1 - 1e-12 ? 1 : w;
    }
  }
}
