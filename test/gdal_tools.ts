/** GDAL's command-line tools (gdal-bin) as the reference writer and reprojector of the tests, and ring-order-free geometry comparison. */
import { zipSync } from "fflate";

/** Runs `ogr2ogr` with `args`; throws with its stderr when it fails. */
export async function ogr2ogr(...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("ogr2ogr", { args, stderr: "piped", stdout: "null" }).output();
  if (code !== 0) throw new Error(`ogr2ogr ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** `ogr2ogr --version`, for the failure messages and the fixture notes. */
export async function gdalVersion(): Promise<string> {
  const { stdout } = await new Deno.Command("ogr2ogr", { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(stdout).trim();
}

/** Zips the files of Shapefile `base` (`dir/base.shp`, `.shx`, `.dbf`, `.prj`, `.cpg` as present). */
export function zipShapefile(dir: string, base: string, only = ["shp", "shx", "dbf", "prj", "cpg"]): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const ext of only) {
    try {
      files[`${base}.${ext}`] = Deno.readFileSync(`${dir}/${base}.${ext}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return zipSync(files);
}

type Position = number[];
interface Geometry {
  type: string;
  coordinates: unknown;
}

/** A ring without its closing point, starting at its smallest point, counter-clockwise. */
function normalRing(ring: Position[]): Position[] {
  let r = ring.slice(0, -1).map((p) => [p[0]!, p[1]!]);
  let area = 0;
  for (let i = 0; i < r.length; i++) {
    const a = r[i]!, b = r[(i + 1) % r.length]!;
    area += a[0]! * b[1]! - b[0]! * a[1]!;
  }
  if (area < 0) r = r.reverse();
  const rotated = rotateToSmallest(r);
  if (area !== 0) return rotated;
  // A zero-area ring has no orientation: the smaller of its two spellings.
  const reversed = rotateToSmallest(r.slice().reverse());
  return JSON.stringify(reversed) < JSON.stringify(rotated) ? reversed : rotated;
}

function rotateToSmallest(r: Position[]): Position[] {
  let start = 0;
  r.forEach((p, i) => {
    const s = r[start]!;
    if (p[0]! < s[0]! || (p[0] === s[0] && p[1]! < s[1]!)) start = i;
  });
  return [...r.slice(start), ...r.slice(0, start)];
}

const ringKey = (r: Position[]) => `${r[0]![0]},${r[0]![1]},${r.length}`;

/**
 * Polygons as sorted lists of normalized rings (exterior first): equal for the same shapes whatever the ring
 * orientation, start point or Polygon/MultiPolygon spelling (a Shapefile has no such distinction). Points and lines
 * as they are.
 */
export function normalGeometry(g: Geometry): unknown {
  if (g.type !== "Polygon" && g.type !== "MultiPolygon") return g;
  const polygons = (g.type === "Polygon" ? [g.coordinates] : g.coordinates) as Position[][][];
  return polygons
    .map((rings) => {
      const [outer, ...holes] = rings.map(normalRing);
      return [outer!, ...holes.sort((a, b) => ringKey(a).localeCompare(ringKey(b)))];
    })
    .sort((a, b) => ringKey(a[0]!).localeCompare(ringKey(b[0]!)));
}

/** The largest coordinate difference between two normalized geometries of the same shape; Infinity when shapes differ. */
export function maxCoordinateDifference(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    return a.reduce((m: number, x, i) => Math.max(m, maxCoordinateDifference(x, b[i])), 0);
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
    if (ao.type !== bo.type) return Infinity;
    return maxCoordinateDifference(ao.coordinates, bo.coordinates);
  }
  return a === b ? 0 : Infinity;
}
